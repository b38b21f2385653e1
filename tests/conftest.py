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
