"""Hostile input on every backend: a refused add stores nothing, limits are the same, and hostile
filters answer quickly with results or a LimitExceeded naming the limit."""
import time

import pytest

from vecdb import limits
from vecdb.errors import InvalidArgument, LimitExceeded

from .backends import covers

pytestmark = pytest.mark.contract


@covers("Collection.add", "Collection.count")
def test_refused_add_stores_nothing(docs):
    before = docs.count()
    bad = [
        dict(texts=["ok", "fine"], metadata=[{"k": 1}, {"k": "\udc80"}]),
        dict(texts=["ok", "fine"], metadata=[{"k": 1}, {"\ud800": 1}]),
        dict(texts=["ok", "fine"], ids=["n1", "n\udc802"]),
        dict(texts=["ok", "x" * (limits.MAX_TEXT_CHARS + 1)]),
        dict(texts=["ok", "fine"], metadata=[{"k": 1}, {"big": "z" * limits.MAX_METADATA_BYTES}]),
        dict(texts=["ok", "fine"], ids=["n1", "i" * (limits.MAX_ID_CHARS + 1)]),
    ]
    for kwargs in bad:
        texts = kwargs.pop("texts")
        with pytest.raises(InvalidArgument):
            docs.add(texts, batch_size=1, **kwargs)
    assert docs.count() == before and docs.get(["n1"]) == []


@covers("Collection.search", "Collection.get")
def test_hostile_filters(shared_docs):
    deep = {"kind": "pet"}
    for _ in range(10_000):
        deep = {"$and": [deep]}
    hostile = [{"$or": [{"year": i} for i in range(10_000)]}, {"year": {"$in": list(range(10_000))}}, deep,
               {"$or": [{"year": {"$gt": i}} for i in range(limits.MAX_FILTER_CONDITIONS + 1)]}]
    shared_docs.search("cat", k=2)
    for where in hostile:
        for call in (lambda: shared_docs.search("cat", k=3, where=where), lambda: shared_docs.get(where=where)):
            start = time.perf_counter()
            try:
                assert isinstance(call(), list)
            except LimitExceeded as e:
                assert e.argument == "where" and e.limit in limits.ALL
            assert time.perf_counter() - start < 2.0
    got = shared_docs.get(where={"$or": [{"year": 2020}, {"year": 2018}, {"kind": "none"}]})
    assert sorted(d.id for d in got) == ["a", "c"]
    got = shared_docs.get(where={"year": {"$in": [2022, 2018, *range(3000, 3500)]}})
    assert sorted(d.id for d in got) == ["b", "c"]
