import json

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, Text, create_engine, select

from vecdb.errors import InvalidFilter
from vecdb.filters import compile_where, validate

DOCS = [
    {"kind": "a", "year": 2019, "score": 0.5, "ok": True, "tags": "x"},
    {"kind": "b", "year": 2021, "score": 1.5, "ok": False},
    {"kind": "a", "year": 2023, "nested": {"lang": "en"}},
    {"kind": "c", "year": "2020"},  # a string, never equal to a number
    None,
]


@pytest.fixture(scope="module")
def table():
    engine = create_engine("sqlite://")
    md = MetaData()
    t = Table("d", md, Column("id", Integer, primary_key=True), Column("metadata", Text))
    md.create_all(engine)
    with engine.begin() as conn:
        conn.execute(t.insert(), [{"id": i, "metadata": None if m is None else json.dumps(m)}
                                  for i, m in enumerate(DOCS)])
    return engine, t


def ids(table, where):
    engine, t = table
    with engine.connect() as conn:
        return sorted(r[0] for r in conn.execute(select(t.c.id).where(compile_where(where, t.c.metadata))))


@pytest.mark.parametrize("where,expected", [
    ({"kind": "a"}, [0, 2]),
    ({"kind": {"$eq": "a"}}, [0, 2]),
    ({"kind": {"$ne": "a"}}, [1, 3, 4]),
    ({"year": {"$gt": 2019}}, [1, 2]),
    ({"year": {"$gte": 2019, "$lt": 2023}}, [0, 1]),
    ({"year": {"$lte": 2019}}, [0]),
    ({"year": 2020}, []),
    ({"year": "2020"}, [3]),
    ({"kind": {"$in": ["b", "c"]}}, [1, 3]),
    ({"kind": {"$nin": ["b", "c"]}}, [0, 2, 4]),
    ({"ok": True}, [0]),
    ({"ok": {"$ne": True}}, [1, 2, 3, 4]),
    ({"nested.lang": "en"}, [2]),
    ({"$or": [{"kind": "b"}, {"year": {"$gte": 2023}}]}, [1, 2]),
    ({"$and": [{"kind": "a"}, {"year": {"$lt": 2020}}]}, [0]),
    ({"kind": "a", "year": 2023}, [2]),
    ({"score": {"$gt": 1}}, [1]),
    ({"kind": "a'; DROP TABLE d; --"}, []),
])
def test_filter_semantics(table, where, expected):
    assert ids(table, where) == expected


@pytest.mark.parametrize("where,fragment", [
    ([], "must be a JSON object"),
    ({}, "empty filter"),
    ({"$xor": []}, "unknown operator"),
    ({"a": {"$regex": "x"}}, "where.a.$regex: unknown operator"),
    ({"a": {"$in": "x"}}, "where.a.$in: must be a non-empty list"),
    ({"a": {"$in": []}}, "non-empty list"),
    ({"a": {"$gt": True}}, "boolean"),
    ({"a": None}, "got null"),
    ({"a": [1, 2]}, "got list"),
    ({"$and": {"a": 1}}, "where.$and: must be a non-empty list"),
    ({"bad\"name": 1}, "invalid field name"),
    ({"a": float("nan")}, "finite"),
])
def test_malformed_filters_name_the_problem(where, fragment):
    with pytest.raises(InvalidFilter) as e:
        validate(where)
    assert fragment in str(e.value)
    assert str(e.value).startswith("where")


def test_values_are_bound_parameters(table):
    _, t = table
    sql = str(compile_where({"kind": "zzz-unique-value"}, t.c.metadata).compile())
    assert "zzz-unique-value" not in sql
