"""The warm worker: a real process that the CLI starts, reaches over its socket, and that sees other writers.

The CLI runs in this process (main(), as in test_cli) except where a separate `vecdb` process is the point;
the worker is always its own process. Each test gets its own socket folder and its worker is stopped at the
end (the `daemon_dir` fixture)."""
import json
import os
import shutil
import stat
import subprocess
import time
from collections import namedtuple
from unittest import mock

import pytest

from tests.chat_server import ChatServer
from tests.conftest import vecdb_cmd
from vecdb.cli.main import main
from vecdb.daemon import client, protocol

Result = namedtuple("Result", "returncode stdout stderr")


@pytest.fixture
def daemon(tmp_path, monkeypatch, daemon_dir, capsys):
    """`cli(*args, env=...)`: `vecdb args` with the warm worker on (env: extra variables for this call)."""
    monkeypatch.delenv("VECDB_NO_DAEMON", raising=False)
    monkeypatch.setenv("VECDB_PATH", str(tmp_path / "db"))

    def cli(*args, env: dict | None = None, check: bool = True) -> Result:
        with mock.patch.dict(os.environ, env or {}):
            try:
                code = main(list(args))
            except SystemExit as e:
                code = e.code
        out = capsys.readouterr()
        if check:
            assert code == 0, out.err
        return Result(code, out.out, out.err)

    return cli


def worker_pid() -> int:
    st = client.status()
    assert st["running"], st
    return st["pid"]


def hits(result: Result) -> list[str]:
    return [h["id"] for h in json.loads(result.stdout)]


def test_separate_processes_share_one_worker(daemon, tmp_path):
    env = {**os.environ, "VECDB_NO_DAEMON": "0"}
    run = lambda *a: subprocess.run(vecdb_cmd() + list(a), env=env, capture_output=True, text=True,  # noqa: E731
                                    timeout=120)
    p = run("add", "--model", "hash", "The Eiffel Tower is in Paris", "Bananas are yellow", "--id", "e", "--id", "b")
    assert p.returncode == 0, p.stderr
    pid = worker_pid()
    q = run("search", "eiffel tower", "-f", "json", "-k", "1")
    assert q.returncode == 0 and [h["id"] for h in json.loads(q.stdout)] == ["e"]
    assert worker_pid() == pid and client.status()["requests"] == 2


def test_worker_answers_like_in_process_and_sees_other_writers(daemon):
    daemon("add", "--model", "hash", "The Eiffel Tower is in Paris", "Bananas are yellow", "--id", "eiffel",
           "--id", "banana")
    pid = worker_pid()
    warm = daemon("search", "eiffel tower paris", "-f", "json").stdout
    cold = daemon("--no-daemon", "search", "eiffel tower paris", "-f", "json").stdout
    assert json.loads(warm) == json.loads(cold) and json.loads(warm)[0]["id"] == "eiffel"
    # another writer; the next search through the worker sees it
    daemon("add", "paris paris eiffel tower tower", "--id", "new", env={"VECDB_NO_DAEMON": "1"})
    found = hits(daemon("search", "eiffel tower paris", "-f", "json"))
    assert found[0] == "new" and set(found) == {"new", "eiffel", "banana"}
    daemon("delete", "new")
    assert hits(daemon("search", "eiffel tower", "-f", "json")) == ["eiffel", "banana"]
    st = client.status()
    assert st["pid"] == pid and st["requests"] >= 4 and st["databases"] == [os.environ["VECDB_PATH"]]
    assert not st["torch_loaded"]  # the hash model needs no torch, in the worker too


def test_database_replaced_on_disk_is_reopened(daemon, tmp_path):
    daemon("add", "--model", "hash", "old document about cats", "--id", "old")
    assert hits(daemon("search", "cats", "-f", "json")) == ["old"]
    shutil.rmtree(tmp_path / "db")
    daemon("--no-daemon", "add", "--model", "hash", "new document about dogs", "--id", "new")
    assert hits(daemon("search", "cats", "-f", "json")) == ["new"]
    daemon("--no-daemon", "drop", "default")
    daemon("--no-daemon", "create", "default", "--model", "hash")
    daemon("--no-daemon", "add", "third one", "--id", "third")
    assert hits(daemon("search", "cats", "-f", "json")) == ["third"]


def test_worker_errors_read_as_in_process(daemon, tmp_path):
    """Each failing command, through the worker and with --no-daemon: the same line, the same exit code."""
    daemon("add", "--model", "hash", "a document", "--id", "a")
    cases = [
        (("search", "x", "-c", "missing"), "error: collection: no collection named 'missing'; existing: default"),
        (("search", "x", "--where", '{"a": {"$near": 1}}'), "error: where.a.$near"),
        (("context", "x", "--max-tokens", "0"), "error: max_tokens: must be a positive integer"),
        (("add", "y", "-c", "other", "--model", "no-such-preset"), "error: model: unknown preset 'no-such-preset'"),
        (("add", "y", "-c", "other", "--model", "./no-such-folder"), "error: model: './no-such-folder' is not a"),
        (("ask", "x", "--api-base", "http://127.0.0.1:9/v1", "--timeout", "2"), "error: api_base: cannot reach"),
        (("search", "x", "--db", str(tmp_path / "missing")), "error: db: no database at"),
    ]
    for args, fragment in cases:
        before = client.status()["requests"]
        warm = daemon(*args, check=False)
        cold = daemon("--no-daemon", *args, check=False)
        assert warm.returncode == cold.returncode == 1, args
        assert warm.stderr == cold.stderr and warm.stderr.startswith(fragment), (args, warm.stderr)
        assert warm.stderr.count("\n") == 1
        assert client.status()["requests"] == before + 1, args  # the worker ran it (and failed the same way)
    assert not (tmp_path / "missing").exists()  # a read through the worker creates no database


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
    assert hits(daemon("search", "doc", "-f", "json", env={"HF_HUB_DISABLE_TELEMETRY": "1"})) == ["one"]
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


def test_unusable_socket_folder_falls_back_to_in_process(daemon, tmp_path):
    bad = {"VECDB_DAEMON_DIR": str(tmp_path / ("x" * 120))}
    daemon("add", "--model", "hash", "still works", env=bad)
    assert json.loads(daemon("search", "works", "-f", "json", env=bad).stdout)[0]["text"] == "still works"
