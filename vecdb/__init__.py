"""vecdb: a vector search database with a built-in LLM embedder.

The names below load on first use, so `import vecdb` (and `vecdb --help`) stays cheap: SQLAlchemy and
FAISS load with the first Database, torch and transformers with the first model."""
from __future__ import annotations

import importlib
import os

from .errors import (CollectionExists, CollectionNotFound, InvalidArgument, InvalidFilter, ModelNotAvailable,
                     NotFound, SpecMismatch, StorageError, VecdbError)

__version__ = "0.1.0"

_LAZY = {
    "Database": ".database", "Collection": ".collection", "Hit": ".collection", "Document": ".collection",
    "AddResult": ".collection", "EmbeddingSpec": ".spec", "Embedder": ".embed", "EmbedderOptions": ".embed",
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
    from .database import Database

    return Database(path, device=device)


__all__ = ["open", "Database", "Collection", "Hit", "Document", "AddResult", "EmbeddingSpec", "Embedder",
           "EmbedderOptions", "Pooling", "PRESETS", "DEFAULT_MODEL", "load_embedder", "VecdbError",
           "InvalidArgument", "InvalidFilter", "NotFound", "CollectionNotFound", "CollectionExists",
           "ModelNotAvailable", "SpecMismatch", "StorageError"]
