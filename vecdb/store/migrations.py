"""Numbered schema migrations, each recorded in the `migrations` table once applied."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, text

MIGRATIONS: list[tuple[int, str, list[str]]] = [
    (1, "initial", [
        """CREATE TABLE collections (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            name TEXT NOT NULL UNIQUE,
            spec TEXT NOT NULL,
            index_config TEXT NOT NULL,
            last_seq INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL
        )""",
        """CREATE TABLE documents (
            row_id INTEGER PRIMARY KEY AUTOINCREMENT,
            collection_id INTEGER NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
            doc_id TEXT NOT NULL,
            text TEXT NOT NULL,
            metadata TEXT,
            content_hash TEXT NOT NULL,
            vector BLOB NOT NULL,
            seq INTEGER NOT NULL,
            UNIQUE (collection_id, doc_id)
        )""",
        "CREATE INDEX documents_seq ON documents (collection_id, seq)",
        "CREATE INDEX documents_hash ON documents (collection_id, content_hash)",
        """CREATE TABLE tombstones (
            row_id INTEGER PRIMARY KEY,
            collection_id INTEGER NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
            seq INTEGER NOT NULL
        )""",
        "CREATE INDEX tombstones_seq ON tombstones (collection_id, seq)",
    ]),
]


def apply(conn: Connection) -> list[int]:
    """Apply pending migrations inside the caller's (write) transaction."""
    conn.execute(text("CREATE TABLE IF NOT EXISTS migrations (id INTEGER PRIMARY KEY, name TEXT NOT NULL, "
                      "applied_at TEXT NOT NULL)"))
    done = {r[0] for r in conn.execute(text("SELECT id FROM migrations"))}
    applied = []
    for number, name, statements in MIGRATIONS:
        if number in done:
            continue
        for stmt in statements:
            conn.execute(text(stmt))
        conn.execute(text("INSERT INTO migrations (id, name, applied_at) VALUES (:i, :n, :t)"),
                     {"i": number, "n": name, "t": dt.datetime.now(dt.timezone.utc).isoformat()})
        applied.append(number)
    return applied


def latest() -> int:
    return MIGRATIONS[-1][0]
