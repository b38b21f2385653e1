"""Hypothesis strategies for hostile add input: any unicode (lone surrogates, NUL, blanks), metadata
trees (deep, wide, non-JSON values), ids (duplicates, empty, over-long) and sizes around the limits."""
from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

from hypothesis import strategies as st

from vecdb import limits

# Every code point, surrogates (category Cs) included.
CHARS = st.characters(exclude_categories=())
SPECIAL_TEXT = ["\udc80", "a\ud800b", "\x00", " ", "", "\t\n", "ok", "日本語", "emoji 😀", "x" * limits.MAX_TEXT_CHARS,
                "y" * (limits.MAX_TEXT_CHARS + 1)]


CLEAN_CHARS = st.characters(exclude_categories=("Cs",), exclude_characters="\x00")


def texts(clean: bool) -> st.SearchStrategy:
    valid = st.text(CLEAN_CHARS, min_size=1, max_size=30).filter(str.strip)
    if clean:
        return valid
    return st.one_of(valid, st.text(CHARS, max_size=30), st.sampled_from(SPECIAL_TEXT))


def _deep(n: int) -> dict:
    tree: dict = {"leaf": 1}
    for _ in range(n):
        tree = {"k": [tree]}
    return tree


def _scalars(chars, finite: bool) -> st.SearchStrategy:
    return st.one_of(st.none(), st.booleans(), st.integers(-2 ** 70, 2 ** 70),
                     st.floats(allow_nan=not finite, allow_infinity=not finite), st.text(chars, max_size=12))


def _trees(chars, finite: bool) -> st.SearchStrategy:
    return st.recursive(_scalars(chars, finite),
                        lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(chars, max_size=8), kids,
                                                                                  max_size=4), max_leaves=16)


SPECIAL_META = [_deep(limits.MAX_METADATA_DEPTH // 2 - 2), _deep(limits.MAX_METADATA_DEPTH), {"big": "z" * 70_000},
                {"n": 10 ** 5000}, {"bad": object()}, {1: "non-string key"}, {"\udcff": "surrogate key"},
                {"ok": [1, "two", None, {"three": 3.5}]}]


def metadata(clean: bool) -> st.SearchStrategy:
    chars = CLEAN_CHARS if clean else CHARS
    valid = st.one_of(st.none(), st.dictionaries(st.text(chars, max_size=8), _trees(chars, clean), max_size=5))
    return valid if clean else st.one_of(valid, st.sampled_from(SPECIAL_META))


def ids(clean: bool) -> st.SearchStrategy:
    valid = st.one_of(st.none(), st.text(CLEAN_CHARS, min_size=1, max_size=10).filter(str.strip))
    if clean:
        return valid
    return st.one_of(valid, st.text(CHARS, max_size=10), st.sampled_from(["a", "b", "a#1", " ", "i" * 1025]))


@st.composite
def batches(draw, max_docs: int = 6) -> dict:
    """{"texts", "ids" (or None), "metadata" (or None)}. One field (or none) is drawn from the hostile
    strategies, so that each kind of bad input gets its turn; ids lists may have the wrong length."""
    hostile = draw(st.sampled_from(["none", "texts", "ids", "metadata"]))
    n = draw(st.integers(1, max_docs))
    out = {"texts": draw(st.lists(texts(hostile != "texts"), min_size=n, max_size=n)), "ids": None, "metadata": None}
    if hostile == "ids" or draw(st.booleans()):
        clean = hostile != "ids"
        same = st.lists(ids(clean), min_size=n, max_size=n, unique_by=lambda i: i if i is not None else object())
        out["ids"] = draw(same if clean else same | st.lists(ids(False), max_size=max_docs))
    if hostile == "metadata" or draw(st.booleans()):
        out["metadata"] = draw(st.lists(metadata(hostile != "metadata"), min_size=n, max_size=n))
    return out


def state(directory: Path) -> tuple:
    """What must not change when an add is refused: the SQLite files' bytes and every row's content."""
    digest = hashlib.sha256()
    for suffix in ("", "-wal"):
        p = directory / ("vecdb.sqlite" + suffix)
        digest.update(p.read_bytes() if p.exists() else b"")
    con = sqlite3.connect(f"file:{directory / 'vecdb.sqlite'}?mode=ro", uri=True)
    try:
        rows = con.execute("SELECT collection_id, doc_id, content_hash, metadata, text FROM documents "
                           "ORDER BY row_id").fetchall()
    finally:
        con.close()
    return digest.hexdigest(), len(rows), hashlib.sha256(repr(rows).encode("utf-8", "backslashreplace")).hexdigest()
