import contextlib
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
# CLI tests run in-process; the warm worker is on only in the tests that ask for `daemon_dir`. A worker
# started anyway (a subprocess given its own environment) lands in this session's folder, stopped at the end.
os.environ["VECDB_NO_DAEMON"] = "1"
os.environ["VECDB_DAEMON_DIR"] = SESSION_DAEMON_DIR = tempfile.mkdtemp(prefix="vecdb-t", dir="/tmp")


def pytest_sessionfinish(session, exitstatus):
    stop_worker(Path(SESSION_DAEMON_DIR))


def stop_worker(folder: Path) -> None:
    """Stop the warm worker whose socket is in `folder` (kill it if it does not stop) and remove the folder."""
    from vecdb.daemon import client, protocol

    old = os.environ.get("VECDB_DAEMON_DIR")
    os.environ["VECDB_DAEMON_DIR"] = str(folder)
    try:
        lock = protocol.paths()["lock"]
        client.stop(timeout=15)
        pid = int(lock.read_text().strip() or 0) if lock.exists() else 0
        if client.alive(pid):
            client.kill(pid)
    finally:
        if old is None:
            os.environ.pop("VECDB_DAEMON_DIR", None)
        else:
            os.environ["VECDB_DAEMON_DIR"] = old
        shutil.rmtree(folder, ignore_errors=True)


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
    d = Path(tempfile.mkdtemp(prefix="vecdb-d", dir="/tmp"))
    monkeypatch.setenv("VECDB_DAEMON_DIR", str(d))
    monkeypatch.setenv("VECDB_DAEMON_IDLE", "60")
    yield d
    stop_worker(d)


@pytest.fixture(scope="session")
def scifact():
    if not (SCIFACT / "corpus.jsonl").exists():
        pytest.skip(f"SciFact not present at {SCIFACT}")
    return SCIFACT


def vecdb_cmd() -> list[str]:
    return [sys.executable, "-m", "vecdb.cli.main"]


@pytest.fixture(scope="session")
def milvus_server(tmp_path_factory):
    """A real standalone Milvus (the `milvus` wheel's milvus-server), shared by the session."""
    from tests.milvus_server import MilvusServer, executable

    if executable() is None:
        if os.environ.get("CI"):
            pytest.fail("milvus-server is not installed; the dev extra should bring the `milvus` wheel")
        pytest.skip("milvus-server is not installed (pip install milvus)")
    server = MilvusServer(tmp_path_factory.mktemp("milvus-server")).start()
    yield server
    server.stop()


@pytest.fixture
def milvus_server_db(milvus_server, request):
    """A fresh Milvus database on the shared server; its URI (milvus://127.0.0.1:PORT/NAME)."""
    with milvus_database(milvus_server, request.node.name) as uri:
        yield uri


@contextlib.contextmanager
def milvus_database(server, label: str):
    """A Milvus database named after `label`, created on `server` and dropped afterwards."""
    import re

    from pymilvus import MilvusClient

    name = "t" + re.sub(r"[^A-Za-z0-9]", "_", label)[-40:] + f"_{os.getpid()}"
    uri = f"http://127.0.0.1:{server.port}"
    client = MilvusClient(uri=uri)
    if name in client.list_databases():
        _drop_database(client, uri, name)
    client.create_database(name)
    try:
        yield f"{server.uri}/{name}"
    finally:
        _drop_database(client, uri, name)
        client.close()


def _drop_database(client, uri: str, name: str) -> None:
    from pymilvus import MilvusClient

    inside = MilvusClient(uri=uri, db_name=name)  # use_database needs DescribeDatabase, which 2.3 lacks
    for coll in inside.list_collections():
        inside.drop_collection(coll)
    inside.close()
    client.drop_database(name)


# `make test` runs the suite on two pytest-xdist workers (--dist loadgroup). A file's tests stay on one
# worker (module fixtures are built once); the files that share the expensive session fixtures (the real
# Milvus server, the embedded SciFact database) form one group, so neither is built twice.
SHARED_GROUP = ("tests/contract/", "tests/slow/test_milvus_server_scifact.py", "tests/slow/test_scifact.py",
                "tests/slow/test_rag_scifact.py")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.get_closest_marker("xdist_group") is None:
            path = item.nodeid.split("::")[0]
            group = "milvus-server+scifact" if path.startswith(SHARED_GROUP) else path
            item.add_marker(pytest.mark.xdist_group(group))


def pytest_terminal_summary(terminalreporter):
    """How many README/docs examples ran, and which were skipped and why (tests/docs/test_examples.py)."""
    ran, skipped = [], []
    for report in (r for key in ("passed", "failed") for r in terminalreporter.stats.get(key, [])):
        for name, value in getattr(report, "user_properties", ()):
            if name == "docs_examples" and getattr(report, "when", "") == "call":
                ran += value["ran"]
                skipped += value["skipped"]
    if ran or skipped:
        terminalreporter.write_line(f"docs examples: {len(ran)} run, {len(skipped)} skipped")
        for block, reason in sorted(skipped):
            terminalreporter.write_line(f"  skipped {block}: {reason}")
