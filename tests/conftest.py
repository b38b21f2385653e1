import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCIFACT = Path(os.environ.get("VECDB_SCIFACT", ROOT.parent / "shared" / "eval" / "scifact"))

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# CLI tests run in-process; the warm worker is on only in the tests that ask for `daemon_dir`.
os.environ["VECDB_NO_DAEMON"] = "1"


@pytest.fixture(scope="session")
def minilm():
    """The real packaged all-MiniLM-L6-v2, loaded once per session."""
    from vecdb.embed import load_embedder

    return load_embedder(model="minilm")


@pytest.fixture(scope="session")
def minilm_fp32():
    from vecdb.embed import load_embedder

    return load_embedder(model="minilm", dtype="float32")


@pytest.fixture
def db(tmp_path):
    import vecdb

    d = vecdb.open(tmp_path / "db")
    yield d
    d.close()


@pytest.fixture
def coll(db):
    """A collection with the deterministic fake embedder (hashed bag of words): for storage, filters, RAG."""
    return db.create_collection("docs", model="hash")


@pytest.fixture
def minilm_coll(db, minilm):
    """A collection with the real MiniLM: for tests about embedding quality."""
    return db.create_collection("docs", embedder=minilm)


@pytest.fixture
def daemon_dir(monkeypatch):
    """A private socket folder for the warm worker (short: socket paths are limited); the worker found
    there is stopped at the end, killed if it does not stop."""
    from vecdb.daemon import client, protocol

    d = Path(tempfile.mkdtemp(prefix="vecdb-d", dir="/tmp"))
    monkeypatch.setenv("VECDB_DAEMON_DIR", str(d))
    monkeypatch.setenv("VECDB_DAEMON_IDLE", "60")
    yield d
    lock = protocol.paths()["lock"]
    client.stop(timeout=15)
    pid = int(lock.read_text().strip() or 0) if lock.exists() else 0
    if client.alive(pid):
        client.kill(pid)
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="session")
def scifact():
    if not (SCIFACT / "corpus.jsonl").exists():
        pytest.skip(f"SciFact not present at {SCIFACT}")
    return SCIFACT


def vecdb_cmd() -> list[str]:
    return [sys.executable, "-m", "vecdb.cli.main"]
