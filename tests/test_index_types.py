"""Index types through a collection: config recorded, reindex without re-embedding, masked deletes, info."""
import json

import numpy as np
import pytest

import vecdb
from vecdb.cli.main import main
from vecdb.errors import InvalidArgument


def vecs(n, seed=0, dim=256):
    x = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def fill(coll, n=400, seed=0):
    x = vecs(n, seed)
    coll.add([f"text {i}" for i in range(n)], ids=[f"d{i}" for i in range(n)],
             metadata=[{"even": i % 2 == 0, "i": i} for i in range(n)], vectors=x)
    return x


def test_index_config_is_recorded_and_reindex_keeps_vectors(tmp_path):
    path = tmp_path / "db"
    with vecdb.open(path) as db:
        c = db.create_collection("c", model="hash", index="hnsw,M=16,dtype=float16")
        x = fill(c)
        assert db.list_collections()[0]["index"] == "hnsw"
        assert c.search_vectors(x[:1], k=1)[0][0].id == "d0"
    with vecdb.open(path) as db:
        c = db.get_collection("c")
        assert c.index_config == {"type": "hnsw", "M": 16, "dtype": "float16"}
        info = c.info()["index"]
        assert info["type"] == "hnsw" and info["dtype"] == "float16" and info["vectors"] == 400
        assert info["file_bytes"] > 0 and info["memory_bytes"] > 0
        db.reindex("c", {"type": "ivf", "nlist": 4, "min_train": 200, "dtype": "int8"})
        assert c.info()["index"]["type"] == "ivf" and c.count() == 400
        hits = c.search_vectors(x[5:6], k=3, where={"even": False})[0]
        assert len(hits) == 3 and hits[0].id == "d5" and all(h.metadata["i"] % 2 for h in hits)
    with vecdb.open(path) as db:  # the new type is what reopens
        c = db.get_collection("c")
        assert c.info()["index"]["type"] == "ivf" and c.info()["index"]["trained"]
        assert c.check()["ok"]
        with pytest.raises(InvalidArgument):
            db.reindex("c", "hnsw,M=x")
        with pytest.raises(InvalidArgument):
            db.create_collection("d", model="hash", index="ivf,pq=7")


def test_hnsw_deletes_are_masked_then_rebuilt(tmp_path):
    with vecdb.open(tmp_path / "db") as db:
        c = db.create_collection("c", model="hash", index={"type": "hnsw", "rebuild_deleted": 0.25})
        x = fill(c)
        c.delete([f"d{i}" for i in range(0, 80)])  # 20%: masked, not rebuilt
        assert c.info()["index"]["deleted_share"] == pytest.approx(0.2)
        assert c.search_vectors(x[:1], k=5)[0][0].id not in {f"d{i}" for i in range(80)}
        c.delete([f"d{i}" for i in range(80, 120)])  # 30% > 25%: rebuilt from SQLite
        assert c.info()["index"]["deleted_share"] == 0.0 and c.info()["index"]["vectors"] == 280
        assert c.check()["ok"]
        hits = c.search_vectors(x[200:201], k=10, where={"i": {"$in": [200, 201, 399]}})[0]
        assert [h.id for h in hits][:1] == ["d200"] and len(hits) == 3


def test_cli_create_info_reindex(tmp_path, capsys):
    db = str(tmp_path / "db")

    def run(*args):
        try:
            code = main(list(args))
        except SystemExit as e:
            code = e.code
        out = capsys.readouterr()
        return code, out.out, out.err

    assert run("create", "c", "--db", db, "--model", "hash", "--index", "flat,dtype=int8")[0] == 0
    assert run("add", "alpha", "beta", "gamma", "--db", db, "-c", "c")[0] == 0
    code, out, _ = run("info", "--db", db, "-c", "c", "--format", "json")
    idx = json.loads(out)["index"]
    assert code == 0 and idx["type"] == "flat" and idx["dtype"] == "int8" and "deleted_share" in idx
    code, out, _ = run("reindex", "--db", db, "-c", "c", "--index", "hnsw,M=8", "--format", "json")
    assert code == 0 and json.loads(out)["index"]["type"] == "hnsw"
    code, out, _ = run("info", "--db", db, "-c", "c")
    assert code == 0 and "index.type" in out and "hnsw" in out and "memory_bytes" in out
    code, out, _ = run("search", "alpha", "--db", db, "-c", "c", "-k", "1", "--format", "json")
    assert code == 0 and json.loads(out)[0]["text"] == "alpha"
    code, _, err = run("reindex", "--db", db, "-c", "c", "--index", "annoy")
    assert code != 0 and err.startswith("error: index: unknown type 'annoy'")
