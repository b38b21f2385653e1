"""Collection: add/get/delete/search over the store, the embedder and the index."""
from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

import numpy as np

from . import validate
from .embed import Embedder, embedder_for_spec
from .errors import CollectionNotFound, SpecMismatch
from .filters import validate as validate_where
from .index import VectorIndex, create_index, persist
from .spec import EmbeddingSpec
from .store import BatchResult, CollectionRow, DocWrite, dumps_metadata

if TYPE_CHECKING:
    from .database import Database

AUTOSAVE_ROWS = 100_000


@dataclass
class Hit:
    id: str
    score: float
    text: str
    metadata: dict | None
    parent_id: str | None = None          # set on chunks
    span: tuple[int, int] | None = None   # chunk's character span in its parent
    source: str | None = None
    row_id: int | None = None

    @property
    def document_id(self) -> str:
        return self.parent_id or self.id

    def to_dict(self) -> dict:
        out = {"id": self.id, "score": self.score, "text": self.text, "metadata": self.metadata}
        if self.parent_id is not None or self.source is not None:
            out.update(document_id=self.document_id, span=list(self.span) if self.span else None, source=self.source)
        return out


@dataclass
class Document:
    id: str
    text: str
    metadata: dict | None
    vector: np.ndarray | None = None

    def to_dict(self) -> dict:
        return {"id": self.id, "text": self.text, "metadata": self.metadata}


@dataclass
class AddResult:
    ids: list[str] = field(default_factory=list)
    added: int = 0       # new ids
    updated: int = 0     # content changed (re-embedded)
    metadata_updated: int = 0
    unchanged: int = 0   # skipped by content hash
    embedded: int = 0    # texts that went through the model
    chunked: bool = False
    documents: int = 0            # chunked add: parent documents written
    documents_unchanged: int = 0  # chunked add: skipped by the parent's content hash

    def to_dict(self) -> dict:
        keys = ["added", "updated", "metadata_updated", "unchanged", "embedded"]
        return {k: getattr(self, k) for k in keys + (["documents", "documents_unchanged"] if self.chunked else [])}


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _auto_ids(hashes: list[str]) -> list[str]:
    """Ids derived from content, so adding the same text twice is idempotent."""
    out, seen = [], {}
    for h in hashes:
        i = h[:16]
        seen[i] = seen.get(i, 0) + 1
        out.append(i if seen[i] == 1 else f"{i}-{seen[i]}")
    return out


def _loads(meta: str | None) -> dict | None:
    return None if meta is None else json.loads(meta)


def hit_from_row(row_id: int, row: tuple, score: float) -> Hit:
    """A Hit from Store.rows()'s (doc_id, text, metadata, parent_id, span_start, span_end, source)."""
    span = (row[4], row[5]) if row[4] is not None else None
    return Hit(row[0], score, row[1], _loads(row[2]), row[3], span, row[6], row_id)


class Collection:
    def __init__(self, db: "Database", row: CollectionRow, embedder: Embedder | None = None):
        self.db = db
        self.store = db.store
        self.id = row.id
        self.name = row.name
        self.spec = EmbeddingSpec.from_json(row.spec)
        self.index_config: dict = json.loads(row.index_config)
        self._embedder = embedder
        self._index: VectorIndex | None = None
        self._stamp = -1
        self._unsaved = 0
        self._lock = threading.RLock()

    def __repr__(self) -> str:
        return f"Collection({self.name!r}, model={self.spec.model!r}, pooling={self.spec.pooling!r})"

    # ---- embedder -------------------------------------------------------
    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            pooler = self.db.pooler_dir(self.spec.pooling_weights_hash)
            emb = embedder_for_spec(self.spec, device=self.db.device, pooler_path=str(pooler) if pooler else None)
            self.check_embedder(emb)
            self._embedder = emb
        return self._embedder

    def check_embedder(self, embedder: Embedder) -> None:
        diffs = self.spec.diff(embedder.spec)
        if diffs:
            raise SpecMismatch(self.name, diffs)

    # ---- writes -----------------------------------------------------------
    def add(self, texts: Sequence[str] | str, ids: Sequence[str] | None = None,
            metadata: Sequence[dict | None] | dict | None = None, *, vectors: np.ndarray | None = None,
            batch_size: int = 256, progress: Callable[[int], None] | None = None,
            chunk_size: int | None = None, chunk_overlap: int = 32,
            sources: Sequence[str | None] | None = None,
            chunk_info: Sequence[tuple] | None = None) -> AddResult:
        """Upsert documents. Unchanged content (same id, same hash) is not re-embedded.

        Without an id (None, or no `ids`), a document's id is derived from its text.
        `vectors` (n, dim) supplies precomputed embeddings (made with this collection's spec), which
        are then stored as given instead of running the model (used by import and bulk loads).
        `chunk_size` (tokens) splits each text into chunks stored as `<id>#<n>` with the parent id,
        span and source (see vecdb.chunking); all rows of a document are replaced in one transaction.
        `chunk_info` ((parent_id, span, source) per text) stores rows that are chunks already (re-embedding).
        All input is checked before anything is written; then each batch is one transaction."""
        if chunk_size is not None:
            from .chunking import add_chunked

            if vectors is not None:
                raise validate.InvalidArgument("vectors: cannot be given with chunk_size", argument="vectors")
            return add_chunked(self, texts, ids, metadata, sources, chunk_size, chunk_overlap, batch_size, progress)
        texts = validate.texts(texts)
        hashes = [content_hash(t) for t in texts]
        auto = _auto_ids(hashes)
        ids = [a if i is None else i for i, a in zip(validate.ids(ids, len(texts), allow_none=True), auto)] \
            if ids is not None else auto
        validate.ids(ids)  # an explicit id may collide with a derived one
        metas = [dumps_metadata(m) for m in validate.metadata(metadata, len(texts))]
        if batch_size <= 0:
            raise validate.InvalidArgument("batch_size: must be positive", argument="batch_size")
        if vectors is not None:
            vectors = np.asarray(vectors, dtype=np.float32)
            if vectors.shape != (len(texts), self.spec.dim) or not np.isfinite(vectors).all():
                raise validate.InvalidArgument(f"vectors: expected a finite array of shape ({len(texts)}, "
                                               f"{self.spec.dim}), got {vectors.shape}", argument="vectors")
        result = AddResult(ids=list(ids))
        for start in range(0, len(texts), batch_size):
            sl = slice(start, start + batch_size)
            writes = [DocWrite(i, t, m, h, None) for i, t, m, h in zip(ids[sl], texts[sl], metas[sl], hashes[sl])]
            if chunk_info is not None:
                for w, (parent, span, source) in zip(writes, chunk_info[sl]):
                    w.parent_id, w.span, w.source = parent, tuple(span) if span else None, source
            if vectors is not None:
                for w, v in zip(writes, vectors[sl]):
                    w.vector = v
            else:
                known = self.store.lookup(self.id, [w.doc_id for w in writes])
                need = [w for w in writes if w.doc_id not in known or known[w.doc_id][1] != w.content_hash]
                embedded = self._embed_into(need, progress)  # the embedder reports each forward pass
                result.embedded += embedded
            self._write(writes, result, replace_parents=[w.doc_id for w in writes])
            if progress:
                progress(len(writes) - (embedded if vectors is None else 0))
        return result

    def _write(self, writes: list[DocWrite], result: AddResult, replace_parents: Sequence[str] = (),
               parent_rows: Sequence[dict] = ()) -> None:
        """One transaction; rows of `replace_parents` not among `writes` (old chunks) are deleted in it."""
        for _ in range(10):
            res = self.store.write_batch(self.id, writes, replace_parents=replace_parents, parent_rows=parent_rows)
            if not res.missing_vectors:
                break
            missing = set(res.missing_vectors)  # changed by another writer meanwhile
            result.embedded += self._embed_into([w for w in writes if w.doc_id in missing])
        self._apply(res)
        result.added += res.inserted
        result.updated += res.replaced
        result.metadata_updated += res.metadata_only
        result.unchanged += res.unchanged

    def _embed_into(self, writes: list[DocWrite], progress: Callable[[int], None] | None = None) -> int:
        if not writes:
            return 0
        unique: dict[str, int] = {}
        for w in writes:
            unique.setdefault(w.content_hash, len(unique))
        texts = [None] * len(unique)
        for w in writes:
            texts[unique[w.content_hash]] = w.text
        vecs = self.embedder.embed_documents(texts, progress)
        for w in writes:
            w.vector = vecs[unique[w.content_hash]]
        return len(texts)

    def delete(self, ids: Sequence[str] | str) -> int:
        """Delete documents (a chunked document with all its chunks); returns the rows removed."""
        ids = validate.ids(ids)
        deleted = 0
        for start in range(0, len(ids), 5000):
            part = ids[start:start + 5000]
            res = self.store.write_batch(self.id, [], part, replace_parents=part)
            self._apply(res)
            deleted += res.deleted
        return deleted

    # ---- reads --------------------------------------------------------------
    def get(self, ids: Sequence[str] | str, include_vectors: bool = False) -> list[Document]:
        """The documents that exist, in the order asked."""
        ids = validate.ids(ids)
        found = self.store.get(self.id, ids, with_vectors=include_vectors)
        return [Document(i, found[i][0], _loads(found[i][1]), found[i][2]) for i in ids if i in found]

    def count(self) -> int:
        return self.store.count(self.id)

    def search(self, query: str, k: int = 10, where: dict | None = None, task: str | None = None, *,
               hybrid: bool = False, group_by_document: bool = False) -> list[Hit]:
        """Dense search; `hybrid` fuses it with BM25 (FTS5) by reciprocal rank fusion;
        `group_by_document` keeps the best chunk of each parent document."""
        if not isinstance(query, str):
            raise validate.InvalidArgument(f"query: must be a string, got {type(query).__name__}", argument="query")
        validate.queries([query], "query")
        if hybrid or group_by_document:
            from .rag.retrieve import search

            return search(self, query, k, where=where, task=task, hybrid=hybrid, group=group_by_document)
        return self.search_batch([query], k=k, where=where, task=task)[0]

    def bm25(self, query: str, k: int = 10, where: dict | None = None) -> list[Hit]:
        """Keyword search: BM25 over the collection's text through SQLite FTS5."""
        from .rag.retrieve import bm25

        validate.queries([query], "query")
        validate.k(k)
        return bm25(self, query, k, where)

    def context(self, question: str, k: int = 5, max_tokens: int = 1024, *, mmr: float | None = None,
                hybrid: bool = False, dedupe: bool = True, where: dict | None = None):
        """Ordered, numbered passages for a prompt (see vecdb.rag.context)."""
        from .rag.context import build_context

        return build_context(self, question, k=k, max_tokens=max_tokens, mmr=mmr, hybrid=hybrid, dedupe=dedupe,
                             where=where)

    def ask(self, question: str, **kwargs):
        """Retrieve context and answer with citations (see vecdb.rag.answer.ask)."""
        from .rag.answer import ask

        return ask(self, question, **kwargs)

    def search_batch(self, queries: Sequence[str], k: int = 10, where: dict | None = None,
                     task: str | None = None) -> list[list[Hit]]:
        queries = validate.queries(queries, "queries")
        validate.k(k)
        validate_where(where)
        vectors = self.embedder.embed_queries(queries, task=task)
        return self.search_vectors(vectors, k=k, where=where)

    def search_vectors(self, vectors: np.ndarray, k: int = 10, where: dict | None = None) -> list[list[Hit]]:
        validate.k(k)
        validate_where(where)
        vectors = np.atleast_2d(np.asarray(vectors, dtype=np.float32))
        if vectors.shape[1] != self.spec.dim:
            raise validate.InvalidArgument(f"vectors: expected dimension {self.spec.dim}, got {vectors.shape[1]}",
                                           argument="vectors")
        allowed = self.store.filter_row_ids(self.id, where) if where is not None else None
        with self._lock:
            self._sync()
            scores, rids = self._index.search(vectors, k, allowed)
        rows = self.store.rows(self.id, np.unique(rids[rids >= 0]))
        out = []
        for srow, irow in zip(scores, rids):
            hits = []
            for s, r in zip(srow, irow):
                row = rows.get(int(r)) if r >= 0 else None
                if row is not None:
                    hits.append(hit_from_row(int(r), row, float(s)))
            out.append(hits)
        return out

    # ---- index maintenance ----------------------------------------------------
    @property
    def index_path(self) -> Path:
        return self.db.directory / "indexes" / f"{self.id}.faiss"

    def _ensure_index(self) -> None:
        if self._index is not None:
            return
        loaded = persist.load(self.index_path, self.index_config, self.spec.dim)
        last = self._last_seq()
        if loaded is not None and loaded[1] <= last:
            self._index, self._stamp = loaded
        else:
            self._index, self._stamp = create_index(self.index_config, self.spec.dim), 0
            self._unsaved = 1
        self._catch_up()

    def _last_seq(self) -> int:
        last = self.store.last_seq(self.id)
        if last is None:
            raise CollectionNotFound(f"collection: {self.name!r} no longer exists (dropped or re-embedded); "
                                     "open it again", argument="collection")
        return last

    def _sync(self) -> None:
        """Bring the in-memory index up to the last committed change."""
        self._ensure_index()
        last = self._last_seq()
        if last < self._stamp:  # the database went back in time: rebuild
            self.rebuild_index()
        elif last > self._stamp:
            self._catch_up()

    def _catch_up(self) -> None:
        for last, removed, ids, vecs in self.store.changes_since(self.id, self._stamp, self.spec.dim):
            self._index.remove(removed)
            self._index.add(ids, vecs)
            self._unsaved += len(removed) + len(ids)
            self._stamp = last

    def _apply(self, res: BatchResult) -> None:
        if res.seq == res.prev_seq:
            return
        with self._lock:
            self._ensure_index()
            if self._stamp == res.prev_seq:
                self._index.remove(np.asarray(res.removed_ids, dtype=np.int64))
                if res.added_ids:
                    self._index.add(np.asarray(res.added_ids, np.int64), np.stack(res.added_vectors))
                self._stamp = res.seq
                self._unsaved += len(res.removed_ids) + len(res.added_ids)
            elif self._stamp < res.seq:
                self._catch_up()
            if self._index.needs_rebuild():
                self.rebuild_index()
            if self._unsaved >= AUTOSAVE_ROWS:
                self.save()

    def rebuild_index(self) -> None:
        with self._lock:
            self._index, self._stamp = create_index(self.index_config, self.spec.dim), 0
            self._catch_up()
            self._unsaved = max(self._unsaved, 1)
            self.save()

    def save(self) -> None:
        """Write the index file if it holds unsaved changes."""
        with self._lock:
            if self._index is not None and self._unsaved:
                persist.save(self.index_path, self._index, self._stamp, self.index_config)
                self._unsaved = 0

    def check(self) -> dict:
        """Compare the index's ids with SQLite's rows (after catching up)."""
        with self._lock:
            self._sync()
            index_ids = set(self._index.ids().tolist())
        stored = set()
        for chunk in self.store.iter_row_ids(self.id):
            stored.update(chunk)
        return {"ok": index_ids == stored, "index": len(index_ids), "stored": len(stored),
                "missing_from_index": len(stored - index_ids), "extra_in_index": len(index_ids - stored)}

    def info(self) -> dict:
        with self._lock:
            self._sync()
            stats = self._index.stats()
        path = self.index_path
        stats["file_bytes"] = path.stat().st_size if path.exists() else 0
        return {"name": self.name, "count": self.count(), "spec": json.loads(self.spec.to_json()),
                "index": stats, "index_config": self.index_config}
