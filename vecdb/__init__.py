"""vecdb: a vector search database with a built-in LLM embedder."""
from __future__ import annotations

import os

from .collection import Collection
from .database import Database
from .embed import DEFAULT_MODEL, PRESETS, Embedder, EmbedderOptions, Pooling, load_embedder
from .errors import (CollectionExists, CollectionNotFound, InvalidArgument, InvalidFilter, LimitExceeded,
                     ModelNotAvailable, NotFound, SpecMismatch, StorageError, Unsupported, VecdbError)
from .records import AddResult, Document, Hit
from .spec import EmbeddingSpec

__version__ = "0.1.0"


def open(path: str | os.PathLike, device: str | None = None, backend: str | None = None,  # noqa: A001
         create: bool = True) -> Database:
    """Open (or create) a database: a local directory, or milvus://host:port, milvus-lite://PATH
    (see vecdb/backends.py for the registry). With create=False a missing local database is an error."""
    from .backends import open_database

    return open_database(path, device=device, backend=backend, create=create)


__all__ = ["open", "Database", "Collection", "Hit", "Document", "AddResult", "EmbeddingSpec", "Embedder",
           "EmbedderOptions", "Pooling", "PRESETS", "DEFAULT_MODEL", "load_embedder", "VecdbError",
           "InvalidArgument", "InvalidFilter", "LimitExceeded", "NotFound", "CollectionNotFound", "CollectionExists",
           "ModelNotAvailable", "SpecMismatch", "StorageError", "Unsupported"]
