"""Shared machinery for the FAISS index types: parameters, storage dtype, training, filtered search.

Trainable storage (int8 scalar quantisation, IVF) keeps vectors in an exact float32 buffer until enough
exist to train; until then searches are exact. Filtered searches pass an IDSelector inside the search
parameters and widen the search (efSearch, nprobe) until k hits come back when k ids match."""
from __future__ import annotations

import io
from contextlib import contextmanager
from typing import Any, ClassVar

import faiss
import numpy as np

from ..errors import InvalidArgument
from .base import VectorIndex, as_f32, as_ids

DTYPES = {"float32": "Flat", "float16": "SQfp16", "int8": "SQ8"}
BYTES_PER_DIM = {"float32": 4, "float16": 2, "int8": 1}
# Below this many (queries x vectors) a search runs on one FAISS thread: the work is too small to split,
# and FAISS's OpenMP pool would otherwise spin on the cores that torch embeds the next query on.
SINGLE_THREAD_WORK = 2_000_000


@contextmanager
def omp_threads(n: int | None):
    """FAISS's OpenMP thread count for the calling thread, restored afterwards (None: unchanged)."""
    if n is None:
        yield
        return
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(n)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(before)


def check_params(name: str, spec: dict[str, tuple[type, Any]], params: dict) -> dict:
    """Params merged over defaults; unknown names, wrong types and bad dtypes raise InvalidArgument."""
    out = {k: d for k, (_, d) in spec.items()}
    for k, v in params.items():
        if k not in spec:
            raise InvalidArgument(f"index: {name} has no parameter {k!r}; valid: {', '.join(spec)}", argument="index")
        typ = spec[k][0]
        if typ is float and isinstance(v, int) and not isinstance(v, bool):
            v = float(v)
        if not isinstance(v, typ) or isinstance(v, bool):
            raise InvalidArgument(f"index: {k} must be {typ.__name__}, got {v!r}", argument="index")
        if typ in (int, float) and v < 0:
            raise InvalidArgument(f"index: {k} must not be negative, got {v!r}", argument="index")
        out[k] = v
    if out.get("dtype", "float32") not in DTYPES:
        raise InvalidArgument(f"index: dtype must be one of {', '.join(DTYPES)}, got {out['dtype']!r}",
                              argument="index")
    return out


class FaissIndex(VectorIndex):
    """Subclasses set PARAMS and implement _build, _search_params and (optionally) the hooks below."""

    PARAMS: ClassVar[dict[str, tuple[type, Any]]] = {"dtype": (str, "float32")}
    LAZY_TRAIN: ClassVar[bool] = False   # train at first search/save rather than as soon as possible
    MASK_DELETES: ClassVar[bool] = False  # the FAISS index cannot remove ids

    def __init__(self, dim: int, **params):
        super().__init__(dim, **params)
        self.p = check_params(self.name, self.PARAMS, params)
        self.index: faiss.Index | None = None
        self.trained_count = 0
        self._buf_ids: list[np.ndarray] = []
        self._buf_vecs: list[np.ndarray] = []
        self._buf_n = 0
        self.deleted = np.zeros(0, np.int64)  # masked ids (sorted), MASK_DELETES types only
        if self.train_threshold(0) == 0:
            self._train(np.zeros((0, dim), np.float32))

    # ---- hooks -----------------------------------------------------------
    def _build(self, n: int) -> faiss.Index:
        """A new (untrained) index sized for n vectors."""
        raise NotImplementedError

    def _search_params(self, level: int, k: int, sel) -> faiss.SearchParameters | None:
        """Parameters for the level-th (ever wider) attempt; None when no wider search exists."""
        raise NotImplementedError

    def train_threshold(self, n: int) -> int:
        """Vectors needed before training (0: needs none)."""
        return 0 if self.p["dtype"] != "int8" else 1000

    def _live_in_index(self) -> np.ndarray:
        return faiss.vector_to_array(self.index.id_map).astype(np.int64)

    def _remove_trained(self, ids: np.ndarray) -> None:
        self.index.remove_ids(faiss.IDSelectorBatch(ids))

    def _reconstruct(self, ids: np.ndarray) -> np.ndarray | None:
        return None

    def index_memory(self) -> int:
        return 0

    # ---- training buffer ----------------------------------------------------
    def _buffer(self) -> tuple[np.ndarray, np.ndarray]:
        if len(self._buf_ids) > 1:
            self._buf_ids = [np.concatenate(self._buf_ids)]
            self._buf_vecs = [np.concatenate(self._buf_vecs)]
        if not self._buf_ids:
            return np.zeros(0, np.int64), np.zeros((0, self.dim), np.float32)
        return self._buf_ids[0], self._buf_vecs[0]

    def _train(self, vecs: np.ndarray) -> None:
        index = self._build(len(vecs))
        if not index.is_trained:
            size = int(self.p.get("train_size", 0)) or len(vecs)
            sample = vecs if len(vecs) <= size else \
                vecs[np.sort(np.random.default_rng(1234).choice(len(vecs), size, replace=False))]
            index.train(sample)
        self.index = index
        self.trained_count = len(vecs)

    def _maybe_train(self, lazy_ok: bool) -> None:
        if self.index is not None or not self._buf_n or (self.LAZY_TRAIN and not lazy_ok):
            return
        if self._buf_n < self.train_threshold(self._buf_n):
            return
        ids, vecs = self._buffer()
        self._train(vecs)
        self._add_trained(ids, vecs)
        self._buf_ids, self._buf_vecs, self._buf_n = [], [], 0

    def prepare(self) -> None:
        """Train now when enough vectors wait (otherwise the next search or save does it)."""
        self._maybe_train(lazy_ok=True)

    def _add_trained(self, ids: np.ndarray, vecs: np.ndarray) -> None:
        self.index.add_with_ids(vecs, ids)

    # ---- VectorIndex ----------------------------------------------------------
    def add(self, ids, vectors) -> None:
        if not len(ids):
            return
        ids, vecs = as_ids(ids), as_f32(vectors)
        if self.index is not None:
            self._add_trained(ids, vecs)
            return
        self._buf_ids.append(ids.copy())
        self._buf_vecs.append(vecs.copy())
        self._buf_n += len(ids)
        self._maybe_train(lazy_ok=False)

    def remove(self, ids) -> None:
        ids = as_ids(ids)
        if not len(ids):
            return
        if self._buf_n:
            b_ids, b_vecs = self._buffer()
            keep = ~np.isin(b_ids, ids)
            self._buf_ids, self._buf_vecs, self._buf_n = [b_ids[keep]], [b_vecs[keep]], int(keep.sum())
        if self.index is None or not self.index.ntotal:
            return
        if self.MASK_DELETES:
            present = ids[np.isin(ids, self._live_in_index())]
            self.deleted = np.union1d(self.deleted, present)
        else:
            self._remove_trained(ids)

    def __len__(self) -> int:
        n = self.index.ntotal if self.index is not None else 0
        return int(n - len(self.deleted) + self._buf_n)

    def ids(self) -> np.ndarray:
        parts = [self._buffer()[0]]
        if self.index is not None and self.index.ntotal:
            live = self._live_in_index()
            parts.append(live[~np.isin(live, self.deleted)] if len(self.deleted) else live)
        return np.concatenate(parts)

    def search(self, queries, k, allowed=None):
        with omp_threads(1 if len(queries) * max(len(self), 1) <= SINGLE_THREAD_WORK else None):
            return self._search(queries, k, allowed)

    def _search(self, queries, k, allowed):
        q = as_f32(queries)
        scores = np.full((len(q), k), -np.inf, np.float32)
        labels = np.full((len(q), k), -1, np.int64)
        if len(self) == 0 or (allowed is not None and len(allowed) == 0):
            return scores, labels
        self._maybe_train(lazy_ok=True)
        if self.index is None:
            return self._exact(q, k, *self._buffer(), allowed)
        allowed_arr = None if allowed is None else as_ids(allowed)
        target = min(k, len(self) if allowed_arr is None else len(allowed_arr))
        keep = []  # SWIG selectors must outlive the search
        if allowed_arr is not None:
            sel = faiss.IDSelectorBatch(allowed_arr)
        elif len(self.deleted):
            keep.append(faiss.IDSelectorBatch(self.deleted))
            sel = faiss.IDSelectorNot(keep[-1])
        else:
            sel = None
        todo, level = np.arange(len(q)), 0
        while len(todo):
            params = self._search_params(level, k, sel)
            if params is None:
                break
            s, i = self.index.search(q[todo], k, params=params)
            scores[todo], labels[todo] = s, i
            todo = todo[(i >= 0).sum(1) < target]
            level += 1
        if len(todo) and allowed_arr is not None:  # last resort: exact over the allowed vectors
            live = self._live_in_index()
            present = allowed_arr[np.isin(allowed_arr, live) & ~np.isin(allowed_arr, self.deleted)]
            vecs = self._reconstruct(present) if len(present) else None
            if vecs is not None:
                scores[todo], labels[todo] = self._exact(q[todo], k, present, vecs, None)
        return scores, labels

    @staticmethod
    def _exact(q, k, ids, vecs, allowed):
        if allowed is not None:
            m = np.isin(ids, allowed)
            ids, vecs = ids[m], vecs[m]
        scores = np.full((len(q), k), -np.inf, np.float32)
        labels = np.full((len(q), k), -1, np.int64)
        if not len(ids):
            return scores, labels
        sims = q @ vecs.T
        kk = min(k, len(ids))
        top = np.argpartition(-sims, kk - 1, axis=1)[:, :kk]
        order = np.take_along_axis(sims, top, 1).argsort(1)[:, ::-1]
        top = np.take_along_axis(top, order, 1)
        scores[:, :kk] = np.take_along_axis(sims, top, 1)
        labels[:, :kk] = ids[top]
        return scores, labels

    # ---- maintenance ------------------------------------------------------------
    def deleted_share(self) -> float:
        n = self.index.ntotal if self.index is not None else 0
        return len(self.deleted) / n if n else 0.0

    def needs_rebuild(self) -> bool:
        limit = self.p.get("rebuild_deleted")
        return bool(limit) and self.deleted_share() > limit

    def memory_bytes(self) -> int:
        buf = self._buf_n * self.dim * 4 + self._buf_n * 8
        return int(buf + (self.index_memory() if self.index is not None else 0) + len(self.deleted) * 8)

    def stats(self) -> dict:
        return {"type": self.name, "dtype": self.p["dtype"], "vectors": len(self),
                "trained": self.index is not None, "deleted_share": round(self.deleted_share(), 4),
                "memory_bytes": self.memory_bytes(),
                **{k: v for k, v in self.p.items() if k != "dtype"}}

    # ---- persistence ---------------------------------------------------------------
    def to_bytes(self) -> bytes:
        self._maybe_train(lazy_ok=True)
        ids, vecs = self._buffer()
        body = faiss.serialize_index(self.index) if self.index is not None else np.zeros(0, np.uint8)
        buf = io.BytesIO()
        np.savez(buf, index=body, has_index=np.array(self.index is not None), buf_ids=ids, buf_vecs=vecs,
                 deleted=self.deleted, trained_count=np.array(self.trained_count))
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes, dim: int, **params) -> "FaissIndex":
        self = cls(dim, **params)
        if not data.startswith(b"PK"):  # a bare FAISS index (files written before index types existed)
            self.index = faiss.deserialize_index(np.frombuffer(data, dtype=np.uint8))
            return self
        z = np.load(io.BytesIO(data))
        self.index = faiss.deserialize_index(z["index"]) if bool(z["has_index"]) else None
        if len(z["buf_ids"]):
            self._buf_ids, self._buf_vecs, self._buf_n = [z["buf_ids"]], [z["buf_vecs"]], len(z["buf_ids"])
        self.deleted = z["deleted"].astype(np.int64)
        self.trained_count = int(z["trained_count"])
        return self
