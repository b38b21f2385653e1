"""IndexCache: a collection's FAISS index kept in step with SQLite.

SQLite is the truth. Every committed batch bumps the collection's change counter; the index is
stamped with the last change it holds, caught up from SQLite (rows and tombstones newer than its
stamp) before each search, rebuilt when the database went back in time, and saved atomically.
"""
from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from ..errors import CollectionNotFound
from ..index import VectorIndex, create_index, persist
from ..store import BatchResult, Store

AUTOSAVE_ROWS = 100_000


class IndexCache:
    def __init__(self, store: Store, collection_id: int, name: str, config: dict, dim: int, path: Path):
        self.store, self.cid, self.name = store, collection_id, name
        self.config, self.dim, self.path = config, dim, path
        self.index: VectorIndex | None = None
        self.stamp = -1
        self.unsaved = 0
        self.lock = threading.RLock()

    def _last_seq(self) -> int:
        last = self.store.last_seq(self.cid)
        if last is None:
            raise CollectionNotFound(f"collection: {self.name!r} no longer exists (dropped or re-embedded); "
                                     "open it again", argument="collection")
        return last

    def _ensure(self) -> None:
        if self.index is not None:
            return
        loaded = persist.load(self.path, self.config, self.dim)
        if loaded is not None and loaded[1] <= self._last_seq():
            self.index, self.stamp = loaded
        else:
            self.index, self.stamp = create_index(self.config, self.dim), 0
            self.unsaved = 1
        self._catch_up()

    def sync(self) -> None:
        """Bring the in-memory index up to the last committed change."""
        with self.lock:
            self._ensure()
            last = self._last_seq()
            if last < self.stamp:  # the database went back in time: rebuild
                self.rebuild()
            elif last > self.stamp:
                self._catch_up()

    def _catch_up(self) -> None:
        for last, removed, ids, vecs in self.store.changes_since(self.cid, self.stamp, self.dim):
            self.index.remove(removed)
            self.index.add(ids, vecs)
            self.unsaved += len(removed) + len(ids)
            self.stamp = last

    def apply(self, res: BatchResult) -> None:
        """Apply a batch this process just committed (or catch up if others committed in between)."""
        if res.seq == res.prev_seq:
            return
        with self.lock:
            self._ensure()
            if self.stamp == res.prev_seq:
                self.index.remove(np.asarray(res.removed_ids, dtype=np.int64))
                if res.added_ids:
                    self.index.add(np.asarray(res.added_ids, np.int64), np.stack(res.added_vectors))
                self.stamp = res.seq
                self.unsaved += len(res.removed_ids) + len(res.added_ids)
            elif self.stamp < res.seq:
                self._catch_up()
            if self.index.needs_rebuild():
                self.rebuild()
            if self.unsaved >= AUTOSAVE_ROWS:
                self.save()

    def search(self, vectors: np.ndarray, k: int, allowed: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        with self.lock:
            self.sync()
            return self.index.search(vectors, k, allowed)

    def rebuild(self) -> None:
        with self.lock:
            self.index, self.stamp = create_index(self.config, self.dim), 0
            self._catch_up()
            self.unsaved = max(self.unsaved, 1)
            self.save()

    def save(self) -> None:
        """Write the index file if it holds unsaved changes."""
        with self.lock:
            if self.index is not None and self.unsaved:
                persist.save(self.path, self.index, self.stamp, self.config)
                self.unsaved = 0

    def forget(self) -> None:
        """Drop the in-memory index and its file (the collection is gone)."""
        with self.lock:
            self.index, self.unsaved = None, 0
            self.path.unlink(missing_ok=True)

    def ids(self) -> set[int]:
        with self.lock:
            self.sync()
            return set(self.index.ids().tolist())

    def stats(self) -> dict:
        with self.lock:
            self.sync()
            stats = self.index.stats()
        stats["file_bytes"] = self.path.stat().st_size if self.path.exists() else 0
        return stats
