"""Index registry: name -> VectorIndex class."""
from __future__ import annotations

from ..errors import InvalidArgument
from .base import VectorIndex
from .flat import FlatIndex

INDEX_TYPES: dict[str, type[VectorIndex]] = {"flat": FlatIndex}


def index_class(name: str) -> type[VectorIndex]:
    try:
        return INDEX_TYPES[name]
    except KeyError:
        raise InvalidArgument(f"index: unknown type {name!r}; valid types: {', '.join(INDEX_TYPES)}",
                              argument="index") from None


def create_index(config: dict, dim: int) -> VectorIndex:
    params = {k: v for k, v in config.items() if k != "type"}
    return index_class(config.get("type", "flat"))(dim, **params)


__all__ = ["VectorIndex", "INDEX_TYPES", "index_class", "create_index"]
