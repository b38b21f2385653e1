"""One contract, every backend: local (SQLite + FAISS) and Milvus Lite must behave the same."""
import numpy as np
import pytest

import vecdb
from vecdb.errors import CollectionExists, CollectionNotFound, InvalidArgument, InvalidFilter, SpecMismatch

pytest.importorskip("pymilvus")

BACKENDS = ["local", "milvus-lite"]
DOCS = [
    ("a", "The cat sat on the mat", {"kind": "pet", "year": 2020, "score": 0.5, "tags": "x", "nested": {"n": 1}}),
    ("b", "Dogs are loyal companions", {"kind": "pet", "year": 2022, "score": 1.5, "flag": True}),
    ("c", "The river flows into the ocean", {"kind": "nature", "year": 2018, "flag": False}),
    ("d", "Mountains are covered in snow", {"kind": "nature", "year": "2022"}),
    ("e", 'Quotes "inside" and back\\slash text', None),
]


def location(backend, tmp_path):
    return str(tmp_path / "db") if backend == "local" else f"milvus-lite://{tmp_path / 'vectors.db'}"


@pytest.fixture(params=BACKENDS)
def backend(request):
    return request.param


@pytest.fixture
def store(backend, tmp_path):
    db = vecdb.open(location(backend, tmp_path))
    yield db
    db.close()


@pytest.fixture
def docs(store, minilm_fp32):
    c = store.create_collection("docs", embedder=minilm_fp32)
    c.add([t for _, t, _ in DOCS], ids=[i for i, _, _ in DOCS], metadata=[m for _, _, m in DOCS])
    return c


@pytest.fixture(scope="module", params=BACKENDS)
def shared_docs(request, tmp_path_factory, minilm_fp32):
    """One filled collection per backend for the read-only filter cases."""
    db = vecdb.open(location(request.param, tmp_path_factory.mktemp(request.param)))
    c = db.create_collection("docs", embedder=minilm_fp32)
    c.add([t for _, t, _ in DOCS], ids=[i for i, _, _ in DOCS], metadata=[m for _, _, m in DOCS])
    yield c
    db.close()


def test_backend_type(store, backend):
    assert type(store).__name__ == ("Database" if backend == "local" else "MilvusDatabase")


def test_add_get_count(docs):
    assert docs.count() == 5
    got = docs.get(["e", "missing", "a"])
    assert [d.id for d in got] == ["e", "a"]
    assert got[0].text == DOCS[4][1] and got[0].metadata is None
    assert got[1].metadata == DOCS[0][2]


def test_upsert_and_skip_by_hash(docs):
    res = docs.add(["The cat sat on the mat", "Dogs are loyal companions", "new text here", "changed river"],
                   ids=["a", "b", "f", "c"], metadata=[DOCS[0][2], {"kind": "dog"}, None, {"kind": "nature"}])
    assert res.to_dict() == {"added": 1, "updated": 1, "metadata_updated": 1, "unchanged": 1, "embedded": 2}
    assert docs.count() == 6
    assert docs.get(["b"])[0].metadata == {"kind": "dog"}
    assert docs.get(["c"])[0].text == "changed river"
    again = docs.add(["new text here"], ids=["f"])
    assert again.unchanged == 1 and again.embedded == 0


def test_auto_ids_are_idempotent(store, minilm_fp32):
    c = store.create_collection("auto", embedder=minilm_fp32)
    first = c.add(["alpha", "beta"])
    second = c.add(["alpha", "beta"])
    assert first.ids == second.ids and second.unchanged == 2 and c.count() == 2


def test_vectors_equal_embedder_and_precomputed_path(docs, minilm_fp32):
    got = docs.get(["a"], include_vectors=True)[0].vector
    np.testing.assert_allclose(got, minilm_fp32.embed_documents(["The cat sat on the mat"])[0], atol=1e-6)
    v = np.random.default_rng(0).normal(size=(1, 384)).astype(np.float32)
    v /= np.linalg.norm(v)
    res = docs.add(["precomputed"], ids=["p"], vectors=v)
    assert res.added == 1 and res.embedded == 0
    assert np.array_equal(docs.get(["p"], include_vectors=True)[0].vector, v[0])
    with pytest.raises(InvalidArgument):
        docs.add(["bad"], ids=["q"], vectors=np.zeros((1, 5), np.float32))


def test_delete(docs):
    assert docs.delete(["a", "zz", "b"]) == 2
    assert docs.count() == 3 and docs.get(["a", "b"]) == []


def test_search_and_batch(docs):
    hits = docs.search("a kitten on a rug", k=2)
    assert hits[0].id == "a" and len(hits) == 2 and hits[0].score >= hits[1].score
    assert hits[0].text == DOCS[0][1] and hits[0].metadata == DOCS[0][2]
    batch = docs.search_batch(["a kitten on a rug", "sea and water"], k=3)
    assert [h[0].id for h in batch] == ["a", "c"]
    assert docs.search("anything", k=50).__len__() == 5


@pytest.mark.parametrize("where, expected", [
    ({"kind": "pet"}, {"a", "b"}),
    ({"year": 2022}, {"b"}),                       # typed: the string "2022" does not match
    ({"year": "2022"}, {"d"}),
    ({"year": {"$gte": 2020}}, {"a", "b"}),
    ({"year": {"$gt": 2018, "$lt": 2022}}, {"a"}),
    ({"score": {"$lte": 1.0}}, {"a"}),
    ({"flag": True}, {"b"}),
    ({"flag": False}, {"c"}),
    ({"kind": {"$ne": "pet"}}, {"c", "d", "e"}),    # $ne also matches documents without the field
    ({"kind": {"$in": ["nature", "x"]}}, {"c", "d"}),
    ({"kind": {"$nin": ["nature"]}}, {"a", "b", "e"}),
    ({"nested.n": 1}, {"a"}),
    ({"$or": [{"kind": "nature"}, {"flag": True}]}, {"b", "c", "d"}),
    ({"$and": [{"kind": "pet"}, {"year": {"$lt": 2021}}]}, {"a"}),
    ({"kind": 'pet" or id != "'}, set()),          # a value is never pasted into the expression
])
def test_filters(shared_docs, where, expected):
    assert {h.id for h in shared_docs.search("text", k=10, where=where)} == expected


def test_bad_filter_is_refused(docs):
    with pytest.raises(InvalidFilter):
        docs.search("x", where={"$bogus": 1})


def test_spec_is_enforced(store, docs, tmp_path):
    with pytest.raises(SpecMismatch):
        store.get_collection("docs", pooling="cls")
    with pytest.raises(CollectionExists):
        store.create_collection("docs", embedder=docs.embedder)
    with pytest.raises(CollectionNotFound):
        store.get_collection("nope")
    assert store.has_collection("docs") and not store.has_collection("nope")
    assert [c["name"] for c in store.list_collections()] == ["docs"]
    assert store.list_collections()[0]["dim"] == 384


def test_persistence_across_reopen(backend, tmp_path, minilm_fp32):
    loc = location(backend, tmp_path)
    with vecdb.open(loc) as db:
        db.create_collection("p", embedder=minilm_fp32).add(["one", "two"], ids=["1", "2"], metadata=[{"x": 1}, None])
    with vecdb.open(loc) as db:
        c = db.get_collection("p")
        assert c.spec == minilm_fp32.spec and c.count() == 2
        assert c.get(["1"])[0].metadata == {"x": 1}
        assert c.search("one", k=1)[0].id == "1"
        db.drop_collection("p")
        assert not db.has_collection("p")
