"""export/import: local -> Milvus Lite -> local round-trips ids, texts, metadata and vectors exactly."""
import json
import subprocess

import numpy as np
import pytest

import vecdb
from vecdb.errors import SpecMismatch
from vecdb.transfer import copy_collection

from .conftest import vecdb_cmd

pytest.importorskip("pymilvus")


def _fill(coll, n=600, seed=0):
    rng = np.random.default_rng(seed)
    vecs = rng.normal(size=(n, coll.spec.dim)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    metas = [None if i % 7 == 0 else {"i": i, "f": i / 3, "s": f"v\"{i}\\", "b": i % 2 == 0, "nested": {"x": [i, "y"]},
                                      "uni": "é✓"} for i in range(n)]
    coll.add([f"document number {i} with text é" for i in range(n)], ids=[f"id-{i}" for i in range(n)],
             metadata=metas, vectors=vecs)


def _snapshot(coll):
    return {d.id: (d.text, d.metadata, d.vector.tobytes()) for docs in coll.iter_documents(250) for d in docs}


def test_round_trip_local_milvus_local(tmp_path):
    with vecdb.open(tmp_path / "a") as a, vecdb.open(f"milvus-lite://{tmp_path / 'm.db'}") as m, \
            vecdb.open(tmp_path / "b") as b:
        src = a.create_collection("docs", model="hash")
        _fill(src)
        original = _snapshot(src)
        r1 = copy_collection(src, m, batch_size=250)
        assert (r1.source, r1.copied, r1.skipped) == (600, 600, 0)
        mid = m.get_collection("docs")
        assert mid.spec == src.spec and _snapshot(mid) == original
        r2 = copy_collection(mid, b, batch_size=250)
        back = b.get_collection("docs")
        assert r2.copied == 600 and back.spec == src.spec and back.count() == 600
        assert _snapshot(back) == original
        q = original["id-5"][2]
        vec = np.frombuffer(q, np.float32)
        assert [h.id for h in back.search_vectors(vec, k=3)[0]] == [h.id for h in mid.search_vectors(vec, k=3)[0]]


def test_resume_skips_what_is_there(tmp_path):
    with vecdb.open(tmp_path / "a") as a, vecdb.open(f"milvus-lite://{tmp_path / 'm.db'}") as m:
        src = a.create_collection("docs", model="hash")
        _fill(src, n=300)
        copy_collection(src, m, batch_size=100)
        dst = m.get_collection("docs")
        dst.delete([f"id-{i}" for i in range(50)])
        dim = src.spec.dim
        src.add(["changed text"], ids=["id-60"], vectors=np.ones((1, dim), np.float32) / np.sqrt(dim))
        res = copy_collection(src, m, batch_size=100)
        assert (res.copied, res.skipped) == (51, 249)
        assert dst.count() == 300 and dst.get(["id-60"])[0].text == "changed text"


def test_spec_mismatch_is_refused(tmp_path):
    with vecdb.open(tmp_path / "a") as a, vecdb.open(f"milvus-lite://{tmp_path / 'm.db'}") as m:
        src = a.create_collection("docs", model="hash")
        _fill(src, n=10)
        m.create_collection("docs", model="hash", max_length=128)  # another spec
        with pytest.raises(SpecMismatch):
            copy_collection(src, m)


@pytest.mark.slow
def test_cli_export_import(tmp_path):
    with vecdb.open(tmp_path / "a") as a:
        _fill(a.create_collection("docs", model="hash"), n=40)
    lite = f"milvus-lite://{tmp_path / 'm.db'}"
    out = subprocess.run(vecdb_cmd() + ["export", "--db", str(tmp_path / "a"), "-c", "docs", "--to", lite,
                                        "--format", "json"], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout)["copied"] == 40
    out = subprocess.run(vecdb_cmd() + ["import", "--db", str(tmp_path / "b"), "-c", "docs", "--from", lite,
                                        "--as", "copy", "--format", "json"], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout)["copied"] == 40
    with vecdb.open(tmp_path / "a") as a, vecdb.open(tmp_path / "b") as b:
        assert _snapshot(a.get_collection("docs")) == _snapshot(b.get_collection("copy"))
    bad = subprocess.run(vecdb_cmd() + ["export", "--db", str(tmp_path / "a"), "-c", "nope", "--to", lite],
                         capture_output=True, text=True)
    assert bad.returncode != 0 and bad.stderr.startswith("error: collection:")


@pytest.mark.slow
def test_cli_global_backend_options(tmp_path):
    lite = str(tmp_path / "g.db")
    run = lambda *a: subprocess.run(vecdb_cmd() + list(a), capture_output=True, text=True)  # noqa: E731
    out = run("--backend", "milvus", "--uri", lite, "add", "the cat sat", "-c", "t", "--format", "json")
    assert out.returncode == 0 and json.loads(out.stdout)["added"] == 1
    out = run("collections", "--db", f"milvus-lite://{lite}", "--format", "json")
    assert [c["name"] for c in json.loads(out.stdout)] == ["t"]
    out = run("--backend", "milvus", "collections")
    assert out.returncode != 0 and out.stderr.startswith("error: --uri:")
    out = run("--backend", "nope", "collections")
    assert out.returncode != 0 and out.stderr.startswith("error: --backend:")
