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
    (2, "chunks and full-text search", [
        # A chunk row points at its parent document, its character span in it and where it came from.
        "ALTER TABLE documents ADD COLUMN parent_id TEXT",
        "ALTER TABLE documents ADD COLUMN span_start INTEGER",
        "ALTER TABLE documents ADD COLUMN span_end INTEGER",
        "ALTER TABLE documents ADD COLUMN source TEXT",
        "CREATE INDEX documents_parent ON documents (collection_id, parent_id)",
        # One row per chunked parent: its content hash and chunking settings, to skip unchanged files.
        """CREATE TABLE parents (
            collection_id INTEGER NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
            parent_id TEXT NOT NULL,
            content_hash TEXT NOT NULL,
            chunking TEXT NOT NULL,
            source TEXT,
            PRIMARY KEY (collection_id, parent_id)
        )""",
        # BM25 over the documents' text; the triggers keep it in the writing transaction.
        "CREATE VIRTUAL TABLE documents_fts USING fts5(text, content='documents', content_rowid='row_id', "
        "tokenize='porter unicode61')",
        """CREATE TRIGGER documents_fts_insert AFTER INSERT ON documents BEGIN
            INSERT INTO documents_fts (rowid, text) VALUES (new.row_id, new.text);
        END""",
        """CREATE TRIGGER documents_fts_delete AFTER DELETE ON documents BEGIN
            INSERT INTO documents_fts (documents_fts, rowid, text) VALUES ('delete', old.row_id, old.text);
        END""",
        """CREATE TRIGGER documents_fts_update AFTER UPDATE OF text ON documents BEGIN
            INSERT INTO documents_fts (documents_fts, rowid, text) VALUES ('delete', old.row_id, old.text);
            INSERT INTO documents_fts (rowid, text) VALUES (new.row_id, new.text);
        END""",
        "INSERT INTO documents_fts (documents_fts) VALUES ('rebuild')",  # backfill existing rows
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


def current(conn: Connection) -> int:
    """The highest migration applied (0 for a new database), read without writing anything."""
    if conn.execute(text("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'migrations'")).first() is None:
        return 0
    return conn.execute(text("SELECT coalesce(max(id), 0) FROM migrations")).scalar()


def latest() -> int:
    return MIGRATIONS[-1][0]
