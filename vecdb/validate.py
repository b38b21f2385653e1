"""Input checks at the boundary. Each error names the bad argument (and item)."""
from __future__ import annotations

import json
import math
import re
from typing import Any, Sequence

from .errors import InvalidArgument
from .limits import MAX_ID_CHARS as MAX_ID_LEN
from .limits import MAX_K

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}$")


STAGING_PREFIX = "__reembed__"  # a reembed's staging collection: visible, droppable, not creatable


def collection_name(name: Any, allow_internal: bool = False) -> str:
    if allow_internal and isinstance(name, str) and name.startswith(STAGING_PREFIX):
        collection_name(name[len(STAGING_PREFIX):])
        return name
    if not isinstance(name, str) or not NAME_RE.fullmatch(name) or ".." in name:
        raise InvalidArgument(f"name: invalid collection name {name!r}; use 1-128 letters, digits, '_', '-', '.', "
                              "starting with a letter or digit", argument="name")
    return name


def texts(values: Any, argument: str = "texts") -> list[str]:
    if isinstance(values, str):
        values = [values]
    if not isinstance(values, (list, tuple)):
        raise InvalidArgument(f"{argument}: must be a string or a list of strings, got {type(values).__name__}",
                              argument=argument)
    for i, t in enumerate(values):
        if not isinstance(t, str):
            raise InvalidArgument(f"{argument}[{i}]: must be a string, got {type(t).__name__}", argument=argument)
        if not t.strip():
            at = argument if argument == "query" else f"{argument}[{i}]"
            raise InvalidArgument(f"{at}: empty or whitespace-only text", argument=argument)
        if "\x00" in t:
            raise InvalidArgument(f"{argument}[{i}]: contains a NUL character", argument=argument)
    return list(values)


def ids(values: Any, n: int | None = None, argument: str = "ids", allow_none: bool = False) -> list[str]:
    if isinstance(values, str):
        values = [values]
    if not isinstance(values, (list, tuple)):
        raise InvalidArgument(f"{argument}: must be a list of strings, got {type(values).__name__}", argument=argument)
    if n is not None and len(values) != n:
        raise InvalidArgument(f"{argument}: got {len(values)} ids for {n} texts", argument=argument)
    seen: dict[str, int] = {}
    for i, v in enumerate(values):
        if v is None and allow_none:
            continue
        if not isinstance(v, str):
            raise InvalidArgument(f"{argument}[{i}]: ids must be strings, got {type(v).__name__} {v!r}",
                                  argument=argument)
        if not v.strip() or len(v) > MAX_ID_LEN or "\x00" in v:
            raise InvalidArgument(f"{argument}[{i}]: ids must be non-empty strings of at most {MAX_ID_LEN} characters",
                                  argument=argument)
        if v in seen:
            raise InvalidArgument(f"{argument}[{i}]: duplicate id {v!r} (also at position {seen[v]})",
                                  argument=argument)
        seen[v] = i
    return list(values)


def metadata(values: Any, n: int, argument: str = "metadata") -> list[dict | None]:
    if values is None:
        return [None] * n
    if isinstance(values, dict):
        values = [values] * n
    if not isinstance(values, (list, tuple)):
        raise InvalidArgument(f"{argument}: must be a JSON object or a list of them, got {type(values).__name__}",
                              argument=argument)
    if len(values) != n:
        raise InvalidArgument(f"{argument}: got {len(values)} entries for {n} texts", argument=argument)
    for i, m in enumerate(values):
        if m is None:
            continue
        if not isinstance(m, dict):
            raise InvalidArgument(f"{argument}[{i}]: must be a JSON object, got {type(m).__name__}", argument=argument)
        try:
            _check_json(m, f"{argument}[{i}]")
            json.dumps(m, allow_nan=False)
        except (TypeError, ValueError) as e:
            raise InvalidArgument(f"{argument}[{i}]: not JSON-serialisable ({e})", argument=argument) from None
    return list(values)


def _check_json(v: Any, at: str) -> None:
    if isinstance(v, dict):
        for k, x in v.items():
            if not isinstance(k, str):
                raise InvalidArgument(f"{at}: keys must be strings, got {type(k).__name__}", argument="metadata")
            _check_json(x, f"{at}.{k}")
    elif isinstance(v, (list, tuple)):
        for i, x in enumerate(v):
            _check_json(x, f"{at}[{i}]")
    elif isinstance(v, float) and not math.isfinite(v):
        raise InvalidArgument(f"{at}: numbers must be finite", argument="metadata")
    elif not (v is None or isinstance(v, (str, int, float, bool))):
        raise InvalidArgument(f"{at}: {type(v).__name__} is not a JSON value", argument="metadata")


def k(value: Any, argument: str = "k") -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise InvalidArgument(f"{argument}: must be a positive integer, got {value!r}", argument=argument)
    if value > MAX_K:
        raise InvalidArgument(f"{argument}: at most {MAX_K}, got {value}", argument=argument)
    return value


def queries(values: Any, argument: str = "query") -> list[str]:
    return texts(values, argument)


def nonempty_list(values: Sequence, argument: str) -> None:
    if not values:
        raise InvalidArgument(f"{argument}: must not be empty", argument=argument)
