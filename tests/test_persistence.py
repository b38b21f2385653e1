"""SQLite is the truth; the FAISS file is a rebuildable cache."""
import numpy as np

import vecdb
from vecdb.embed import load_embedder
from vecdb.index import persist

TEXTS = [f"note {i}: {w}" for i, w in enumerate(["apples", "rivers", "engines", "violins", "planets", "tulips"])]


def _make(path, n=6):
    with vecdb.open(path) as d:
        c = d.create_collection("c", model="hash")
        c.add(TEXTS[:n], ids=[str(i) for i in range(n)])
        return c.index_path


def _ids(c):
    return sorted(h.id for h in c.search("note", k=100))


def test_index_file_written_on_close_with_stamp(tmp_path):
    path = _make(tmp_path / "db")
    index, stamp = persist.load(path, {"type": "flat"}, 256)
    assert len(index) == 6 and stamp >= 1


def test_missing_index_is_rebuilt(tmp_path):
    path = _make(tmp_path / "db")
    path.unlink()
    with vecdb.open(tmp_path / "db") as d:
        c = d.get_collection("c")
        assert _ids(c) == [str(i) for i in range(6)] and c.check()["ok"]
    assert path.exists()


def test_corrupt_index_is_rebuilt(tmp_path):
    path = _make(tmp_path / "db")
    path.write_bytes(path.read_bytes()[:100])
    with vecdb.open(tmp_path / "db") as d:
        assert _ids(d.get_collection("c")) == [str(i) for i in range(6)]
    path.write_bytes(b"garbage")
    with vecdb.open(tmp_path / "db") as d:
        assert d.get_collection("c").check()["ok"]


def test_stale_index_catches_up(tmp_path):
    path = _make(tmp_path / "db", n=3)
    old = path.read_bytes()
    with vecdb.open(tmp_path / "db") as d:
        c = d.get_collection("c")
        c.add(TEXTS[3:], ids=["3", "4", "5"])
        c.delete(["0"])
    path.write_bytes(old)  # an index from before those changes
    with vecdb.open(tmp_path / "db") as d:
        c = d.get_collection("c")
        assert _ids(c) == ["1", "2", "3", "4", "5"] and c.check()["ok"]


def test_vectors_live_in_sqlite(tmp_path):
    _make(tmp_path / "db")
    with vecdb.open(tmp_path / "db") as d:
        doc = d.get_collection("c").get(["2"], include_vectors=True)[0]
        assert doc.vector.shape == (256,) and abs(np.linalg.norm(doc.vector) - 1) < 1e-4
        assert np.allclose(doc.vector, load_embedder(model="hash").embed_documents([TEXTS[2]])[0], atol=1e-6)


def test_two_handles_see_each_others_writes(tmp_path):
    a = vecdb.open(tmp_path / "db")
    b = vecdb.open(tmp_path / "db")
    ca = a.create_collection("c", model="hash")
    cb = b.get_collection("c")
    ca.add(["first document"], ids=["1"])
    assert [h.id for h in cb.search("first", k=5)] == ["1"]
    cb.add(["second document"], ids=["2"])
    ca.add(["third document"], ids=["3"])
    assert sorted(h.id for h in ca.search("document", k=5)) == ["1", "2", "3"]
    assert ca.check()["ok"] and cb.check()["ok"]
    a.close()
    b.close()
