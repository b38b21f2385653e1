"""The deterministic fake embedder (`model="hash"`): no torch, stable vectors, shared words score higher."""
import subprocess
import sys

import numpy as np

from vecdb.embed import load_embedder


def test_hash_embedder_is_deterministic_normalised_and_word_sensitive():
    emb = load_embedder(model="hash")
    a = emb.embed_documents(["the cat sat on the mat", "rivers flow to the ocean"])
    b = load_embedder(model="hash").embed_documents(["the cat sat on the mat", "rivers flow to the ocean"])
    assert a.dtype == np.float32 and a.shape == (2, emb.spec.dim)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(np.linalg.norm(a, axis=1), 1.0, rtol=1e-6)
    q = emb.embed_queries(["a cat on a mat"])[0]
    assert q @ a[0] > q @ a[1]
    assert emb.count_tokens(["one two three"]) == [5]
    assert emb.spec.model == "hash" and emb.spec.dim == 256


def test_hash_embedder_tokenizer_gives_offsets_for_chunking():
    tok = load_embedder(model="hash").tokenizer
    enc = tok("Hello, big world", add_special_tokens=False, return_offsets_mapping=True)
    assert enc["offset_mapping"] == [(0, 5), (7, 10), (11, 16)]
    assert len(tok("x y", add_special_tokens=True)["input_ids"]) == 4


def test_hash_collection_in_a_fresh_process(tmp_path):
    code = ("import sys, vecdb; d = vecdb.open(sys.argv[1]); c = d.create_collection('c', model='hash');"
            "c.add(['alpha beta', 'gamma delta']); assert c.search('beta', k=1)[0].text == 'alpha beta'")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "db")], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
