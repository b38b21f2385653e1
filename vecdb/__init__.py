"""vecdb: a vector search database with a built-in LLM embedder.

The names below load on first use, so `import vecdb` (and `vecdb --help`) stays cheap: SQLAlchemy and
FAISS load with the first database, torch and transformers with the first model."""
from __future__ import annotations

import importlib
import os
from typing import TYPE_CHECKING

from .errors import (CollectionExists, CollectionNotFound, InvalidArgument, InvalidFilter, LimitExceeded,
                     ModelNotAvailable, NotFound, SpecMismatch, StorageError, Unsupported, VecdbError)

if TYPE_CHECKING:
    from .database import Database

__version__ = "0.1.0"

_LAZY = {
    "Database": ".database", "Collection": ".collection", "Hit": ".records", "Document": ".records",
    "AddResult": ".records", "EmbeddingSpec": ".spec", "Embedder": ".embed", "EmbedderOptions": ".embed",
    "Pooling": ".embed", "PRESETS": ".embed", "DEFAULT_MODEL": ".embed", "load_embedder": ".embed",
}


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


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
