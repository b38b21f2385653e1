"""ExternalEmbedder: vectors made outside vecdb (a LangChain Embeddings object, a hosted API).

Its spec records the model as `external:<name>` with a hash of what identifies it, so a collection
made with it refuses vecdb's own models (and any other external embedder) with SpecMismatch, and
vecdb never tries to load it by name: the caller must hand the same embedder in again."""
from __future__ import annotations

import hashlib
import json
import re
from typing import Callable, Sequence

import numpy as np

from ..errors import InvalidArgument, ModelNotAvailable
from ..spec import EmbeddingSpec
from .base import Embedder, Progress

PREFIX = "external:"
POOLING = "external"  # recorded in the spec's pooling field: the pooling is the external model's
_PIECES = re.compile(r"\w+|[^\w\s]", re.UNICODE)

EmbedMany = Callable[[list[str]], Sequence[Sequence[float]]]
EmbedOne = Callable[[str], Sequence[float]]


def is_external(spec: EmbeddingSpec) -> bool:
    return spec.model.startswith(PREFIX)


def refuse_loading(spec: EmbeddingSpec) -> None:
    """Raise ModelNotAvailable for a spec vecdb cannot load by itself (an external embedder's)."""
    if is_external(spec):
        raise ModelNotAvailable(f"model: this collection was embedded by an external embedder "
                                f"({spec.model[len(PREFIX):]}); pass the same embedder again to use it",
                                argument="model")


def identity_hash(identity) -> str:
    """A stable hash of what identifies an external model (its class and settings, as JSON)."""
    text = json.dumps(identity, sort_keys=True, default=str, separators=(",", ":"))
    return PREFIX + hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


class ExternalEmbedder(Embedder):
    """An Embedder over two callables: many documents -> vectors, one query -> vector.

    `name` and `identity` (any JSON-able value: class, model name, dimensions) make the spec; two
    embedders with the same name and identity are taken to make the same vectors. Vectors are
    L2-normalised, as vecdb's cosine search expects. Without `dim`, one probe text is embedded."""

    def __init__(self, name: str, embed_documents: EmbedMany, embed_query: EmbedOne | None = None, *,
                 identity=None, dim: int | None = None):
        if not isinstance(name, str) or not name.strip():
            raise InvalidArgument("name: an external embedder needs a non-empty name", argument="name")
        self._documents = embed_documents
        self._query = embed_query or (lambda text: embed_documents([text])[0])
        if dim is None:
            dim = len(self._documents(["dimension probe"])[0])
        if isinstance(dim, bool) or not isinstance(dim, int) or dim <= 0:
            raise InvalidArgument(f"dim: must be a positive integer, got {dim!r}", argument="dim")
        self.spec = EmbeddingSpec(model=PREFIX + name, weights_hash=identity_hash([name, identity]),
                                  pooling=POOLING, dim=dim)

    def embed_documents(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        out = self._matrix(self._documents(list(texts)) if texts else [], len(texts))
        if progress:
            progress(len(texts))
        return out

    def embed_queries(self, queries: Sequence[str], task: str | None = None) -> np.ndarray:
        return self._matrix([self._query(q) for q in queries], len(queries))

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """An estimate (words and punctuation marks): the external model's tokenizer is not known here."""
        return [len(_PIECES.findall(t)) for t in texts]

    def _matrix(self, rows, n: int) -> np.ndarray:
        if n == 0:
            return np.zeros((0, self.spec.dim), np.float32)
        m = np.asarray(rows, dtype=np.float32)
        if m.shape != (n, self.spec.dim) or not np.isfinite(m).all():
            raise InvalidArgument(f"embedding: the external embedder returned shape {m.shape}, expected "
                                  f"({n}, {self.spec.dim}) finite values", argument="embedding")
        norms = np.linalg.norm(m, axis=1, keepdims=True)
        return m / np.where(norms == 0, 1.0, norms)
