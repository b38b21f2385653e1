"""Inverted-file index (IVF-Flat, IVF-SQ or IVF-PQ). Searched exactly until enough vectors exist to train
the coarse quantiser; trained at the next search or save, and retrained (rebuilt from SQLite by the
collection) once the collection has grown `retrain_growth` times past the size it was trained at."""
from __future__ import annotations

import math

import faiss
import numpy as np

from ..errors import InvalidArgument
from .faissbase import BYTES_PER_DIM, DTYPES, FaissIndex


class IVFIndex(FaissIndex):
    name = "ivf"
    LAZY_TRAIN = True
    PARAMS = {"dtype": (str, "float32"), "nlist": (int, 0), "nprobe": (int, 0), "pq": (int, 0), "pq_bits": (int, 8),
              "min_train": (int, 10_000), "train_size": (int, 200_000), "retrain_growth": (float, 4.0)}

    def __init__(self, dim: int, **params):
        super().__init__(dim, **params)
        if self.p["pq"]:
            if not 1 <= self.p["pq_bits"] <= 16:
                raise InvalidArgument("index: pq_bits must be between 1 and 16", argument="index")
            if dim % self.p["pq"]:
                raise InvalidArgument(f"index: pq ({self.p['pq']}) must divide the dimension {dim}", argument="index")
            if self.p["dtype"] != "float32":
                raise InvalidArgument("index: pq stores its own codes; leave dtype as float32", argument="index")

    def nlist_for(self, n: int) -> int:
        return self.p["nlist"] or int(min(65536, max(1, 4 * math.sqrt(n))))

    def train_threshold(self, n: int) -> int:
        need = 39 * self.nlist_for(n)  # FAISS wants ~39 points per centroid
        if self.p["pq"]:
            need = max(need, 39 * 2 ** self.p["pq_bits"])
        return max(self.p["min_train"], need, 1)

    def _build(self, n: int) -> faiss.Index:
        store = f"PQ{self.p['pq']}x{self.p['pq_bits']}" if self.p["pq"] else DTYPES[self.p["dtype"]]
        index = faiss.index_factory(self.dim, f"IVF{self.nlist_for(n)},{store}", faiss.METRIC_INNER_PRODUCT)
        if self.p["pq"]:
            index.do_polysemous_training = False  # only helps Hamming filtering, which we do not use
        return index

    @property
    def nlist(self) -> int:
        return faiss.extract_index_ivf(self.index).nlist if self.index is not None else 0

    def nprobe0(self) -> int:
        return min(self.nlist, self.p["nprobe"] or max(8, self.nlist // 32))

    def _search_params(self, level, k, sel):
        nprobe = self.nprobe0() * (2 ** level)
        if level > 0 and nprobe // 2 >= self.nlist:
            return None  # every list was already scanned
        p = faiss.SearchParametersIVF()
        p.nprobe = int(min(nprobe, self.nlist))
        if sel is not None:
            p.sel = sel
        return p

    def _live_in_index(self) -> np.ndarray:
        inv = faiss.extract_index_ivf(self.index).invlists
        parts = [faiss.rev_swig_ptr(inv.get_ids(i), inv.list_size(i)).copy()
                 for i in range(inv.nlist) if inv.list_size(i)]
        return np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, np.int64)

    def needs_rebuild(self) -> bool:
        grow = self.p["retrain_growth"]
        return bool(self.index is not None and grow and self.trained_count
                    and len(self) >= grow * self.trained_count)

    def index_memory(self) -> int:
        code = self.p["pq"] if self.p["pq"] else self.dim * BYTES_PER_DIM[self.p["dtype"]]
        return int(self.index.ntotal * (code + 8) + self.nlist * self.dim * 4)

    def stats(self) -> dict:
        out = super().stats()
        if self.index is not None:
            out.update(nlist=self.nlist, nprobe=self.nprobe0(), trained_at=self.trained_count)
        return out
