"""VectorIndex: the interface every ANN backend implements. Ids are int64 row ids."""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

import faiss
import numpy as np


class VectorIndex(ABC):
    """Inner-product search over L2-normalised vectors (so scores are cosines)."""

    name: ClassVar[str]

    def __init__(self, dim: int, **params):
        self.dim = dim
        self.params = params

    @abstractmethod
    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None: ...

    @abstractmethod
    def remove(self, ids: np.ndarray) -> None: ...

    @abstractmethod
    def search(self, queries: np.ndarray, k: int, allowed: np.ndarray | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
        """(scores, ids), each (n_queries, k); missing slots have id -1.

        `allowed` restricts the search to those ids (a pre-filter inside FAISS)."""

    @abstractmethod
    def __len__(self) -> int: ...

    @abstractmethod
    def ids(self) -> np.ndarray:
        """Every live id in the index."""

    @abstractmethod
    def to_bytes(self) -> bytes: ...

    @classmethod
    @abstractmethod
    def from_bytes(cls, data: bytes, dim: int, **params) -> "VectorIndex": ...

    def stats(self) -> dict:
        return {"type": self.name, "vectors": len(self), "deleted_share": 0.0}

    def needs_rebuild(self) -> bool:
        return False


def selector(allowed: np.ndarray | None):
    if allowed is None:
        return None
    return faiss.IDSelectorBatch(np.ascontiguousarray(allowed, dtype=np.int64))


def as_f32(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(x, dtype=np.float32)


def as_ids(x) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(x, dtype=np.int64))
