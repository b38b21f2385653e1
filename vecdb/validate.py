"""Input checks at the boundary. Each error names the bad argument (and item).

`documents()` is the one pass over an add's whole input, run before the first write: it checks
everything the store and the JSON encoder will need later (types, strict UTF-8, sizes, depths,
ids), so that after it passes a write fails only for reasons outside the input. A breach of a
limit in vecdb/limits.py raises LimitExceeded, naming the argument and the limit.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Sequence

from . import limits
from .chunking import check_sources
from .errors import InvalidArgument, LimitExceeded
from .limits import MAX_ID_CHARS as MAX_ID_LEN
from .limits import MAX_K
from .records import dumps_metadata

NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}")


STAGING_PREFIX = "__reembed__"  # a reembed's staging collection: visible and droppable
RETIRED_PREFIX = "__retired__"  # the old collection during a reembed's switch (left only by a kill on Milvus)


def over(at: str, what: str, limit: str, argument: str, hint: str = "") -> LimitExceeded:
    """The error for a breach of vecdb.limits.<limit>."""
    return LimitExceeded(f"{at}: {what}, over the limit of {getattr(limits, limit)} ({limit}){hint}",
                         argument=argument, limit=limit)


def collection_name(name: Any, allow_internal: bool = False) -> str:
    for prefix in (STAGING_PREFIX, RETIRED_PREFIX):
        if allow_internal and isinstance(name, str) and name.startswith(prefix):
            collection_name(name[len(prefix):])
            return name
    if not isinstance(name, str) or not NAME_RE.fullmatch(name) or ".." in name:
        raise InvalidArgument(f"name: invalid collection name {name!r}; use 1-128 letters, digits, '_', '-', '.', "
                              "starting with a letter or digit", argument="name")
    return name


def utf8(s: str, at: str, argument: str) -> None:
    """Refuse strings that cannot be stored as UTF-8 (lone surrogates)."""
    try:
        s.encode("utf-8")
    except UnicodeEncodeError as e:
        raise InvalidArgument(f"{at}: not valid Unicode (lone surrogate {s[e.start]!r} at character {e.start})",
                              argument=argument) from None


def texts(values: Any, argument: str = "texts", limit: str = "MAX_TEXT_CHARS", hint: str = "") -> list[str]:
    if isinstance(values, str):
        values = [values]
    if not isinstance(values, (list, tuple)):
        raise InvalidArgument(f"{argument}: must be a string or a list of strings, got {type(values).__name__}",
                              argument=argument)
    most = getattr(limits, limit)
    for i, t in enumerate(values):
        at = argument if argument == "query" else f"{argument}[{i}]"
        if not isinstance(t, str):
            raise InvalidArgument(f"{at}: must be a string, got {type(t).__name__}", argument=argument)
        if len(t) > most:
            raise over(at, f"{len(t)} characters", limit, argument, hint)
        if not t.strip():
            raise InvalidArgument(f"{at}: empty or whitespace-only text", argument=argument)
        if "\x00" in t:
            raise InvalidArgument(f"{at}: contains a NUL character", argument=argument)
        utf8(t, at, argument)
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
        if len(v) > MAX_ID_LEN:
            raise over(f"{argument}[{i}]", f"an id of {len(v)} characters", "MAX_ID_CHARS", argument)
        if not v.strip() or "\x00" in v:
            raise InvalidArgument(f"{argument}[{i}]: ids must be non-empty strings without NUL characters",
                                  argument=argument)
        utf8(v, f"{argument}[{i}]", argument)
        if v in seen:
            raise InvalidArgument(f"{argument}[{i}]: duplicate id {v!r} (also at position {seen[v]})",
                                  argument=argument)
        seen[v] = i
    return list(values)


def metadata(values: Any, n: int, argument: str = "metadata") -> list[str | None]:
    """Each document's metadata as the compact JSON text that is stored (None where there is none)."""
    if values is None:
        return [None] * n
    if isinstance(values, dict):
        values = [values] * n
    if not isinstance(values, (list, tuple)):
        raise InvalidArgument(f"{argument}: must be a JSON object or a list of them, got {type(values).__name__}",
                              argument=argument)
    if len(values) != n:
        raise InvalidArgument(f"{argument}: got {len(values)} entries for {n} texts", argument=argument)
    out: list[str | None] = []
    done: dict[int, str] = {}  # the same object given for every document is checked once
    for i, m in enumerate(values):
        if m is None:
            out.append(None)
        elif id(m) in done:
            out.append(done[id(m)])
        else:
            if not isinstance(m, dict):
                raise InvalidArgument(f"{argument}[{i}]: must be a JSON object, got {type(m).__name__}",
                                      argument=argument)
            done[id(m)] = _metadata_json(m, f"{argument}[{i}]", argument)
            out.append(done[id(m)])
    return out


def _metadata_json(m: dict, at: str, argument: str) -> str:
    _walk_json(m, at, argument)
    try:
        text = dumps_metadata(m)
    except (TypeError, ValueError) as e:  # e.g. an integer of more than 4300 digits
        raise InvalidArgument(f"{at}: not JSON-serialisable ({e})", argument=argument) from None
    try:
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError:
        _walk_json(m, at, argument, strings=True)  # names the string at fault
        raise
    if size > limits.MAX_METADATA_BYTES:
        raise over(at, f"{size} bytes of JSON", "MAX_METADATA_BYTES", argument)
    return text


def _walk_json(root: Any, at: str, argument: str, strings: bool = False) -> None:
    """Check one metadata tree without recursion: key and value types, finite numbers, depth, and
    (with `strings`) strict UTF-8. Stops as soon as the tree is too deep or has too many nodes."""
    stack: list[tuple[Any, tuple, int]] = [(root, (), 1)]
    nodes = 1
    while stack:
        v, path, depth = stack.pop()
        if isinstance(v, (dict, list, tuple)):
            if depth > limits.MAX_METADATA_DEPTH:
                raise over(_at(at, path), f"nested {depth} levels deep", "MAX_METADATA_DEPTH", argument)
            items = v.items() if isinstance(v, dict) else enumerate(v)
            for key, x in items:
                if isinstance(v, dict):
                    if not isinstance(key, str):
                        raise InvalidArgument(f"{_at(at, path)}: keys must be strings, got {type(key).__name__}",
                                              argument=argument)
                    if strings:
                        utf8(key, f"{_at(at, path)} (a key)", argument)
                nodes += 1
                if nodes > limits.MAX_METADATA_BYTES:  # every value takes at least one byte of JSON
                    raise over(at, f"more than {limits.MAX_METADATA_BYTES} values", "MAX_METADATA_BYTES", argument)
                stack.append((x, (path, key), depth + 1))
        elif isinstance(v, str):
            if strings:
                utf8(v, _at(at, path), argument)
        elif isinstance(v, float) and not math.isfinite(v):
            raise InvalidArgument(f"{_at(at, path)}: numbers must be finite", argument=argument)
        elif not (v is None or isinstance(v, (int, float, bool))):
            raise InvalidArgument(f"{_at(at, path)}: {type(v).__name__} is not a JSON value", argument=argument)


def _at(at: str, path: tuple) -> str:
    parts = []
    while path:
        path, key = path
        parts.append(f"[{key}]" if isinstance(key, int) else "." + key.encode("utf-8", "backslashreplace").decode())
    text = at + "".join(reversed(parts))
    return text if len(text) <= 200 else text[:197] + "..."


@dataclass
class Documents:
    """An add's input after the one validation pass."""
    texts: list[str]
    ids: list[str | None] | None   # None where the id is derived from the text
    metadata: list[str | None]     # compact JSON text, as stored
    sources: list[str | None] | None


def documents(texts_: Any, ids_: Any, metadata_: Any, *, chunked: bool = False, sources: Any = None,
              max_text_bytes: int | None = None, backend: str = "") -> Documents:
    """Check all of an add's input; raise on the first problem, before anything is written."""
    checked = texts(texts_, "texts", "MAX_CHUNKED_TEXT_CHARS" if chunked else "MAX_TEXT_CHARS",
                    "" if chunked else "; split long documents with chunk_size (vecdb add --chunk-size)")
    if max_text_bytes is not None and not chunked:
        for i, t in enumerate(checked):
            if len(t) * 4 > max_text_bytes and len(t.encode("utf-8")) > max_text_bytes:
                raise InvalidArgument(f"texts[{i}]: the {backend} backend stores at most {max_text_bytes} bytes "
                                      "of text per document", argument="texts")
    given = None if ids_ is None else ids(ids_, len(checked), allow_none=True)
    metas = metadata(metadata_, len(checked))
    if sources is not None:
        sources = check_sources(sources, len(checked))
        for i, s in enumerate(sources):
            if s is not None:
                utf8(s, f"sources[{i}]", "sources")
    return Documents(checked, given, metas, sources)


def batch_size(value: Any, argument: str = "batch_size") -> int:
    """Documents per transaction."""
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise InvalidArgument(f"{argument}: must be a positive integer, got {value!r}", argument=argument)
    if value > limits.MAX_BATCH:
        raise over(argument, f"{value} documents per transaction", "MAX_BATCH", argument)
    return value


def k(value: Any, argument: str = "k") -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise InvalidArgument(f"{argument}: must be a positive integer, got {value!r}", argument=argument)
    if value > MAX_K:
        raise over(argument, f"got {value}", "MAX_K", argument)
    return value


def queries(values: Any, argument: str = "query") -> list[str]:
    return texts(values, argument)


def nonempty_list(values: Sequence, argument: str) -> None:
    if not values:
        raise InvalidArgument(f"{argument}: must not be empty", argument=argument)
