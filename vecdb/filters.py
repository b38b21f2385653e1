"""The `where` grammar, compiled to a parameterised SQLAlchemy expression.

    {"field": value}                       equality
    {"field": {"$gt": 3, "$lte": 9}}       operators: $eq $ne $gt $gte $lt $lte $in $nin
    {"$and": [where, ...]}, {"$or": [...]}
    several keys at one level are ANDed.

Values are strings, numbers or booleans; comparisons are typed (a string never
equals a number). `$ne` and `$nin` also match documents that lack the field.
Field names become JSON paths passed as bound parameters, never pasted into SQL.
"""
from __future__ import annotations

import re
from typing import Any

from sqlalchemy import and_, false, func, literal, not_, or_, true
from sqlalchemy.sql.elements import ColumnElement

from .errors import InvalidFilter

COMPARE = {"$eq", "$ne", "$gt", "$gte", "$lt", "$lte"}
LISTS = {"$in", "$nin"}
LOGIC = {"$and", "$or"}
_FIELD = re.compile(r"^[A-Za-z0-9_\-][A-Za-z0-9_\-\. ]*$")
_NUM_TYPES = ("integer", "real")


def validate(where: Any) -> dict | None:
    """Check a filter without compiling it; returns it unchanged."""
    if where is not None:
        _compile(where, "where", _Dummy())
    return where


def compile_where(where: dict | None, column) -> ColumnElement[bool]:
    """An SQL boolean over the JSON `column` (a TEXT column holding an object)."""
    if where is None:
        return true()
    return _compile(where, "where", column)


class _Dummy:
    """Lets validate() walk the grammar without a real column."""


def _path(field: str) -> str:
    return "$" + "".join('."' + part + '"' for part in field.split("."))


def _compile(node: Any, at: str, col) -> ColumnElement[bool]:
    if not isinstance(node, dict):
        raise InvalidFilter(f"{at}: must be a JSON object, got {type(node).__name__}", argument="where")
    if not node:
        raise InvalidFilter(f"{at}: empty filter", argument="where")
    parts = []
    for key, value in node.items():
        if not isinstance(key, str):
            raise InvalidFilter(f"{at}: keys must be strings", argument="where")
        here = f"{at}.{key}"
        if key in LOGIC:
            if not isinstance(value, list) or not value:
                raise InvalidFilter(f"{here}: must be a non-empty list of filters", argument="where")
            subs = [_compile(v, f"{here}[{i}]", col) for i, v in enumerate(value)]
            parts.append(and_(*subs) if key == "$and" else or_(*subs))
        elif key.startswith("$"):
            raise InvalidFilter(f"{here}: unknown operator; valid: {', '.join(sorted(LOGIC))} at the top, "
                                f"{', '.join(sorted(COMPARE | LISTS))} under a field", argument="where")
        else:
            if not _FIELD.fullmatch(key) or ".." in key or key.endswith("."):
                raise InvalidFilter(f"{here}: invalid field name (letters, digits, _ - space, dots for nesting)",
                                    argument="where")
            ops = value if isinstance(value, dict) else {"$eq": value}
            if not ops:
                raise InvalidFilter(f"{here}: empty operator object", argument="where")
            parts.extend(_field(key, op, v, f"{here}.{op}" if isinstance(value, dict) else here, col)
                         for op, v in ops.items())
    return and_(*parts) if len(parts) > 1 else parts[0]


def _kind(value: Any, at: str) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        if value != value or value in (float("inf"), float("-inf")):
            raise InvalidFilter(f"{at}: numbers must be finite", argument="where")
        return "num"
    if isinstance(value, str):
        return "str"
    raise InvalidFilter(f"{at}: expected a string, number or boolean, got "
                        f"{'null' if value is None else type(value).__name__}", argument="where")


def _field(field: str, op: str, value: Any, at: str, col) -> ColumnElement[bool]:
    if op not in COMPARE | LISTS:
        raise InvalidFilter(f"{at}: unknown operator; valid: {', '.join(sorted(COMPARE | LISTS))}", argument="where")
    if op in LISTS:
        if not isinstance(value, list) or not value:
            raise InvalidFilter(f"{at}: must be a non-empty list", argument="where")
        kinds = [_kind(v, f"{at}[{i}]") for i, v in enumerate(value)]
    else:
        kinds = [_kind(value, at)]
        if op in ("$gt", "$gte", "$lt", "$lte") and kinds[0] == "bool":
            raise InvalidFilter(f"{at}: ordering needs a number or string, got a boolean", argument="where")
    if isinstance(col, _Dummy):
        return true()

    path = literal(_path(field))
    jtype = func.json_type(col, path)
    jval = func.json_extract(col, path)

    def eq_any(values: list) -> ColumnElement[bool]:
        groups = []
        strs = [v for v in values if isinstance(v, str)]
        nums = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
        bools = {("true" if v else "false") for v in values if isinstance(v, bool)}
        if strs:
            groups.append(and_(jtype == "text", jval.in_(strs)))
        if nums:
            groups.append(and_(jtype.in_(_NUM_TYPES), jval.in_(nums)))
        if bools:
            groups.append(jtype.in_(sorted(bools)))
        return or_(*groups) if len(groups) > 1 else groups[0]

    def never_null(expr: ColumnElement[bool]) -> ColumnElement[bool]:
        return func.coalesce(expr, false())

    if op == "$eq":
        return eq_any([value])
    if op == "$in":
        return eq_any(value)
    if op == "$ne":
        return not_(never_null(eq_any([value])))
    if op == "$nin":
        return not_(never_null(eq_any(value)))
    guard = jtype == "text" if kinds[0] == "str" else jtype.in_(_NUM_TYPES)
    cmp = {"$gt": jval > value, "$gte": jval >= value, "$lt": jval < value, "$lte": jval <= value}[op]
    return and_(guard, cmp)
