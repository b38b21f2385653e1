"""The `where` grammar compiled to a Milvus boolean expression over the JSON field `metadata`.

Same semantics as the SQL compiler (vecdb/filters.py): typed comparisons, `$ne`/`$nin` also match
documents without the field. Values are never pasted raw: strings are escaped inside double quotes,
numbers are formatted from Python numbers, booleans become true/false, and field names must already
pass the grammar's name check (they are escaped too). Milvus Lite accepts no `in` over JSON paths and
no templated parameters, so `$in` becomes an OR of equalities, which works on every Milvus.
"""
from __future__ import annotations

import json
import math
from typing import Any

from ..filters import validate

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
    validate(where)  # the same checks and error messages as for SQLite
    return _node(where)


def _node(node: dict) -> str:
    parts = []
    for key, value in node.items():
        if key in ("$and", "$or"):
            subs = [f"({_node(v)})" for v in value]
            parts.append(f" {'and' if key == '$and' else 'or'} ".join(subs))
        else:
            ops = value if isinstance(value, dict) else {"$eq": value}
            parts.extend(_field(key, op, v) for op, v in ops.items())
    return " and ".join(f"({p})" for p in parts) if len(parts) > 1 else parts[0]


def _eq_any(path: str, values: list) -> str:
    return " or ".join(f"{path} == {_literal(v)}" for v in values)


def _field(field: str, op: str, value: Any) -> str:
    path = _path(field)
    if op == "$eq":
        return _eq_any(path, [value])
    if op == "$in":
        return _eq_any(path, value)
    if op in ("$ne", "$nin"):
        values = [value] if op == "$ne" else value
        return f"not (exists {path}) or not ({_eq_any(path, values)})"
    sym = {"$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<="}[op]
    return f"{path} {sym} {_literal(value)}"


def id_filter(field: str, ids: list[str]) -> str:
    """`field in [...]` over a VARCHAR field (ids quoted and escaped)."""
    return f"{field} in [{', '.join(quote(i) for i in ids)}]"
