"""vecdb: a vector search database with a built-in LLM embedder."""
from __future__ import annotations

import os

from .collection import AddResult, Collection, Document, Hit
from .database import Database
from .embed import DEFAULT_MODEL, PRESETS, Embedder, EmbedderOptions, Pooling, load_embedder
from .errors import (CollectionExists, CollectionNotFound, InvalidArgument, InvalidFilter, ModelNotAvailable,
                     NotFound, SpecMismatch, StorageError, VecdbError)
from .spec import EmbeddingSpec

__version__ = "0.1.0"


def open(path: str | os.PathLike, device: str | None = None, backend: str | None = None):  # noqa: A001
    """Open (or create) the database in directory `path`, or a Milvus one for a milvus:// or
    milvus-lite:// URI (or any URI with backend="milvus"); see vecdb/milvus/uri.py."""
    from .milvus.uri import is_milvus

    if backend not in (None, "local", "milvus"):
        raise InvalidArgument(f"backend: unknown backend {backend!r}; valid: local, milvus", argument="backend")
    if backend == "milvus" or is_milvus(str(path)):
        from .milvus.store import MilvusDatabase
        from .milvus.uri import parse

        return MilvusDatabase(parse(str(path), backend), device=device)
    return Database(path, device=device)


__all__ = ["open", "Database", "Collection", "Hit", "Document", "AddResult", "EmbeddingSpec", "Embedder",
           "EmbedderOptions", "Pooling", "PRESETS", "DEFAULT_MODEL", "load_embedder", "VecdbError",
           "InvalidArgument", "InvalidFilter", "NotFound", "CollectionNotFound", "CollectionExists",
           "ModelNotAvailable", "SpecMismatch", "StorageError"]
