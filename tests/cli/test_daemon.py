"""The warm worker: real `vecdb` processes that start it, reach it over its socket and see other writers.

Each test gets its own socket folder and stops its worker at the end (see the `daemon` fixture)."""
import json
import os
import shutil
import stat
import subprocess
import time

import pytest

from tests.chat_server import ChatServer
from tests.conftest import vecdb_cmd
from vecdb.daemon import client, protocol


@pytest.fixture
def daemon(tmp_path, monkeypatch, daemon_dir):
    """The environment for `vecdb` with the warm worker on; a `cli(*args)` runner; the worker is stopped after."""
    monkeypatch.delenv("VECDB_NO_DAEMON", raising=False)
    monkeypatch.setenv("VECDB_PATH", str(tmp_path / "db"))

    def cli(*args, env: dict | None = None, stdin: str | None = None, check: bool = True):
        p = subprocess.run(vecdb_cmd() + list(args), env={**os.environ, **(env or {})}, input=stdin,
                           capture_output=True, text=True, timeout=120)
        if check:
            assert p.returncode == 0, p.stderr
        return p

    return cli


def worker_pid() -> int:
    st = client.status()
    assert st["running"], st
    return st["pid"]


def test_worker_answers_like_in_process_and_sees_other_writers(daemon):
    daemon("add", "--model", "hash", "The Eiffel Tower is in Paris", "Bananas are yellow", "--id", "eiffel",
           "--id", "banana")
    pid = worker_pid()
    warm = daemon("search", "eiffel tower paris", "-f", "json").stdout
    cold = daemon("--no-daemon", "search", "eiffel tower paris", "-f", "json").stdout
    assert json.loads(warm) == json.loads(cold) and json.loads(warm)[0]["id"] == "eiffel"
    # another process writes; the next search through the worker sees it
    daemon("add", "paris paris eiffel tower tower", "--id", "new", env={"VECDB_NO_DAEMON": "1"})
    hits = json.loads(daemon("search", "eiffel tower paris", "-f", "json").stdout)
    assert hits[0]["id"] == "new" and {h["id"] for h in hits} == {"new", "eiffel", "banana"}
    daemon("delete", "new")
    assert [h["id"] for h in json.loads(daemon("search", "eiffel tower", "-f", "json").stdout)] == ["eiffel", "banana"]
    st = client.status()
    assert st["pid"] == pid and st["requests"] >= 4 and st["databases"] == [os.environ["VECDB_PATH"]]
    assert not st["torch_loaded"]  # the hash model needs no torch, in the worker too


def test_database_replaced_on_disk_is_reopened(daemon, tmp_path):
    daemon("add", "--model", "hash", "old document about cats", "--id", "old")
    assert json.loads(daemon("search", "cats", "-f", "json").stdout)[0]["id"] == "old"
    shutil.rmtree(tmp_path / "db")
    daemon("--no-daemon", "add", "--model", "hash", "new document about dogs", "--id", "new")
    assert [h["id"] for h in json.loads(daemon("search", "cats", "-f", "json").stdout)] == ["new"]
    daemon("--no-daemon", "drop", "default")
    daemon("--no-daemon", "create", "default", "--model", "hash")
    daemon("--no-daemon", "add", "third one", "--id", "third")
    assert [h["id"] for h in json.loads(daemon("search", "cats", "-f", "json").stdout)] == ["third"]


@pytest.mark.parametrize("args,fragment", [
    (("search", "x", "-c", "missing"), "error: collection: no collection named 'missing'; existing: default"),
    (("search", "x", "--where", '{"a": {"$near": 1}}'), "error: where.a.$near"),
    (("context", "x", "--max-tokens", "0"), "error: max_tokens: must be a positive integer"),
    (("add", "y", "-c", "other", "--model", "no-such-preset"), "error: model: unknown preset 'no-such-preset'"),
    (("ask", "x", "--api-base", "http://127.0.0.1:9/v1", "--timeout", "2"), "error: api_base: cannot reach"),
])
def test_worker_errors_read_as_in_process(daemon, args, fragment):
    daemon("add", "--model", "hash", "a document", "--id", "a")
    before = client.status()["requests"]
    warm = daemon(*args, check=False)
    cold = daemon("--no-daemon", *args, check=False)
    assert warm.returncode == cold.returncode == 1
    assert warm.stderr == cold.stderr and warm.stderr.startswith(fragment) and warm.stderr.count("\n") == 1
    assert client.status()["requests"] == before + 1  # the worker ran it (and failed the same way)


def test_socket_is_private_and_status_stop(daemon, daemon_dir):
    daemon("add", "--model", "hash", "one doc")
    paths = protocol.paths()
    assert stat.S_IMODE(os.stat(daemon_dir).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(paths["socket"]).st_mode) == 0o600 and stat.S_ISSOCK(os.stat(paths["socket"]).st_mode)
    out = json.loads(daemon("daemon", "status", "-f", "json").stdout)
    assert out["running"] and out["socket"] == str(paths["socket"]) and out["idle_timeout_s"] == 60
    stopped = daemon("daemon", "stop")
    assert f"stopped the warm worker (pid {out['pid']})" in stopped.stderr
    assert not client.alive(out["pid"]) and not paths["socket"].exists()
    assert json.loads(daemon("daemon", "status", "-f", "json").stdout)["running"] is False
    assert "no warm worker running" in daemon("daemon", "stop").stderr


def test_no_daemon_flag_and_env(daemon):
    daemon("--no-daemon", "add", "--model", "hash", "one doc")
    daemon("search", "doc", env={"VECDB_NO_DAEMON": "1"})
    assert client.status()["running"] is False


def test_other_code_or_environment_gets_a_fresh_worker(daemon):
    daemon("add", "--model", "hash", "one doc", "--id", "one")
    first = worker_pid()
    out = daemon("search", "doc", "-f", "json", env={"HF_HUB_DISABLE_TELEMETRY": "1"}).stdout
    assert json.loads(out)[0]["id"] == "one"
    assert not client.alive(first) and worker_pid() != first


def test_idle_worker_exits(daemon):
    daemon("add", "--model", "hash", "one doc", env={"VECDB_DAEMON_IDLE": "1"})
    pid = worker_pid()
    deadline = time.monotonic() + 15
    while client.alive(pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not client.alive(pid) and client.status()["running"] is False


def test_ask_streams_through_the_worker(daemon):
    daemon("add", "--model", "hash", "The Eiffel Tower is in Paris.", "Bananas are yellow.")
    with ChatServer(["It is in ", "Paris [1] [7]."]) as srv:
        warm = daemon("ask", "Where is the Eiffel Tower?", "--api-base", srv.url, "-f", "jsonl")
        cold = daemon("--no-daemon", "ask", "Where is the Eiffel Tower?", "--api-base", srv.url, "-f", "jsonl")
    assert warm.stdout == cold.stdout and warm.stderr == cold.stderr
    events = [json.loads(line) for line in warm.stdout.splitlines()]
    assert [e["event"] for e in events] == ["context", "token", "token", "done"]
    assert events[-1]["answer"] == "It is in Paris [1] ." and events[-1]["cited"] is True
    assert "[7]" in warm.stderr


def test_relative_model_folder_resolves_in_the_callers_folder(daemon, tmp_path):
    """The worker runs each operation in the caller's working folder, so relative paths mean the same."""
    p = daemon("add", "--model", "./no-such-model", "x", check=False)
    assert p.returncode == 1 and p.stderr.startswith("error: model:")
    assert client.status()["running"]
    q = daemon("--no-daemon", "add", "--model", "./no-such-model", "x", check=False)
    assert q.stderr == p.stderr


def test_unusable_socket_folder_falls_back_to_in_process(daemon, tmp_path):
    bad = tmp_path / ("x" * 120)
    daemon("add", "--model", "hash", "still works", env={"VECDB_DAEMON_DIR": str(bad)})
    out = daemon("search", "works", "-f", "json", env={"VECDB_DAEMON_DIR": str(bad)}).stdout
    assert json.loads(out)[0]["text"] == "still works"


def test_read_commands_through_the_worker_create_no_database(daemon, tmp_path):
    daemon("add", "--model", "hash", "one doc", "--db", str(tmp_path / "other"))  # a worker is up
    missing = tmp_path / "missing"
    warm = daemon("search", "doc", "--db", str(missing), check=False)
    cold = daemon("--no-daemon", "search", "doc", "--db", str(missing), check=False)
    assert warm.returncode == cold.returncode == 1 and warm.stderr == cold.stderr
    assert warm.stderr.startswith("error: db: no database at") and not missing.exists()
