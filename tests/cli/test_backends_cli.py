"""The same commands on every backend, in real processes: what a backend lacks is one error line."""
import json
import os
import subprocess

import pytest

from tests.chat_server import ChatServer

from ..conftest import vecdb_cmd

LONG = " ".join(f"Sentence {i} says the river carries water to the ocean." for i in range(30))


def run(*args, stdin=None):
    env = dict(os.environ, VECDB_NO_DAEMON="1", VECDB_NO_PROGRESS="1")
    return subprocess.run(vecdb_cmd() + list(args), input=stdin, capture_output=True, text=True, env=env, timeout=300)


@pytest.fixture(params=["local", "milvus-lite"])
def db(request, tmp_path):
    if request.param == "milvus-lite":
        pytest.importorskip("milvus_lite")
        return f"milvus-lite://{tmp_path / 'v.db'}"
    return str(tmp_path / "db")


def test_chunked_add_context_ask_and_hybrid(db):
    p = run("add", "--db", db, "--model", "hash", "--chunk-size", "32", "--chunk-overlap", "4", "--id", "essay", LONG,
            "--format", "json")
    assert p.returncode == 0, p.stderr
    added = json.loads(p.stdout)
    assert added["documents"] == 1 and added["added"] > 2

    p = run("context", "--db", db, "where does the river carry water", "-k", "2", "--format", "json")
    assert p.returncode == 0, p.stderr
    passages = json.loads(p.stdout)["passages"]
    assert passages and passages[0]["document_id"] == "essay" and passages[0]["citation"] == 1

    with ChatServer(pieces=["To the ocean ", "[1]."]) as chat:
        p = run("ask", "--db", db, "where does the river carry water", "-k", "2", "--api-base", chat.url,
                "--model", "stub", "--format", "json")
    assert p.returncode == 0, p.stderr
    answer = json.loads(p.stdout)
    assert answer["citations"][0]["document_id"] == "essay" and answer["answer"].endswith("[1].")

    p = run("search", "--db", db, "river ocean", "--hybrid", "--format", "json")
    if db.startswith("milvus-lite://"):
        assert p.returncode == 1 and p.stdout == ""
        assert p.stderr.strip() == ("error: hybrid: keyword search is not available on the milvus backend "
                                    "(collection 'default')")
    else:
        assert p.returncode == 0, p.stderr
        assert json.loads(p.stdout)[0]["document_id"] == "essay"
