"""vecdb reembed: a new spec, resumable, old vectors served until an atomic switch."""
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import vecdb
from tests.tiny_models import tiny_decoder
from vecdb.reembed import staging_name

TEXTS = [f"the {w} sat on the {v}" for w in ("cat", "dog", "river", "brain", "gene") for v in ("mat", "ocean", "cell")]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return str(tiny_decoder(tmp_path_factory.mktemp("m") / "llama"))


def test_reembed_changes_spec_and_keeps_documents(tmp_path, tiny):
    with vecdb.open(tmp_path / "db") as db:
        c = db.create_collection("c", model="hash")
        c.add(TEXTS, ids=[str(i) for i in range(len(TEXTS))], metadata=[{"i": i} for i in range(len(TEXTS))])
        new = db.reembed("c", tiny, pooling="mean", dtype="float32")
        assert new.spec.model == tiny and new.spec.pooling == "mean" and new.spec.dim == 64
        assert new.count() == len(TEXTS) and new.check()["ok"]
        doc = new.get(["3"], include_vectors=True)[0]
        assert doc.metadata == {"i": 3} and doc.vector.shape == (64,)
        from vecdb.embed import load_embedder

        emb = load_embedder(model=tiny, pooling="mean", dtype="float32")
        assert np.allclose(doc.vector, emb.embed_documents([TEXTS[3]])[0], atol=1e-5)
        assert [x["name"] for x in db.list_collections()] == ["c"]
        with pytest.raises(vecdb.CollectionNotFound):
            c.search("cat")  # the old handle is gone
        assert db.get_collection("c").search("the gene sat on the cell", k=1)[0].id == str(TEXTS.index(
            "the gene sat on the cell"))
    with vecdb.open(tmp_path / "db") as db:
        assert db.get_collection("c").spec.dim == 64
        with pytest.raises(vecdb.SpecMismatch):
            db.get_collection("c", pooling="last-token")


def test_reembed_resumes_from_staging(tmp_path, tiny):
    """A staging collection left by a killed run is reused: its documents are not embedded again."""
    from vecdb.embed import load_embedder

    with vecdb.open(tmp_path / "db") as db:
        db.create_collection("c", model="hash").add(TEXTS, ids=[str(i) for i in range(len(TEXTS))])
        emb = load_embedder(model=tiny, pooling="mean", dtype="float32")
        db.create_collection(staging_name("c"), embedder=emb).add(TEXTS[:10], ids=[str(i) for i in range(10)])
        calls = []
        real = emb.embed_documents
        emb.embed_documents = lambda texts, progress=None: (calls.append(len(texts)), real(texts, progress))[1]
        try:
            new = db.reembed("c", embedder=emb)
        finally:
            del emb.embed_documents
        assert sum(calls) == len(TEXTS) - 10
        assert new.count() == len(TEXTS) and new.check()["ok"]


@pytest.mark.slow
def test_reembed_cli_killed_then_resumed(tmp_path, tiny):
    env = dict(os.environ, VECDB_PATH=str(tmp_path / "db"), TOKENIZERS_PARALLELISM="false")
    exe = [sys.executable, "-m", "vecdb.cli.main"]
    n = 1500
    docs = "\n".join(f"document {i} about the river and the ocean number {i}" for i in range(n))
    p = subprocess.run(exe + ["add", "-", "--model", "hash", "--batch-size", "500"], input=docs, env=env, capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    p = subprocess.Popen(exe + ["reembed", "--model", tiny, "--pooling", "mean", "--batch-size", "100"], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    staged = _wait_for_staging(tmp_path / "db" / "vecdb.sqlite", p)
    p.send_signal(signal.SIGKILL)
    p.wait()
    assert 0 < staged < n, staged
    with vecdb.open(tmp_path / "db") as db:  # old vectors still served
        c = db.get_collection("default")
        assert c.spec.model == "hash" and c.count() == n and c.search("river", k=3)
    p = subprocess.run(exe + ["reembed", "--model", tiny, "--pooling", "mean", "--format", "json"], env=env,
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["count"] == n and out["spec"]["model"] == tiny
    with vecdb.open(tmp_path / "db") as db:
        assert [x["name"] for x in db.list_collections()] == ["default"]
        assert db.get_collection("default").check()["ok"]


def _wait_for_staging(path, proc, timeout=120):
    import sqlite3

    deadline = time.time() + timeout
    while time.time() < deadline and proc.poll() is None:
        try:
            con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
            n = con.execute("SELECT count(*) FROM documents d JOIN collections c ON c.id = d.collection_id "
                            "WHERE c.name = ?", (staging_name("default"),)).fetchone()[0]
            con.close()
            if n > 0:
                return n
        except sqlite3.Error:
            pass
        time.sleep(0.05)
    raise AssertionError("re-embedding never started staging")
