"""HNSW graph (FAISS IndexHNSWFlat / IndexHNSWSQ). Deletes are masked with an IDSelector; the collection
rebuilds the graph from SQLite once the deleted share passes `rebuild_deleted`."""
from __future__ import annotations

import faiss
import numpy as np

from .faissbase import BYTES_PER_DIM, DTYPES, FaissIndex


class HNSWIndex(FaissIndex):
    name = "hnsw"
    MASK_DELETES = True
    PARAMS = {"dtype": (str, "float32"), "M": (int, 32), "ef_construction": (int, 80), "ef_search": (int, 64),
              "rebuild_deleted": (float, 0.2)}

    def _build(self, n: int) -> faiss.Index:
        store = "" if self.p["dtype"] == "float32" else "," + DTYPES[self.p["dtype"]]
        inner = faiss.index_factory(self.dim, f"HNSW{max(2, self.p['M'])}{store}", faiss.METRIC_INNER_PRODUCT)
        inner.hnsw.efConstruction = max(1, self.p["ef_construction"])
        return faiss.IndexIDMap2(inner)

    def _search_params(self, level, k, sel):
        ef = max(self.p["ef_search"], k, 1) * (2 ** level)
        if level > 0 and ef // 2 >= self.index.ntotal:
            return None  # the previous attempt already allowed the whole graph
        p = faiss.SearchParametersHNSW()
        p.efSearch = int(min(ef, max(self.index.ntotal, k)))
        if sel is not None:
            p.sel = sel
        return p

    def _reconstruct(self, ids: np.ndarray) -> np.ndarray:
        return np.vstack([self.index.reconstruct(int(i)) for i in ids])

    def index_memory(self) -> int:
        inner = faiss.downcast_index(self.index.index)
        links = inner.hnsw.neighbors.size() * 4 + inner.hnsw.levels.size() * 4 + inner.hnsw.offsets.size() * 8
        return int(self.index.ntotal * (self.dim * BYTES_PER_DIM[self.p["dtype"]] + 8 + 32) + links)
