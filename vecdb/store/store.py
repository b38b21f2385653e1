"""SQLite (through SQLAlchemy) as the source of truth: collections, documents, vectors."""
from __future__ import annotations

import datetime as dt
import sqlite3
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
from sqlalchemy import Connection, bindparam, create_engine, event, func, select, text
from sqlalchemy.exc import IntegrityError

from ..errors import CollectionExists, CollectionNotFound, StorageError
from ..filters import compile_where
from ..records import DocWrite
from . import migrations
from .lock import WriteLock
from .schema import collections as T_col
from .schema import documents as T_doc
from .schema import parents as T_par
from .schema import tombstones as T_tomb

DB_FILE = "vecdb.sqlite"


@dataclass(frozen=True)
class CollectionRow:
    id: int
    name: str
    spec: str
    index_config: str
    last_seq: int
    created_at: str


@dataclass
class BatchResult:
    prev_seq: int
    seq: int
    added_ids: list[int]
    added_vectors: list[np.ndarray]
    removed_ids: list[int]
    inserted: int = 0
    replaced: int = 0
    metadata_only: int = 0
    unchanged: int = 0
    deleted: int = 0
    missing_vectors: list[str] | None = None  # content changed under us; embed these and retry


class Store:
    def __init__(self, directory: Path):
        self.directory = directory
        self.lock = WriteLock(directory / ".write.lock")
        self.engine = create_engine(f"sqlite:///{directory / DB_FILE}", pool_size=8, max_overflow=32,
                                    connect_args={"timeout": 60, "check_same_thread": False})
        event.listen(self.engine, "connect", _on_connect)
        event.listen(self.engine, "begin", _on_begin)
        event.listen(self.engine, "handle_error", self._on_error)
        # Readers never wait: an up-to-date database is opened with a plain read; only a migration
        # takes the writer lock (and checks again under it).
        with self.read() as conn:
            pending = migrations.current(conn) < migrations.latest()
        if pending:
            with self.write() as conn:
                migrations.apply(conn)

    def _on_error(self, context) -> None:
        """A damaged file becomes one clear StorageError instead of an SQL traceback."""
        err = context.original_exception
        if isinstance(err, sqlite3.DatabaseError) and not isinstance(err, (sqlite3.OperationalError,
                                                                            sqlite3.IntegrityError)):
            if any(s in str(err) for s in ("malformed", "not a database", "corrupt")):
                raise StorageError(f"db: {self.directory / DB_FILE} is damaged ({err}); restore the database "
                                   "from a copy made with `vecdb export`", argument="db") from None

    def close(self) -> None:
        self.engine.dispose()

    # ---- transactions ---------------------------------------------------
    @contextmanager
    def write(self) -> Iterator[Connection]:
        """One write transaction (BEGIN IMMEDIATE) under the writer lock."""
        with self.lock, self.engine.connect() as conn:
            conn = conn.execution_options(vecdb_write=True)
            with conn.begin():
                yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """One read transaction: a consistent snapshot."""
        with self.engine.connect() as conn, conn.begin():
            yield conn

    # ---- collections ----------------------------------------------------
    def create_collection(self, name: str, spec: str, index_config: str) -> CollectionRow:
        now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        try:
            with self.write() as conn:
                conn.execute(T_col.insert().values(name=name, spec=spec, index_config=index_config,
                                                   last_seq=0, created_at=now))
        except IntegrityError:
            raise CollectionExists(f"name: collection {name!r} already exists", argument="name") from None
        return self.get_collection(name)

    def get_collection(self, name: str) -> CollectionRow | None:
        with self.read() as conn:
            r = conn.execute(select(T_col).where(T_col.c.name == name)).first()
        return CollectionRow(*r) if r else None

    def list_collections(self) -> list[CollectionRow]:
        with self.read() as conn:
            return [CollectionRow(*r) for r in conn.execute(select(T_col).order_by(T_col.c.name))]

    def drop_collection(self, cid: int) -> None:
        with self.write() as conn:
            _drop(conn, cid)

    def replace_collection(self, old_id: int, new_id: int, name: str) -> None:
        """In one transaction: drop collection old_id and give its name to new_id (nothing is left
        behind under another name if the process dies)."""
        with self.write() as conn:
            _drop(conn, old_id)
            conn.execute(T_col.update().where(T_col.c.id == new_id).values(name=name))

    def get_collection_by_id(self, cid: int) -> CollectionRow | None:
        with self.read() as conn:
            r = conn.execute(select(T_col).where(T_col.c.id == cid)).first()
        return CollectionRow(*r) if r else None

    def update_collection(self, cid: int, **values) -> None:
        with self.write() as conn:
            conn.execute(T_col.update().where(T_col.c.id == cid).values(**values))

    def last_seq(self, cid: int) -> int | None:
        with self.engine.connect() as conn:
            return conn.execute(select(T_col.c.last_seq).where(T_col.c.id == cid)).scalar()

    # ---- documents --------------------------------------------------------
    def lookup(self, cid: int, doc_ids: Sequence[str], conn: Connection | None = None) -> dict[str, tuple]:
        """{doc_id: (row_id, content_hash, metadata_json)} for the ids that exist."""
        q = select(T_doc.c.doc_id, T_doc.c.row_id, T_doc.c.content_hash, T_doc.c.metadata).where(
            T_doc.c.collection_id == cid, T_doc.c.doc_id.in_(bindparam("ids", expanding=True)))
        out = {}
        if conn is None:
            with self.read() as c:
                return self.lookup(cid, doc_ids, c)
        for chunk in _chunks(list(doc_ids), 900):
            for r in conn.execute(q, {"ids": chunk}):
                out[r[0]] = (r[1], r[2], r[3])
        return out

    def write_batch(self, cid: int, writes: Sequence[DocWrite], deletes: Sequence[str] = (),
                    replace_parents: Sequence[str] = (), parent_rows: Sequence[dict] = ()) -> BatchResult:
        """Upserts and deletes in one transaction. Replaced rows get new row ids.

        Every row of a document in `replace_parents` (the document itself and its chunks) that is not
        among `writes` is deleted in the same transaction; `parent_rows` ({parent_id, content_hash,
        chunking, source}) record the chunked parents written."""
        with self.write() as conn:
            prev = conn.execute(select(T_col.c.last_seq).where(T_col.c.id == cid)).scalar()
            if prev is None:
                raise CollectionNotFound("collection: it no longer exists (dropped or re-embedded); open it again",
                                         argument="collection")
            seq = prev + 1
            res = BatchResult(prev, prev, [], [], [])
            existing = self.lookup(cid, [w.doc_id for w in writes] + list(deletes), conn)
            if replace_parents:
                keep = {w.doc_id for w in writes}
                stale = self._parent_rows(conn, cid, replace_parents)
                deletes = list(dict.fromkeys([*deletes, *(d for d in stale if d not in keep)]))
                existing.update(stale)
            missing = [w.doc_id for w in writes if w.vector is None and
                       (w.doc_id not in existing or existing[w.doc_id][1] != w.content_hash)]
            if missing:
                res.missing_vectors = missing
                return res  # nothing written; the caller embeds these and retries
            base = conn.execute(text("SELECT seq FROM sqlite_sequence WHERE name = 'documents'")).scalar() or 0
            inserts, meta_updates, removed = [], [], []
            for w in writes:
                old = existing.get(w.doc_id)
                if old is not None and old[1] == w.content_hash:
                    if old[2] != w.metadata:
                        meta_updates.append({"r": old[0], "m": w.metadata})
                        res.metadata_only += 1
                    else:
                        res.unchanged += 1
                    continue
                if old is not None:
                    removed.append(old[0])
                    res.replaced += 1
                else:
                    res.inserted += 1
                base += 1
                inserts.append({"row_id": base, "collection_id": cid, "doc_id": w.doc_id, "text": w.text,
                                "metadata": w.metadata, "content_hash": w.content_hash,
                                "vector": np.ascontiguousarray(w.vector, dtype="<f4").tobytes(), "seq": seq,
                                "parent_id": w.parent_id, "span_start": w.span[0] if w.span else None,
                                "span_end": w.span[1] if w.span else None, "source": w.source})
                res.added_ids.append(base)
                res.added_vectors.append(w.vector)
            for d in deletes:
                if d in existing:
                    removed.append(existing[d][0])
                    res.deleted += 1
            if removed:
                conn.execute(T_tomb.insert(), [{"row_id": r, "collection_id": cid, "seq": seq} for r in removed])
                for chunk in _chunks(removed, 900):
                    conn.execute(T_doc.delete().where(T_doc.c.row_id.in_(chunk)))
            if inserts:
                conn.execute(T_doc.insert(), inserts)
            if meta_updates:
                conn.execute(T_doc.update().where(T_doc.c.row_id == bindparam("r")).values(metadata=bindparam("m")),
                             meta_updates)
            written = {p["parent_id"] for p in parent_rows}
            gone = [p for p in replace_parents if p not in written]
            for chunk in _chunks(gone, 900):
                conn.execute(T_par.delete().where(T_par.c.collection_id == cid, T_par.c.parent_id.in_(chunk)))
            if parent_rows:
                conn.execute(text("INSERT OR REPLACE INTO parents (collection_id, parent_id, content_hash, chunking, "
                                  "source) VALUES (:c, :parent_id, :content_hash, :chunking, :source)"),
                             [{"c": cid, **p} for p in parent_rows])
            if inserts or removed:
                conn.execute(T_col.update().where(T_col.c.id == cid).values(last_seq=seq))
                res.seq = seq
            res.removed_ids = removed
        return res

    def _parent_rows(self, conn: Connection, cid: int, parent_ids: Sequence[str]) -> dict[str, tuple]:
        """{doc_id: (row_id, content_hash, metadata_json)} of the documents and chunks of these parents."""
        q = select(T_doc.c.doc_id, T_doc.c.row_id, T_doc.c.content_hash, T_doc.c.metadata).where(
            T_doc.c.collection_id == cid, (T_doc.c.parent_id.in_(bindparam("ids", expanding=True)))
            | (T_doc.c.doc_id.in_(bindparam("ids", expanding=True))))
        out = {}
        for chunk in _chunks(list(parent_ids), 400):
            for r in conn.execute(q, {"ids": chunk}):
                out[r[0]] = (r[1], r[2], r[3])
        return out

    def parents(self, cid: int, parent_ids: Sequence[str]) -> dict[str, tuple[str, str]]:
        """{parent_id: (content_hash, chunking_json)} for chunked parents that exist."""
        q = select(T_par.c.parent_id, T_par.c.content_hash, T_par.c.chunking).where(
            T_par.c.collection_id == cid, T_par.c.parent_id.in_(bindparam("ids", expanding=True)))
        out = {}
        with self.read() as conn:
            for chunk in _chunks(list(parent_ids), 900):
                out.update({r[0]: (r[1], r[2]) for r in conn.execute(q, {"ids": chunk})})
        return out

    def bm25(self, cid: int, match: str, limit: int) -> list[tuple[int, float]]:
        """(row_id, score) best first by FTS5 BM25 (score = -bm25, higher is better)."""
        q = text("SELECT f.rowid, bm25(documents_fts) AS s FROM documents_fts f JOIN documents d "
                 "ON d.row_id = f.rowid WHERE documents_fts MATCH :m AND d.collection_id = :c "
                 "ORDER BY s LIMIT :n")
        with self.read() as conn:
            return [(r[0], -float(r[1])) for r in conn.execute(q, {"m": match, "c": cid, "n": limit})]

    def fts_count(self, cid: int) -> int:
        """Rows of this collection present in the full-text index (for consistency checks)."""
        q = text("SELECT count(*) FROM documents_fts_docsize s JOIN documents d ON d.row_id = s.id "
                 "WHERE d.collection_id = :c")
        with self.read() as conn:
            return conn.execute(q, {"c": cid}).scalar()

    def count(self, cid: int) -> int:
        with self.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(T_doc).where(T_doc.c.collection_id == cid)).scalar()

    def counts(self) -> dict[int, int]:
        with self.engine.connect() as conn:
            q = select(T_doc.c.collection_id, func.count()).group_by(T_doc.c.collection_id)
            return {r[0]: r[1] for r in conn.execute(q)}

    def get(self, cid: int, doc_ids: Sequence[str], with_vectors: bool = False) -> dict[str, tuple]:
        """{doc_id: ROW} where ROW is (doc_id, text, metadata_json, parent_id, span_start, span_end, source,
        vector|None)."""
        q = select(*_row_cols(with_vectors)).where(T_doc.c.collection_id == cid,
                                                   T_doc.c.doc_id.in_(bindparam("ids", expanding=True)))
        out = {}
        with self.read() as conn:
            for chunk in _chunks(list(doc_ids), 900):
                for r in conn.execute(q, {"ids": chunk}):
                    out[r[0]] = _row(r, with_vectors)
        return out

    def page(self, cid: int, where: dict | None, limit: int | None, offset: int,
             with_vectors: bool = False) -> list[tuple]:
        """ROWs (as get()) matching `where`, in insertion (row id) order."""
        q = select(*_row_cols(with_vectors)).where(T_doc.c.collection_id == cid,
                                                   compile_where(where, T_doc.c.metadata)).order_by(T_doc.c.row_id)
        if limit is not None:
            q = q.limit(limit)
        if offset:
            q = q.offset(offset) if limit is not None else q.limit(-1).offset(offset)
        with self.read() as conn:
            return [_row(r, with_vectors) for r in conn.execute(q)]

    def rows(self, cid: int, row_ids: Sequence[int]) -> dict[int, tuple]:
        """{row_id: (doc_id, text, metadata_json, parent_id, span_start, span_end, source)}."""
        q = select(T_doc.c.row_id, T_doc.c.doc_id, T_doc.c.text, T_doc.c.metadata, T_doc.c.parent_id,
                   T_doc.c.span_start, T_doc.c.span_end, T_doc.c.source).where(
            T_doc.c.collection_id == cid, T_doc.c.row_id.in_(bindparam("ids", expanding=True)))
        out = {}
        with self.read() as conn:
            for chunk in _chunks([int(r) for r in row_ids], 900):
                for r in conn.execute(q, {"ids": chunk}):
                    out[r[0]] = tuple(r[1:])
        return out

    def filter_row_ids(self, cid: int, where: dict) -> np.ndarray:
        q = select(T_doc.c.row_id).where(T_doc.c.collection_id == cid, compile_where(where, T_doc.c.metadata))
        with self.read() as conn:
            return np.fromiter((r[0] for r in conn.execute(q)), dtype=np.int64)

    def changes_since(self, cid: int, seq: int, dim: int, chunk: int = 20000
                      ) -> Iterator[tuple[int, np.ndarray, np.ndarray, np.ndarray]]:
        """Yield (last_seq, removed_ids, added_ids, added_vectors) chunks from one snapshot."""
        with self.read() as conn:
            last = conn.execute(select(T_col.c.last_seq).where(T_col.c.id == cid)).scalar_one()
            removed = np.fromiter((r[0] for r in conn.execute(
                select(T_tomb.c.row_id).where(T_tomb.c.collection_id == cid, T_tomb.c.seq > seq))), dtype=np.int64)
            q = (select(T_doc.c.row_id, T_doc.c.vector)
                 .where(T_doc.c.collection_id == cid, T_doc.c.seq > seq, T_doc.c.seq <= last)
                 .order_by(T_doc.c.row_id))
            result = conn.execution_options(yield_per=chunk).execute(q)
            sent = False
            for part in result.partitions(chunk):
                ids = np.fromiter((r[0] for r in part), dtype=np.int64, count=len(part))
                vecs = np.frombuffer(b"".join(r[1] for r in part), dtype="<f4").reshape(len(part), dim)
                yield last, (removed if not sent else removed[:0]), ids, vecs
                sent = True
            if not sent:
                yield last, removed, np.zeros(0, np.int64), np.zeros((0, dim), np.float32)

    def iter_documents(self, cid: int, chunk: int = 1000, with_vectors: bool = True) -> Iterator[list[tuple]]:
        """Lists of ROWs (as get()) in row order, from one snapshot."""
        q = select(*_row_cols(with_vectors)).where(T_doc.c.collection_id == cid).order_by(T_doc.c.row_id)
        with self.read() as conn:
            for part in conn.execution_options(yield_per=chunk).execute(q).partitions(chunk):
                yield [_row(r, with_vectors) for r in part]

    def iter_row_ids(self, cid: int, chunk: int = 100_000) -> Iterator[list[int]]:
        q = select(T_doc.c.row_id).where(T_doc.c.collection_id == cid)
        with self.read() as conn:
            for part in conn.execution_options(yield_per=chunk).execute(q).partitions(chunk):
                yield [r[0] for r in part]

    def sizes(self) -> dict[str, int]:
        out = {}
        for suffix in ("", "-wal", "-shm"):
            p = self.directory / (DB_FILE + suffix)
            out[p.name] = p.stat().st_size if p.exists() else 0
        return out


def _drop(conn: Connection, cid: int) -> None:
    conn.execute(T_tomb.delete().where(T_tomb.c.collection_id == cid))
    conn.execute(T_par.delete().where(T_par.c.collection_id == cid))
    conn.execute(T_doc.delete().where(T_doc.c.collection_id == cid))
    conn.execute(T_col.delete().where(T_col.c.id == cid))


def _row_cols(with_vectors: bool) -> list:
    return [T_doc.c.doc_id, T_doc.c.text, T_doc.c.metadata, T_doc.c.parent_id, T_doc.c.span_start, T_doc.c.span_end,
            T_doc.c.source] + ([T_doc.c.vector] if with_vectors else [])


def _row(r, with_vectors: bool) -> tuple:
    return (*r[:7], np.frombuffer(r[7], dtype="<f4") if with_vectors else None)


def _on_connect(dbapi_conn, _record) -> None:
    dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA busy_timeout = 60000")
    cur.execute("PRAGMA journal_mode = WAL")
    cur.execute("PRAGMA synchronous = FULL")
    cur.execute("PRAGMA foreign_keys = ON")
    cur.close()


def _on_begin(conn) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("vecdb_write") else "BEGIN")


def _chunks(items: list, n: int) -> Iterator[list]:
    for i in range(0, len(items), n):
        yield items[i:i + n]

