"""Exact search: IndexIDMap2 over IndexFlatIP."""
from __future__ import annotations

import faiss
import numpy as np

from .base import VectorIndex, as_f32, as_ids, selector


class FlatIndex(VectorIndex):
    name = "flat"

    def __init__(self, dim: int, _index=None, **params):
        super().__init__(dim, **params)
        self.index = _index if _index is not None else faiss.IndexIDMap2(faiss.IndexFlatIP(dim))

    def add(self, ids, vectors) -> None:
        if len(ids):
            self.index.add_with_ids(as_f32(vectors), as_ids(ids))

    def remove(self, ids) -> None:
        if len(ids):
            self.index.remove_ids(faiss.IDSelectorBatch(as_ids(ids)))

    def search(self, queries, k, allowed=None):
        q = as_f32(queries)
        if allowed is not None and len(allowed) == 0 or len(self) == 0:
            return np.full((len(q), k), -np.inf, np.float32), np.full((len(q), k), -1, np.int64)
        sel = selector(allowed)
        params = faiss.SearchParameters(sel=sel) if sel is not None else None
        return self.index.search(q, k, params=params)

    def __len__(self) -> int:
        return self.index.ntotal

    def ids(self) -> np.ndarray:
        return faiss.vector_to_array(self.index.id_map).astype(np.int64)

    def to_bytes(self) -> bytes:
        return faiss.serialize_index(self.index).tobytes()

    @classmethod
    def from_bytes(cls, data: bytes, dim: int, **params) -> "FlatIndex":
        return cls(dim, _index=faiss.deserialize_index(np.frombuffer(data, dtype=np.uint8)), **params)
