"""One clear line for each hostile case: a damaged SQLite file, a mistyped --db on a read command,
missing ids, a bad JSONL batch (nothing stored), text over the limit (the same on CLI and HTTP)."""
from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest
from fastapi.testclient import TestClient

import vecdb
from vecdb import limits
from vecdb.errors import InvalidArgument, LimitExceeded, StorageError
from vecdb.server import Settings, create_app


def _cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vecdb.cli.main", *args], capture_output=True, text=True,
                          timeout=120, input=stdin)


def _one_error_line(p: subprocess.CompletedProcess) -> str:
    assert p.returncode != 0
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), p.stderr
    assert "internal error" not in lines[0]
    return lines[0]


@pytest.fixture
def filled(tmp_path):
    path = tmp_path / "db"
    with vecdb.open(path) as db:
        db.create_collection("default", model="hash").add([f"document {i} " * 40 for i in range(2000)],
                                                           ids=[f"d{i}" for i in range(2000)], batch_size=1000)
    return path


@pytest.mark.parametrize("args", [["search", "q"], ["get", "x"], ["info"], ["collections"], ["context", "q"],
                                  ["ask", "q"], ["reembed", "--abort"]])
def test_read_commands_do_not_create(tmp_path, args):
    missing = tmp_path / "typo"
    line = _one_error_line(_cli(*args, "--db", str(missing)))
    assert line == f"error: db: no database at {missing}"
    assert not missing.exists()


def test_eval_with_db_does_not_create(tmp_path):
    (tmp_path / "beir" / "qrels").mkdir(parents=True)
    (tmp_path / "beir" / "corpus.jsonl").write_text('{"_id": "1", "text": "a"}\n')
    (tmp_path / "beir" / "queries.jsonl").write_text('{"_id": "q", "text": "a"}\n')
    (tmp_path / "beir" / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq\t1\t1\n")
    missing = tmp_path / "typo"
    line = _one_error_line(_cli("eval", str(tmp_path / "beir"), "-c", "docs", "--db", str(missing)))
    assert line == f"error: db: no database at {missing}" and not missing.exists()


def test_get_missing_id(filled):
    assert _one_error_line(_cli("get", "nope", "--db", str(filled))) == "error: ids: not found: nope"
    p = _cli("get", "d1", "nope", "--db", str(filled), "--format", "json")
    assert [d["id"] for d in json.loads(p.stdout)] == ["d1"]
    assert _one_error_line(p) == "error: ids: not found: nope"


@pytest.mark.parametrize("damage", ["header", "pages"])
def test_damaged_sqlite_file(filled, damage):
    db_file = filled / "vecdb.sqlite"
    size = db_file.stat().st_size
    with open(db_file, "r+b") as f:
        if damage == "header":
            f.write(b"this is not an sqlite file at all" * 4)
        else:  # every third page after the first overwritten
            for offset in range(4096 * 4, size, 4096 * 3):
                f.seek(offset)
                f.write(b"\xff" * 4096)
    for args in (["info"], ["search", "document 5"], ["get", "d7"], ["collections"]):
        line = _one_error_line(_cli(*args, "--db", str(filled)))
        assert line.startswith(f"error: db: {db_file} is damaged") and "vecdb export" in line, line
    with pytest.raises(StorageError) as e:
        with vecdb.open(filled, create=False) as db:
            coll = db.get_collection("default")
            coll.get(where={"n": 1})
            coll.search("document 5")
    assert e.value.argument == "db" and str(db_file) in str(e.value)


def test_bad_document_in_a_jsonl_batch_stores_nothing(tmp_path):
    """The issue's case: a lone surrogate in document 36's metadata, --batch-size 16."""
    path, jsonl = tmp_path / "db", tmp_path / "docs.jsonl"
    lines = [{"id": f"d{i}", "text": f"document {i}", "metadata": {"n": i}} for i in range(50)]
    lines[36]["metadata"]["bad"] = "\udc80"
    jsonl.write_text("\n".join(json.dumps(x) for x in lines))  # ensure_ascii: the surrogate travels as \udc80
    line = _one_error_line(_cli("add", "--jsonl", str(jsonl), "--batch-size", "16", "--model", "hash",
                                "--db", str(path)))
    assert line.startswith("error: metadata[36].bad: not valid Unicode")
    with vecdb.open(path, create=False) as db:
        assert not db.has_collection("default") or db.get_collection("default").count() == 0


def test_text_limit_is_the_same_on_cli_and_http(tmp_path):
    path = tmp_path / "db"
    ok, over = "w" * limits.MAX_TEXT_CHARS, "w" * (limits.MAX_TEXT_CHARS + 1)
    start = time.perf_counter()
    line = _one_error_line(_cli("add", "-", "--model", "hash", "--db", str(path), stdin="short\n" + over + "\n"))
    assert "MAX_TEXT_CHARS" in line and line.startswith("error: texts[1]")
    big = _one_error_line(_cli("add", "-", "--model", "hash", "--db", str(path), stdin="x" * (10 * 2 ** 20)))
    assert "MAX_TEXT_CHARS" in big and time.perf_counter() - start < 60  # refused up front, not embedded
    assert _cli("add", "-", "--model", "hash", "--db", str(path), stdin=ok + "\n").returncode == 0
    with TestClient(create_app(Settings(db_path=path, models=("hash",)))) as client:
        r = client.post("/v1/collections/default/documents", json={"documents": [{"text": over}]})
        assert r.status_code in (400, 413, 422) and "100000" in r.text.replace(",", "")
        r = client.post("/v1/collections/default/documents", json={"documents": [{"id": "big", "text": ok}]})
        assert r.status_code == 200, r.text
    with vecdb.open(path, create=False) as db:
        coll = db.get_collection("default")
        with pytest.raises(LimitExceeded) as e:
            coll.add([over])
        assert e.value.limit == "MAX_TEXT_CHARS" and e.value.argument == "texts"
        assert coll.count() == 2


def test_k_must_be_an_integer_over_http(filled):
    with TestClient(create_app(Settings(db_path=filled, models=("hash",)))) as client:
        for k in (True, "5", 2.5, 0, limits.MAX_K + 1):
            r = client.post("/v1/collections/default/search", json={"query": "document", "k": k})
            assert r.status_code in (400, 422), (k, r.status_code)
            assert "Retry-After" not in r.headers
        assert client.post("/v1/collections/default/search", json={"query": "document", "k": 2}).status_code == 200


def test_metadata_limits(tmp_path):
    with vecdb.open(tmp_path / "db") as db:
        coll = db.create_collection("c", model="hash")
        deep: dict = {"x": 1}
        for _ in range(10_000):  # deeper than Python's recursion limit: still a clean error
            deep = {"k": deep}
        for meta, limit in (({"big": "z" * limits.MAX_METADATA_BYTES}, "MAX_METADATA_BYTES"),
                            ({"many": list(range(limits.MAX_METADATA_BYTES))}, "MAX_METADATA_BYTES"),
                            (deep, "MAX_METADATA_DEPTH")):
            with pytest.raises(LimitExceeded) as e:
                coll.add(["text"], metadata=[meta])
            assert e.value.limit == limit and e.value.argument == "metadata" and len(str(e.value)) < 400
        with pytest.raises(LimitExceeded) as e:
            coll.add(["a"], batch_size=limits.MAX_BATCH + 1)
        assert e.value.limit == "MAX_BATCH"
        assert coll.count() == 0


def test_chunked_add_checks_sources_and_its_own_text_limit(tmp_path):
    with vecdb.open(tmp_path / "db") as db:
        coll = db.create_collection("c", model="hash")
        with pytest.raises(InvalidArgument) as e:  # a file name that was not UTF-8 (surrogateescape)
            coll.add(["some words to chunk"], chunk_size=16, sources=["notes-\udcff.md"])
        assert e.value.argument == "sources" and "\\udcff" in str(e.value)
        long = "word " * (limits.MAX_TEXT_CHARS // 5 + 10)  # over MAX_TEXT_CHARS whole, fine as chunks
        res = coll.add([long], ids=["long"], chunk_size=64, chunk_overlap=0)
        assert res.documents == 1 and coll.count() > 1
        assert all(len(d.text) <= limits.MAX_TEXT_CHARS for d in coll.get(where={"x": {"$ne": 1}}))
