"""The `where` grammar: parsed once within limits, then compiled to parameterised SQL (here) or to a
Milvus expression (vecdb/milvus/filters.py).

    {"field": value}                       equality
    {"field": {"$gt": 3, "$lte": 9}}       operators: $eq $ne $gt $gte $lt $lte $in $nin
    {"$and": [where, ...]}, {"$or": [...]}
    several keys at one level are ANDed.

Values are strings, numbers or booleans; comparisons are typed (a string never equals a number).
`$ne` and `$nin` also match documents that lack the field. Field names become JSON paths passed as
bound parameters, never pasted into SQL; an `$in` list is one parameter (a JSON array read with
json_each), so its size does not grow the SQL.

Cost is bounded on any input: parsing stops at the first breach of MAX_FILTER_DEPTH ($and/$or
nesting), MAX_FILTER_CONDITIONS or MAX_FILTER_VALUES (vecdb/limits.py), and long $and/$or lists
compile to balanced groups, so the SQL stays within SQLite's expression depth and parser stack.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any, Union

from sqlalchemy import text
from sqlalchemy.sql.elements import TextClause

from . import limits
from .errors import InvalidFilter, LimitExceeded

COMPARE = {"$eq", "$ne", "$gt", "$gte", "$lt", "$lte"}
LISTS = {"$in", "$nin"}
LOGIC = {"$and", "$or"}
ORDER = {"$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<="}
_FIELD = re.compile(r"[A-Za-z0-9_\-][A-Za-z0-9_\-\. ]*")
INT64 = 2 ** 63
GROUP = 8  # an $and/$or list longer than this compiles to nested groups of at most GROUP items


@dataclass(frozen=True)
class Cond:
    """One field condition; `value` is a list for $in/$nin."""
    field: str
    op: str
    value: Any


@dataclass(frozen=True)
class Logic:
    op: str  # "$and" or "$or"
    items: list["Node"]
    height: int  # levels of Logic below and including this one


Node = Union[Cond, Logic]


def validate(where: Any) -> dict | None:
    """Check a filter (grammar and limits) without compiling it; returns it unchanged."""
    if where is not None:
        parse(where)
    return where


def parse(where: Any) -> Node:
    """The filter as a tree of Cond and Logic, or InvalidFilter / LimitExceeded naming the problem."""
    return _Parser().node(where, "where", 0)


def _limit(at: str, what: str, name: str) -> LimitExceeded:
    return LimitExceeded(f"{at}: {what}, over the limit of {getattr(limits, name)} ({name})", argument="where",
                         limit=name)


class _Parser:
    def __init__(self):
        self.conditions = 0
        self.values = 0

    def count(self, n: int, at: str) -> None:
        self.conditions += n
        if self.conditions > limits.MAX_FILTER_CONDITIONS:
            raise _limit(at, f"more than {limits.MAX_FILTER_CONDITIONS} conditions", "MAX_FILTER_CONDITIONS")

    def count_values(self, n: int, at: str) -> None:
        self.values += n
        if self.values > limits.MAX_FILTER_VALUES:
            raise _limit(at, f"more than {limits.MAX_FILTER_VALUES} values in $in/$nin lists and merged "
                             "equalities", "MAX_FILTER_VALUES")

    def node(self, node: Any, at: str, depth: int) -> Node:
        if not isinstance(node, dict):
            raise InvalidFilter(f"{at}: must be a JSON object, got {type(node).__name__}", argument="where")
        if not node:
            raise InvalidFilter(f"{at}: empty filter", argument="where")
        parts: list[Node] = []
        for key, value in node.items():
            if not isinstance(key, str):
                raise InvalidFilter(f"{at}: keys must be strings", argument="where")
            here = _join(at, f".{_short(key)}")
            if key in LOGIC:
                parts.append(self.logic(key, value, here, depth + 1))
            elif key.startswith("$"):
                raise InvalidFilter(f"{here}: unknown operator; valid: {', '.join(sorted(LOGIC))} at the top, "
                                    f"{', '.join(sorted(COMPARE | LISTS))} under a field", argument="where")
            else:
                _field_name(key, here)
                ops = value if isinstance(value, dict) else {"$eq": value}
                if not ops:
                    raise InvalidFilter(f"{here}: empty operator object", argument="where")
                self.count(len(ops), here)
                for op, v in ops.items():
                    at_op = _join(here, f".{_short(op)}") if isinstance(value, dict) else here
                    parts.append(self.field(key, op, v, at_op))
        return parts[0] if len(parts) == 1 else _logic("$and", parts)

    def logic(self, op: str, value: Any, at: str, depth: int) -> Node:
        """An $and/$or list. Items that merge (see _logic) cost one condition per field and one value
        each; any other item costs its conditions. Either way the walk stops at the first breach."""
        if not isinstance(value, list) or not value:
            raise InvalidFilter(f"{at}: must be a non-empty list of filters", argument="where")
        if depth > limits.MAX_FILTER_DEPTH:
            raise _limit(at, f"$and/$or nested more than {limits.MAX_FILTER_DEPTH} deep", "MAX_FILTER_DEPTH")
        self.count(1, at)
        fields: set[str] = set()
        items: list[Node] = []
        for i, v in enumerate(value):
            here = _join(at, f"[{i}]")
            simple = _mergeable(op, v)
            if simple is None:
                items.append(self.node(v, here, depth))
                continue
            field, cop, cvalue = simple
            _field_name(field, here)
            if field not in fields:
                fields.add(field)
                self.count(1, here)
            if cop not in LISTS:
                self.count_values(1, here)
            items.append(self.field(field, cop, cvalue, here))
        return _logic(op, items)

    def field(self, field: str, op: Any, value: Any, at: str) -> Cond:
        if op not in COMPARE | LISTS:
            raise InvalidFilter(f"{at}: unknown operator; valid: {', '.join(sorted(COMPARE | LISTS))}",
                                argument="where")
        if op in LISTS:
            if not isinstance(value, list) or not value:
                raise InvalidFilter(f"{at}: must be a non-empty list", argument="where")
            self.count_values(len(value), at)
            for i, v in enumerate(value):
                _kind(v, f"{at}[{i}]")
            return Cond(field, op, list(value))
        kind = _kind(value, at)
        if op in ORDER and kind == "bool":
            raise InvalidFilter(f"{at}: ordering needs a number or string, got a boolean", argument="where")
        return Cond(field, op, value)


MERGE = {"$or": ("$eq", "$in"), "$and": ("$ne", "$nin")}


def _mergeable(op: str, item: Any) -> tuple[str, str, Any] | None:
    """(field, operator, value) when an $and/$or item is one condition that merges under `op`."""
    if not isinstance(item, dict) or len(item) != 1:
        return None
    field, value = next(iter(item.items()))
    if not isinstance(field, str) or field.startswith("$"):
        return None
    if not isinstance(value, dict):
        return (field, "$eq", value) if op == "$or" else None
    if len(value) == 1:
        cop = next(iter(value))
        if cop in MERGE[op]:
            return field, cop, value[cop]
    return None


def _field_name(key: str, at: str) -> None:
    if not _FIELD.fullmatch(key) or ".." in key or key.endswith("."):
        raise InvalidFilter(f"{at}: invalid field name (letters, digits, _ - space, dots for nesting)",
                            argument="where")


def _logic(op: str, items: list[Node]) -> Node:
    """An $and/$or node. Under $or, equalities on one field merge into one $in (under $and, $ne/$nin
    into one $nin), so a long list of them costs one lookup per row, not one per item."""
    merge = MERGE[op]
    by_field: dict[str, list] = {}
    rest: list[Node] = []
    for i in items:
        if isinstance(i, Cond) and i.op in merge:
            by_field.setdefault(i.field, []).extend(i.value if i.op in LISTS else [i.value])
        else:
            rest.append(i)
    for field, values in by_field.items():
        values = list({(type(v), v): v for v in values}.values())  # once each, keeping 1 and True apart
        rest.append(Cond(field, merge[0], values[0]) if len(values) == 1 else Cond(field, merge[1], values))
    if len(rest) == 1:
        return rest[0]
    return Logic(op, rest, 1 + max((i.height for i in rest if isinstance(i, Logic)), default=0))


def _join(at: str, more: str) -> str:
    """A location in the filter for messages, kept short: its start and its end."""
    at += more
    return at if len(at) <= 160 else at[:40] + "..." + at[-110:]


def _short(s: Any) -> str:
    s = s if isinstance(s, str) else repr(s)
    s = s.encode("utf-8", "backslashreplace").decode()
    return s if len(s) <= 64 else s[:61] + "..."


def _kind(value: Any, at: str) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        if not -INT64 <= value < INT64:
            raise InvalidFilter(f"{at}: integers must fit in 64 bits", argument="where")
        return "num"
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidFilter(f"{at}: numbers must be finite", argument="where")
        return "num"
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidFilter(f"{at}: not valid Unicode (a lone surrogate)", argument="where") from None
        return "str"
    raise InvalidFilter(f"{at}: expected a string, number or boolean, got "
                        f"{'null' if value is None else type(value).__name__}", argument="where")


def split(values: list) -> tuple[list[str], list, list[bool]]:
    """An $in list by type: strings, numbers, booleans (each once)."""
    strs = [v for v in values if isinstance(v, str)]
    nums = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
    bools = sorted({v for v in values if isinstance(v, bool)})
    return strs, nums, bools


def grouped(items: list, join) -> Any:
    """Join a list as a balanced tree of groups of at most GROUP items (bounded depth for any length).
    `join(parts)` combines up to GROUP already-joined parts."""
    while len(items) > GROUP:
        items = [join(items[i:i + GROUP]) for i in range(0, len(items), GROUP)]
    return join(items)


def ordered(items: list[Node]) -> list[Node]:
    """The deepest operand first: a parser nests a leading group at the lowest cost."""
    return sorted(items, key=lambda n: -n.height if isinstance(n, Logic) else 0)


# ---- SQL -------------------------------------------------------------------------------------------
def compile_where(where: dict | None, column) -> TextClause:
    """An SQL boolean over the JSON `column` (a TEXT column holding an object), values as parameters."""
    if where is None:
        return text("1")
    sql = _Sql(f'"{column.table.name}"."{column.name}"')
    return text(sql.node(parse(where))).bindparams(**sql.params)


class _Sql:
    def __init__(self, column: str):
        self.column = column
        self.params: dict[str, Any] = {}
        self.paths: dict[str, str] = {}

    def param(self, value: Any) -> str:
        name = f"w{len(self.params)}"
        self.params[name] = value
        return ":" + name

    def node(self, n: Node) -> str:
        if isinstance(n, Cond):
            return self.cond(n)
        word = " AND " if n.op == "$and" else " OR "
        return grouped([self.node(i) for i in ordered(n.items)], lambda parts: "(" + word.join(parts) + ")")

    def cond(self, c: Cond) -> str:
        path = self.paths.get(c.field)
        if path is None:
            path = self.paths[c.field] = self.param("$" + "".join('."' + p + '"' for p in c.field.split(".")))
        jtype, jval = f"json_type({self.column}, {path})", f"json_extract({self.column}, {path})"
        if c.op in ("$eq", "$in", "$ne", "$nin"):
            strs, nums, bools = split(c.value if c.op in LISTS else [c.value])
            groups = []
            if strs:
                groups.append(f"({jtype} = 'text' AND {jval} {self.among(strs)})")
            if nums:
                groups.append(f"({jtype} IN ('integer', 'real') AND {jval} {self.among(nums)})")
            if bools:
                groups.append(f"{jtype} IN ({', '.join(repr(json.dumps(b)) for b in bools)})")
            match = "(" + " OR ".join(groups) + ")"
            return f"(NOT coalesce({match}, 0))" if c.op in ("$ne", "$nin") else match
        guard = f"{jtype} = 'text'" if isinstance(c.value, str) else f"{jtype} IN ('integer', 'real')"
        return f"({guard} AND {jval} {ORDER[c.op]} {self.param(c.value)})"

    def among(self, values: list) -> str:
        if len(values) == 1:
            return "= " + self.param(values[0])
        return f"IN (SELECT value FROM json_each({self.param(json.dumps(values, ensure_ascii=False))}))"
