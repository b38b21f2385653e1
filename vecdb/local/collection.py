"""LocalCollection: storage in SQLite (the truth: rows, vectors, tombstones) and a FAISS IndexCache."""
from __future__ import annotations

from typing import Iterator, Sequence

import numpy as np

from ..collection import ATOMIC_BATCHES, KEYWORD_SEARCH, REINDEX, TRAINABLE_POOLING, Collection
from ..records import Document, DocWrite, Hit, ParentWrite, Stored, WriteCounts, loads_metadata
from ..spec import EmbeddingSpec
from ..store import CollectionRow, Store
from .index_cache import IndexCache


class LocalCollection(Collection):
    backend = "local"
    capabilities = frozenset({KEYWORD_SEARCH, ATOMIC_BATCHES, TRAINABLE_POOLING, REINDEX})

    def __init__(self, db, store: Store, row: CollectionRow, index_config: dict, embedder=None):
        super().__init__(db, row.name, EmbeddingSpec.from_json(row.spec), index_config, embedder)
        self.store = store
        self.id = row.id
        self.index = IndexCache(store, row.id, row.name, index_config, self.spec.dim,
                                db.index_path(row.id))

    # ---- storage ---------------------------------------------------------------
    def _lookup(self, ids: list[str]) -> dict[str, Stored]:
        return {i: Stored(v[1], v[2]) for i, v in self.store.lookup(self.id, ids).items()}

    def _write(self, writes: Sequence[DocWrite], deletes: Sequence[str], replace: Sequence[str],
               parents: Sequence[ParentWrite]) -> WriteCounts:
        res = self.store.write_batch(self.id, writes, deletes, replace_parents=replace,
                                     parent_rows=[vars(p) for p in parents])
        if res.missing_vectors:
            return WriteCounts(missing_vectors=res.missing_vectors)
        self.index.apply(res)
        return WriteCounts(res.inserted, res.replaced, res.metadata_only, res.unchanged, res.deleted)

    def _fetch(self, ids: list[str], vectors: bool) -> dict[str, Document]:
        return {i: _document(r) for i, r in self.store.get(self.id, ids, with_vectors=vectors).items()}

    def _list(self, where: dict | None, limit: int | None, offset: int, vectors: bool) -> list[Document]:
        return [_document(r) for r in self.store.page(self.id, where, limit, offset, with_vectors=vectors)]

    def _count(self) -> int:
        return self.store.count(self.id)

    def _iter(self, batch_size: int, vectors: bool) -> Iterator[list[Document]]:
        for part in self.store.iter_documents(self.id, chunk=batch_size, with_vectors=vectors):
            yield [_document(r) for r in part]

    def _search(self, vectors: np.ndarray, k: int, where: dict | None) -> list[list[Hit]]:
        allowed = self.store.filter_row_ids(self.id, where) if where is not None else None
        scores, rids = self.index.search(vectors, k, allowed)
        rows = self.store.rows(self.id, np.unique(rids[rids >= 0]))
        out = []
        for srow, irow in zip(scores, rids):
            out.append([_hit(int(r), rows[int(r)], float(s)) for s, r in zip(srow, irow)
                        if r >= 0 and int(r) in rows])
        return out

    def _keyword(self, query: str, k: int, where: dict | None) -> list[Hit]:
        from ..rag.retrieve import fts_query

        match = fts_query(query)
        if match is None:
            return []
        allowed = None
        if where is not None:
            allowed = set(self.store.filter_row_ids(self.id, where).tolist())
        scored = self.store.bm25(self.id, match, k if allowed is None else max(k * 20, 1000))
        if allowed is not None:
            scored = [(r, s) for r, s in scored if r in allowed][:k]
        rows = self.store.rows(self.id, [r for r, _ in scored])
        return [_hit(r, rows[r], s) for r, s in scored if r in rows]

    def _parents(self, parent_ids: list[str]) -> dict[str, str]:
        return {p: v[0] for p, v in self.store.parents(self.id, parent_ids).items()}

    def _info(self) -> dict:
        return self.index.stats()

    def _check(self) -> dict:
        index_ids = self.index.ids()
        stored: set[int] = set()
        for chunk in self.store.iter_row_ids(self.id):
            stored.update(chunk)
        return {"ok": index_ids == stored, "index": len(index_ids), "stored": len(stored),
                "missing_from_index": len(stored - index_ids), "extra_in_index": len(index_ids - stored)}

    def _save(self) -> None:
        self.index.save()

    @property
    def index_path(self):
        return self.index.path

    def rebuild_index(self) -> None:
        """Rebuild the FAISS index from the vectors in SQLite."""
        self.index.rebuild()

    def use_index(self, config: dict) -> None:
        """Switch to another index type or parameters (already recorded in SQLite): rebuild and save."""
        self.index.forget()
        self.index_config = config
        self.index = IndexCache(self.store, self.id, self.name, config, self.spec.dim, self.index.path)
        self.index.rebuild()


def _document(r: tuple) -> Document:
    span = (r[4], r[5]) if r[4] is not None else None
    return Document(r[0], r[1], loads_metadata(r[2]), r[7], r[3], span, r[6])


def _hit(row_id: int, row: tuple, score: float) -> Hit:
    """A Hit from Store.rows()'s (doc_id, text, metadata, parent_id, span_start, span_end, source)."""
    span = (row[4], row[5]) if row[4] is not None else None
    return Hit(row[0], score, row[1], loads_metadata(row[2]), row[3], span, row[6], row_id)
