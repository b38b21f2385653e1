"""Index registry: name -> VectorIndex class."""
from __future__ import annotations

from ..errors import InvalidArgument
from .base import VectorIndex
from .faissbase import check_params
from .flat import FlatIndex
from .hnsw import HNSWIndex
from .ivf import IVFIndex

INDEX_TYPES: dict[str, type[VectorIndex]] = {"flat": FlatIndex, "hnsw": HNSWIndex, "ivf": IVFIndex}


def index_class(name: str) -> type[VectorIndex]:
    try:
        return INDEX_TYPES[name]
    except KeyError:
        raise InvalidArgument(f"index: unknown type {name!r}; valid types: {', '.join(INDEX_TYPES)}",
                              argument="index") from None


def parse_config(index: str | dict) -> dict:
    """'hnsw,M=32,dtype=int8' or {"type": "hnsw", "M": 32} -> a validated config dict."""
    if isinstance(index, dict):
        config = dict(index)
    elif isinstance(index, str):
        head, *rest = [p.strip() for p in index.split(",") if p.strip()] or ["flat"]
        config = {"type": head}
        for part in rest:
            key, eq, value = part.partition("=")
            if not eq or not key.strip():
                raise InvalidArgument(f"index: expected key=value after the type, got {part!r}", argument="index")
            config[key.strip()] = _scalar(value.strip())
    else:
        raise InvalidArgument(f"index: must be a type name or a dict, got {type(index).__name__}", argument="index")
    cls = index_class(config.get("type", "flat"))
    check_params(cls.name, cls.PARAMS, {k: v for k, v in config.items() if k != "type"})
    return config


def _scalar(value: str):
    for cast in (int, float):
        try:
            return cast(value)
        except ValueError:
            pass
    return value


def create_index(config: dict, dim: int) -> VectorIndex:
    params = {k: v for k, v in config.items() if k != "type"}
    return index_class(config.get("type", "flat"))(dim, **params)


__all__ = ["VectorIndex", "INDEX_TYPES", "index_class", "create_index", "parse_config"]
