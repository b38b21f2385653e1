"""Readers never wait: while another process holds the write lock in the middle of a write
transaction, `vecdb info` and `vecdb search` (new processes, opening the database) finish."""
from __future__ import annotations

import subprocess
import sys
import textwrap
import time

import vecdb
from vecdb.store import migrations

HOLDER = textwrap.dedent("""
    import sys, time
    import vecdb
    from sqlalchemy import text
    db = vecdb.open(sys.argv[1], create=False)
    with db.store.write() as conn:  # the flock on .write.lock and BEGIN IMMEDIATE
        conn.execute(text("UPDATE collections SET last_seq = last_seq"))
        print("locked", flush=True)
        time.sleep(float(sys.argv[2]))
""")


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vecdb.cli.main", *args], capture_output=True, text=True, timeout=60)


def test_readers_finish_while_a_writer_holds_the_lock(tmp_path):
    path = tmp_path / "db"
    with vecdb.open(path) as db:
        db.create_collection("default", model="hash").add(["the eiffel tower", "bananas are yellow"])
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(path), "120"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        timings = {}
        for name, args in (("info", ["info", "--format", "json"]), ("search", ["search", "eiffel", "-k", "1"]),
                           ("collections", ["collections"])):
            start = time.perf_counter()
            p = _cli(*args, "--db", str(path))
            timings[name] = time.perf_counter() - start
            assert p.returncode == 0, p.stderr
        assert "eiffel" in p.stdout or "default" in p.stdout
        assert holder.poll() is None  # the lock was held the whole time
        print("reader seconds while the writer holds the lock:", {k: round(v, 2) for k, v in timings.items()})
    finally:
        holder.kill()
        holder.wait()


def test_open_takes_the_lock_only_to_migrate(tmp_path):
    path = tmp_path / "db"
    vecdb.open(path).close()
    with vecdb.open(path, create=False) as db:
        with db.store.read() as conn:
            assert migrations.current(conn) == migrations.latest()
    # A database from before the last migration is brought up to date on open (under the lock).
    import sqlite3

    con = sqlite3.connect(path / "vecdb.sqlite")
    con.execute("DELETE FROM migrations WHERE id = ?", (migrations.latest(),))
    for stmt in ("DROP TRIGGER documents_fts_insert", "DROP TRIGGER documents_fts_delete",
                 "DROP TRIGGER documents_fts_update", "DROP TABLE documents_fts", "DROP TABLE parents",
                 "DROP INDEX documents_parent", "ALTER TABLE documents DROP COLUMN parent_id",
                 "ALTER TABLE documents DROP COLUMN span_start", "ALTER TABLE documents DROP COLUMN span_end",
                 "ALTER TABLE documents DROP COLUMN source"):
        con.execute(stmt)
    con.commit()
    con.close()
    with vecdb.open(path, create=False) as db:
        with db.store.read() as conn:
            assert migrations.current(conn) == migrations.latest()
        db.create_collection("c", model="hash").add(["migrated then written"])
