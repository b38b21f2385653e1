"""The Embedder interface: texts in, L2-normalised float32 vectors out."""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Callable, Sequence

import numpy as np

from ..spec import EmbeddingSpec

Progress = Callable[[int], None]  # called with the number of texts just finished


class Embedder(ABC):
    spec: EmbeddingSpec

    @property
    def dim(self) -> int:
        return self.spec.dim

    @abstractmethod
    def embed_documents(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        """Embed documents (document template applied). Returns (n, dim) float32."""

    @abstractmethod
    def embed_queries(self, queries: Sequence[str], task: str | None = None) -> np.ndarray:
        """Embed queries with the spec's instruction template. Returns (n, dim) float32."""

    @abstractmethod
    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Tokens each text takes after truncation (special tokens included)."""
