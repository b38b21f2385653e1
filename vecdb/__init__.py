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


def open(path: str | os.PathLike, device: str | None = None) -> Database:  # noqa: A001 - the public name
    """Open (or create) the database in directory `path`."""
    return Database(path, device=device)


__all__ = ["open", "Database", "Collection", "Hit", "Document", "AddResult", "EmbeddingSpec", "Embedder",
           "EmbedderOptions", "Pooling", "PRESETS", "DEFAULT_MODEL", "load_embedder", "VecdbError",
           "InvalidArgument", "InvalidFilter", "NotFound", "CollectionNotFound", "CollectionExists",
           "ModelNotAvailable", "SpecMismatch", "StorageError"]
