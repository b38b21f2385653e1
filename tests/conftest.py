import contextlib
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCIFACT = Path(os.environ.get("VECDB_SCIFACT", ROOT.parent / "shared" / "eval" / "scifact"))

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


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
def coll(db, minilm):
    return db.create_collection("docs", embedder=minilm)


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


def pytest_terminal_summary(terminalreporter):
    """How many README/docs examples ran, and which were skipped and why."""
    try:
        from tests.docs.test_examples import SUMMARY
    except ImportError:
        return
    if SUMMARY["ran"] or SUMMARY["skipped"]:
        terminalreporter.write_line(f"docs examples: {len(SUMMARY['ran'])} run, {len(SUMMARY['skipped'])} skipped")
        for b in SUMMARY["skipped"]:
            terminalreporter.write_line(f"  skipped {b.name}: {b.skip}")
