"""The `where` grammar compiled to a Milvus boolean expression over the JSON field `metadata`.

Same semantics as the SQL compiler (vecdb/filters.py): typed comparisons, `$ne`/`$nin` also match
documents without the field. Values are never pasted raw: strings are escaped inside double quotes,
numbers are formatted from Python numbers, booleans become true/false, and field names must already
pass the grammar's name check (they are escaped too). Milvus Lite accepts no `in` over JSON paths and
no templated parameters, so `$in` becomes an OR of equalities (in balanced groups), which works on
every Milvus; its size is bounded by MAX_FILTER_VALUES, as the rest is by the parser's limits.
"""
from __future__ import annotations

import json
import math
from typing import Any

from ..errors import LimitExceeded
from ..filters import ORDER, Cond, Node, grouped, ordered, parse
from ..limits import MAX_MILVUS_FILTER_TERMS

FIELD = "metadata"


def quote(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r") + '"'


def _path(field: str) -> str:
    return FIELD + "".join(f"[{quote(part)}]" for part in field.split("."))


def _literal(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(int(v))
    if isinstance(v, float):
        if not math.isfinite(v):
            raise ValueError("non-finite number")
        return json.dumps(v)
    return quote(str(v))


def compile_where(where: dict | None) -> str:
    """A Milvus filter expression; '' when there is no filter."""
    if where is None:
        return ""
    tree = parse(where)  # the same checks, limits and error messages as for SQLite
    terms = _terms(tree)
    if terms > MAX_MILVUS_FILTER_TERMS:  # Milvus parses an expression at about 1 ms per term
        raise LimitExceeded(f"where: {terms} comparisons ($in/$nin: one per value) on the milvus backend, over "
                            f"the limit of {MAX_MILVUS_FILTER_TERMS} (MAX_MILVUS_FILTER_TERMS)", argument="where",
                            limit="MAX_MILVUS_FILTER_TERMS")
    return _node(tree)


def _terms(n: Node) -> int:
    if isinstance(n, Cond):
        return len(n.value) if isinstance(n.value, list) else 1
    return sum(_terms(i) for i in n.items)


def _node(n: Node) -> str:
    if isinstance(n, Cond):
        return _field(n.field, n.op, n.value)
    word = " and " if n.op == "$and" else " or "
    return grouped([_node(i) for i in ordered(n.items)], lambda parts: "(" + word.join(parts) + ")")


def _eq_any(path: str, values: list) -> str:
    """An OR of equalities as balanced groups: the expression's depth grows with log(len(values))."""
    return grouped([f"{path} == {_literal(v)}" for v in values], lambda parts: "(" + " or ".join(parts) + ")")


def _field(field: str, op: str, value: Any) -> str:
    path = _path(field)
    if op == "$eq":
        return _eq_any(path, [value])
    if op == "$in":
        return _eq_any(path, value)
    if op in ("$ne", "$nin"):
        values = [value] if op == "$ne" else value
        return f"(not (exists {path}) or not {_eq_any(path, values)})"
    return f"({path} {ORDER[op]} {_literal(value)})"


def id_filter(field: str, ids: list[str]) -> str:
    """`field in [...]` over a VARCHAR field (ids quoted and escaped)."""
    return f"{field} in [{', '.join(quote(i) for i in ids)}]"
