"""The backend registry: which Database class a location opens with.

    vecdb.open("path/to/dir")                  local: SQLite + FAISS (vecdb/local)
    vecdb.open("milvus://host:19530")          a Milvus server; milvus-lite://PATH for Milvus Lite
    vecdb.open(uri, backend="milvus")          a backend by name

A backend registers a name, the module:class that implements vecdb.database.Database, and a test
that says whether it claims a location by its form. The class is imported only when used.
"""
from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from typing import Callable

from .errors import InvalidArgument


@dataclass(frozen=True)
class Backend:
    name: str
    target: str                          # "package.module:Class"
    claims: Callable[[str], bool]        # does a location of this form belong to this backend?

    def load(self):
        module, _, cls = self.target.partition(":")
        return getattr(importlib.import_module(module), cls)


BACKENDS: dict[str, Backend] = {}


def register(name: str, target: str, claims: Callable[[str], bool] = lambda location: False) -> None:
    BACKENDS[name] = Backend(name, target, claims)


def _is_milvus(location: str) -> bool:
    return location.startswith(("milvus://", "milvus+http://", "milvus+https://", "milvus-lite://"))


register("local", "vecdb.local.database:LocalDatabase")
register("milvus", "vecdb.milvus.database:MilvusDatabase", _is_milvus)


def choose(location: str, backend: str | None = None) -> Backend:
    if backend is not None:
        if backend not in BACKENDS:
            raise InvalidArgument(f"backend: unknown backend {backend!r}; valid: {', '.join(BACKENDS)}",
                                  argument="backend")
        return BACKENDS[backend]
    for b in BACKENDS.values():
        if b.claims(location):
            return b
    return BACKENDS["local"]


def open_database(path: str | os.PathLike, device: str | None = None, backend: str | None = None,
                  create: bool = True):
    """Open the database at `path` with the backend its form names (or `backend`).

    With create=False, a local path that holds no database is an error instead of a new database."""
    if not isinstance(path, (str, os.PathLike)) or not str(path).strip():
        raise InvalidArgument("path: must be a directory path or a database URI", argument="path")
    location = os.fspath(path)
    return choose(location, backend).load()(location, device=device, create=create)
