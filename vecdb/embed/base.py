"""The Embedder interface: texts in, L2-normalised float32 vectors out."""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Callable, Sequence

import numpy as np

from ..errors import Unsupported
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
    def count_tokens(self, texts: Sequence[str], *, truncate: bool = True) -> list[int]:
        """Tokens each text takes (special tokens included): after truncation to spec.max_length,
        or with truncate=False as many as the whole text needs (more than max_length: it would be cut)."""

    # Token-id input (the OpenAI embeddings API's lists of ints): ids in the model's own vocabulary,
    # the tokens of a text without special tokens; the model's special tokens are added as for text.
    vocab_size: int | None = None  # ids must be below it; None: this embedder takes no token ids

    def count_token_ids(self, ids: Sequence[Sequence[int]], *, truncate: bool = True) -> list[int]:
        """Like count_tokens, for token-id input."""
        raise Unsupported(f"input: model {self.spec.model!r} does not take token ids; send text", argument="input")

    def embed_token_ids(self, ids: Sequence[Sequence[int]], kind: str = "document") -> np.ndarray:
        """Embed token-id input (cut to spec.max_length). Returns (n, dim) float32; an id outside the
        vocabulary raises InvalidArgument."""
        raise Unsupported(f"input: model {self.spec.model!r} does not take token ids; send text", argument="input")
