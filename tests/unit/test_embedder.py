"""Batch invariance for every pooling mode and padding side, on tiny local models; spec fields."""
import json

import numpy as np
import pytest
import torch

from tests.tiny_models import tiny_bert, tiny_decoder
from vecdb.embed import EmbedderOptions, HFEmbedder, Pooling, load_embedder, resolve
from vecdb.embed import trainable
from vecdb.errors import InvalidArgument

TEXTS = [
    "the cat sat on the mat",
    "cancer patients with high blood risk were treated in this study of a new drug for the brain disease",
    "river",
    "one two three four five six seven eight nine ten one two three",
    "a gene and a protein in the cell",
    "search the vector index for the query",
]


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    from vecdb.embed.presets import PRESETS

    base = tmp_path_factory.mktemp("tiny")
    return {"llama": tiny_decoder(base / "llama", "llama"), "qwen3": tiny_decoder(base / "qwen3", "qwen3"),
            "bert": tiny_bert(base / "bert", PRESETS["minilm"].local_path())}


def _random_pooler(folder, kind, dim):
    torch.manual_seed(1)
    p = trainable.create(kind, dim)
    with torch.no_grad():
        for param in p.parameters():
            param.add_(torch.randn_like(param) * 0.3)
    p.save(folder)


CASES = [(arch, mode, side, "torch") for arch in ("llama", "qwen3") for mode in Pooling for side in ("left", "right")]
CASES += [("bert", mode, "right", runtime) for mode in Pooling for runtime in ("torch", "onnx")]


@pytest.mark.parametrize("arch,mode,side,runtime", CASES)
def test_batch_equals_one_at_a_time(models, tmp_path, arch, mode, side, runtime):
    folder = str(models[arch])
    pooler_dir = None
    if mode.trainable:
        pooler_dir = tmp_path / "pooler"
        _random_pooler(pooler_dir, mode.value, 64)
    emb = HFEmbedder(resolve(folder), EmbedderOptions(model=folder, pooling=mode.value, padding_side=side,
                                                      dtype="float32", runtime=runtime,
                                                      pooler_path=str(pooler_dir) if pooler_dir else None))
    assert emb.spec.runtime == runtime
    emb.max_batch = 4  # several batches of different widths
    batch = emb.embed_documents(TEXTS)
    single = np.stack([emb.embed_documents([t])[0] for t in TEXTS])
    assert np.abs(batch - single).max() <= 1e-4
    assert np.allclose(np.linalg.norm(batch, axis=1), 1, atol=1e-5)
    q = emb.embed_queries(TEXTS[:3])
    assert np.abs(q - np.stack([emb.embed_queries([t])[0] for t in TEXTS[:3]])).max() <= 1e-4


def test_last_token_appends_eos_and_reads_it(models):
    folder = str(models["llama"])
    emb = load_embedder(model=folder, pooling="last-token", dtype="float32")
    assert emb.spec.append_eos and emb.spec.padding_side == "left"
    ids = emb.tokenize(["the cat"])[0]
    assert ids[-1] == emb.eos_id
    # truncation keeps room for EOS
    long = " ".join(["cat"] * 1000)
    ids = emb.tokenize([long])[0]
    assert len(ids) == emb.spec.max_length and ids[-1] == emb.eos_id


def test_encoders_pad_right(models):
    with pytest.raises(InvalidArgument) as e:
        load_embedder(model=str(models["bert"]), padding_side="left")
    assert e.value.argument == "padding_side"


def test_layer_option_changes_vectors(models):
    folder = str(models["llama"])
    last = load_embedder(model=folder, pooling="mean", dtype="float32").embed_documents(TEXTS[:2])
    mid = load_embedder(model=folder, pooling="mean", dtype="float32", layer=1)
    assert mid.spec.layer == 1
    v = mid.embed_documents(TEXTS[:2])
    assert not np.allclose(last, v) and np.allclose(np.linalg.norm(v, axis=1), 1, atol=1e-5)
    with pytest.raises(InvalidArgument):
        load_embedder(model=folder, layer=7)


def test_prompteol_template(models):
    folder = str(models["llama"])
    emb = load_embedder(model=folder, pooling="last-token", dtype="float32", document_template="prompteol",
                        query_template="prompteol")
    assert emb.spec.document_template == 'This sentence : "{text}" means in one word:"'
    assert not emb.spec.append_eos  # PromptEOL reads the prompt's own last token
    plain = load_embedder(model=folder, pooling="last-token", dtype="float32", append_eos=False)
    assert np.allclose(emb.embed_documents(["the cat"]),
                       plain.embed_documents(['This sentence : "the cat" means in one word:"']), atol=1e-6)


def test_exclude_instruction_from_mean(models):
    folder = str(models["llama"])
    template = "search the vector index for {query}"
    with_instr = load_embedder(model=folder, pooling="mean", dtype="float32", query_template=template)
    without = load_embedder(model=folder, pooling="mean", dtype="float32", query_template=template,
                            exclude_instruction=True)
    assert without.spec.exclude_instruction and with_instr.spec.diff(without.spec) == {
        "exclude_instruction": (False, True)}
    a, b = with_instr.embed_queries(["the cat sat"]), without.embed_queries(["the cat sat"])
    assert not np.allclose(a, b)
    # by hand: mean over the hidden states of the query tokens only
    batch = without.tokenize_batch(["the cat sat"], kind="query")
    assert batch["pool_mask"].tolist() == [[0, 0, 0, 0, 0, 1, 1, 1]]  # 5 instruction tokens left out
    with torch.no_grad():
        h = without.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).last_hidden_state
    by_hand = torch.nn.functional.normalize(h[0, 5:].mean(0), dim=-1).numpy()
    assert np.allclose(b[0], by_hand, atol=1e-5)


def test_trainable_pooler_hash_in_spec(models, tmp_path):
    folder = str(models["llama"])
    fresh = load_embedder(model=folder, pooling="attention", dtype="float32")
    assert fresh.spec.pooling_weights_hash.startswith("sha256:")
    # an untrained attention pooler is mean pooling (zero query, identity projection)
    mean = load_embedder(model=folder, pooling="mean", dtype="float32")
    assert np.allclose(fresh.embed_documents(TEXTS[:2]), mean.embed_documents(TEXTS[:2]), atol=1e-5)
    _random_pooler(tmp_path / "p", "attention", 64)
    trained = load_embedder(model=folder, pooling="attention", dtype="float32", pooler_path=str(tmp_path / "p"))
    assert trained.spec.pooling_weights_hash != fresh.spec.pooling_weights_hash
    assert json.loads((tmp_path / "p" / "vecdb_pooler.json").read_text())["weights_hash"] == \
        trained.spec.pooling_weights_hash


def test_small_inputs_run_on_one_thread_and_restore_the_count(models, monkeypatch):
    """A query-sized CPU pass runs on one torch thread (robust on a busy machine); the count comes back."""
    folder = str(models["bert"])
    emb = HFEmbedder(resolve(folder), EmbedderOptions(model=folder, dtype="float32", runtime="torch"))
    seen, forward = [], emb.forward
    monkeypatch.setattr(emb, "forward", lambda b: (seen.append(torch.get_num_threads()), forward(b))[1])
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        emb.embed_queries(["one short query"])
        emb.max_batch = 2
        emb.embed_documents(TEXTS * 25)  # more than PREFETCH_ABOVE texts: the normal, multi-threaded path
        assert seen[0] == 1 and seen[-1] == 2
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_onnx_runtime_gives_the_torch_vectors(models):
    folder = str(models["bert"])
    for layer in (-1, 1):
        torch_emb = load_embedder(model=folder, dtype="float32", runtime="torch", layer=layer)
        onnx_emb = load_embedder(model=folder, dtype="float32", runtime="onnx", layer=layer)
        assert onnx_emb.spec.diff(torch_emb.spec) == {"runtime": ("onnx", "torch")}
        assert np.abs(onnx_emb.embed_documents(TEXTS) - torch_emb.embed_documents(TEXTS)).max() <= 1e-5
        assert np.abs(onnx_emb.embed_queries(TEXTS[:2]) - torch_emb.embed_queries(TEXTS[:2])).max() <= 1e-5
    with pytest.raises(InvalidArgument) as e:
        load_embedder(model=str(models["llama"]), runtime="onnx")  # decoders run on torch
    assert e.value.argument == "runtime"
