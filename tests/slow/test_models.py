"""Real packaged models: MiniLM parity with sentence-transformers; SmolLM2 from its GGUF, offline."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

TEXTS = [
    "Aspirin reduces the risk of heart attack in some patients.",
    "The mitochondria is the powerhouse of the cell.",
    "Transformers process tokens with self-attention layers stacked many times over.",
    "short",
    "A considerably longer sentence " * 40,
]


# What dtype/runtime auto can pick on a CPU (device.choose_runtime): each must match sentence-transformers
# and give a text the same vector alone or in a batch. bf16 runs only where the CPU computes it natively.
AUTO_CHOICES = [("torch", "float32"), ("onnx", "float32"), ("onnx", "int8"), ("torch", "bfloat16")]
# min cosine vs ST, max batch difference (int8 runs one document a call: batch-invariant by construction)
TOLERANCE = {"float32": (0.9999, 1e-4), "int8": (0.99, 1e-4), "bfloat16": (0.999, 1e-2)}


@pytest.fixture(scope="module")
def st_reference():
    from sentence_transformers import SentenceTransformer

    from vecdb.embed.presets import PRESETS

    st = SentenceTransformer(str(PRESETS["minilm"].local_path()), device="cpu")
    return st.encode(TEXTS, batch_size=32, normalize_embeddings=True, convert_to_numpy=True)


@pytest.mark.slow
@pytest.mark.parametrize("runtime,dtype", AUTO_CHOICES)
def test_minilm_matches_sentence_transformers_and_is_batch_invariant(st_reference, runtime, dtype):
    from vecdb.embed import load_embedder
    from vecdb.embed.device import cpu_has_native_bf16

    if dtype == "bfloat16" and not cpu_has_native_bf16():
        pytest.skip("this CPU has no native bf16, so auto never picks it here")
    emb = load_embedder(model="minilm", dtype=dtype, runtime=runtime)
    assert (emb.spec.runtime, emb.spec.dtype) == (runtime, dtype)
    min_cos, max_diff = TOLERANCE[dtype]
    ours = emb.embed_documents(TEXTS)
    cos = (st_reference * ours).sum(1) / np.linalg.norm(st_reference, axis=1) / np.linalg.norm(ours, axis=1)
    assert cos.min() >= min_cos, cos
    single = np.stack([emb.embed_documents([t])[0] for t in TEXTS])
    assert np.abs(ours - single).max() <= max_diff


@pytest.mark.slow
@pytest.mark.parametrize("dtype", ["float32", "int8"])
def test_onnx_sessions_in_parallel_give_each_text_its_own_vector(dtype):
    """Enough text for several batches on several ONNX Runtime sessions at once: every vector lands in its
    row and equals the text's vector alone."""
    from vecdb.embed import load_embedder

    emb = load_embedder(model="minilm", dtype=dtype, runtime="onnx")
    texts = [f"{t} ({i})" for i in range(12) for t in TEXTS]
    assert sum(emb.count_tokens(texts)) > 1024 and len(texts) > emb.max_batch  # not the one-thread small path
    together = emb.embed_documents(texts)
    alone = np.stack([emb.embed_documents([t])[0] for t in texts[::7]])
    assert np.abs(together[::7] - alone).max() <= 1e-4


@pytest.mark.slow
def test_auto_picks_one_of_the_tested_choices(minilm):
    assert (minilm.spec.runtime, minilm.spec.dtype) in AUTO_CHOICES


@pytest.mark.slow
@pytest.mark.parametrize("pooling,side", [("last-token", "left"), ("last-token", "right"), ("mean", "left"),
                                          ("weighted-mean", "right")])
def test_smollm2_batch_invariance(pooling, side):
    from vecdb.embed import load_embedder

    emb = load_embedder(model="smollm2-135m", pooling=pooling, padding_side=side, dtype="float32")
    assert emb.spec.dim == 576 and emb.is_decoder
    batch = emb.embed_documents(TEXTS)
    single = np.stack([emb.embed_documents([t])[0] for t in TEXTS])
    assert np.abs(batch - single).max() <= 1e-4


@pytest.mark.slow
def test_smollm2_cli_offline(tmp_path):
    env = dict(os.environ, VECDB_PATH=str(tmp_path / "db"), HF_HUB_OFFLINE="1")
    exe = [sys.executable, "-m", "vecdb.cli.main"]
    docs = ["The Eiffel Tower is a landmark in Paris.", "Photosynthesis happens in plant leaves.",
            "The stock market fell sharply on Monday."]
    p = subprocess.run(exe + ["add", "--model", "smollm2-135m", "--pooling", "last-token", *docs], env=env,
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    p = subprocess.run(exe + ["search", "Where is the Eiffel Tower?", "--format", "json", "-k", "3"], env=env,
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    hits = json.loads(p.stdout)
    assert len(hits) == 3 and {h["text"] for h in hits} == set(docs)
    p = subprocess.run(exe + ["info", "--format", "json"], env=env, capture_output=True, text=True)
    spec = json.loads(p.stdout)["spec"]
    assert spec["model"] == "smollm2-135m" and spec["pooling"] == "last-token" and spec["append_eos"]
    assert spec["query_template"].startswith("Instruct: {task}")
