"""A SIGKILLed `vecdb reembed` leaves its staging collection visible as staging; `vecdb drop
__reembed__NAME` or `vecdb reembed --abort -c NAME` removes it; running reembed again finishes it."""
from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

import vecdb

N = 3000


def _cli(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    p = subprocess.run([sys.executable, "-m", "vecdb.cli.main", *args], capture_output=True, text=True, timeout=300)
    assert not check or p.returncode == 0, p.stderr
    return p


def _staged_rows(path) -> int:
    con = sqlite3.connect(f"file:{path / 'vecdb.sqlite'}?mode=ro", uri=True, timeout=30)
    try:
        row = con.execute("SELECT id FROM collections WHERE name = '__reembed__default'").fetchone()
        return -1 if row is None else con.execute("SELECT count(*) FROM documents WHERE collection_id = ?",
                                                  row).fetchone()[0]
    finally:
        con.close()


@pytest.fixture
def killed(tmp_path):
    """A database whose `vecdb reembed` was SIGKILLed half-way (one document per transaction)."""
    path = tmp_path / "db"
    with vecdb.open(path) as db:
        db.create_collection("default", model="hash").add([f"document number {i}" for i in range(N)],
                                                           batch_size=1000)
    proc = subprocess.Popen([sys.executable, "-m", "vecdb.cli.main", "reembed", "--db", str(path), "--model", "hash",
                             "--max-length", "128", "--batch-size", "1"], stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while _staged_rows(path) < 20:
        assert proc.poll() is None, proc.stderr.read()
        assert time.time() < deadline
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    staged = _staged_rows(path)
    assert 0 < staged < N, "the reembed should have been killed half-way"
    return path


def test_kill_then_drop(killed):
    rows = json.loads(_cli("collections", "--db", str(killed), "--format", "json").stdout)
    staging = {r["name"]: r["staging"] for r in rows}
    assert staging == {"default": False, "__reembed__default": True}
    info = json.loads(_cli("info", "-c", "__reembed__default", "--db", str(killed), "--format", "json").stdout)
    assert info["staging"] is True and 0 < info["count"] < N
    _cli("drop", "__reembed__default", "--db", str(killed))
    rows = json.loads(_cli("collections", "--db", str(killed), "--format", "json").stdout)
    assert [r["name"] for r in rows] == ["default"] and rows[0]["count"] == N


def test_kill_then_abort(killed):
    p = _cli("reembed", "--abort", "-c", "default", "--db", str(killed))
    assert "__reembed__default" in p.stderr
    assert _staged_rows(killed) == -1
    p = _cli("reembed", "--abort", "-c", "default", "--db", str(killed), check=False)
    assert p.returncode == 1 and p.stderr.startswith("error: collection: no interrupted reembed")


def test_kill_then_resume(killed):
    _cli("reembed", "--db", str(killed), "--model", "hash", "--max-length", "128")
    rows = json.loads(_cli("collections", "--db", str(killed), "--format", "json").stdout)
    assert [(r["name"], r["count"], r["staging"]) for r in rows] == [("default", N, False)]
    with vecdb.open(killed, create=False) as db:
        assert db.get_collection("default").spec.max_length == 128
