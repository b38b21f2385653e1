"""Exact search: IndexIDMap2 over a flat store of float32, float16 or int8 (scalar quantised) codes."""
from __future__ import annotations

import faiss
import numpy as np

from .faissbase import BYTES_PER_DIM, DTYPES, FaissIndex


class FlatIndex(FaissIndex):
    name = "flat"

    def _build(self, n: int) -> faiss.Index:
        return faiss.IndexIDMap2(faiss.index_factory(self.dim, DTYPES[self.p["dtype"]], faiss.METRIC_INNER_PRODUCT))

    def _search_params(self, level, k, sel):
        if level > 0:
            return None  # exact: one pass always finds every match
        return faiss.SearchParameters(sel=sel) if sel is not None else faiss.SearchParameters()

    def _reconstruct(self, ids: np.ndarray) -> np.ndarray:
        return np.vstack([self.index.reconstruct(int(i)) for i in ids])

    def index_memory(self) -> int:
        return self.index.ntotal * (self.dim * BYTES_PER_DIM[self.p["dtype"]] + 8 + 32)  # codes, id_map, rev_map
