"""The Python API on real SQLite and FAISS, with the fake `hash` model (MiniLM where the model matters)."""
import numpy as np
import pytest

import vecdb

TEXTS = [
    "The Eiffel Tower is a wrought-iron tower in Paris, France.",
    "Bananas are a yellow tropical fruit rich in potassium.",
    "GPUs accelerate the matrix multiplications in neural networks.",
    "The Great Wall of China stretches thousands of kilometres.",
    "Espresso is a concentrated coffee brewed under pressure.",
    "Mount Everest is the highest mountain above sea level.",
]


def test_add_search_get_delete(coll):
    res = coll.add(TEXTS, ids=[f"d{i}" for i in range(6)], metadata=[{"n": i} for i in range(6)])
    assert (res.added, res.updated, res.unchanged) == (6, 0, 0)
    assert coll.count() == 6
    hits = coll.search("Which city has the Eiffel Tower?", k=3)
    assert hits[0].id == "d0" and hits[0].metadata == {"n": 0} and hits[0].text == TEXTS[0]
    assert len(hits) == 3 and hits[0].score >= hits[1].score >= hits[2].score
    assert -1.0 <= hits[-1].score <= 1.0
    assert [d.id for d in coll.get(["d2", "missing", "d1"])] == ["d2", "d1"]
    assert coll.delete(["d0", "nope"]) == 1
    assert coll.count() == 5
    assert all(h.id != "d0" for h in coll.search("Eiffel Tower Paris", k=10))


def test_upsert_skips_unchanged_content(coll):
    coll.add(TEXTS[:2], ids=["a", "b"])
    again = coll.add(TEXTS[:2], ids=["a", "b"])
    assert (again.unchanged, again.embedded) == (2, 0)
    changed = coll.add([TEXTS[2]], ids=["a"])
    assert (changed.updated, changed.embedded) == (1, 1)
    assert coll.get(["a"])[0].text == TEXTS[2]
    assert coll.search("GPUs for neural networks", k=1)[0].id == "a"
    meta = coll.add([TEXTS[2]], ids=["a"], metadata=[{"v": 2}])
    assert (meta.metadata_updated, meta.embedded) == (1, 0)
    assert coll.get(["a"])[0].metadata == {"v": 2}
    assert coll.check()["ok"]


def test_ids_derived_from_content_are_idempotent(coll):
    first = coll.add(TEXTS[:3])
    second = coll.add(TEXTS[:3])
    assert first.ids == second.ids and second.unchanged == 3 and coll.count() == 3


def test_batch_search_matches_single(coll):
    coll.add(TEXTS)
    queries = ["tallest mountain", "coffee", "fruit"]
    batch = coll.search_batch(queries, k=2)
    for q, hits in zip(queries, batch):
        single = coll.search(q, k=2)
        assert [h.id for h in hits] == [h.id for h in single]
        assert np.allclose([h.score for h in hits], [h.score for h in single], atol=1e-5)


def test_filtered_search_returns_k_whenever_k_match(coll):
    n = 300
    texts = [f"Document number {i} about topic {i % 7}" for i in range(n)]
    coll.add(texts, ids=[str(i) for i in range(n)], metadata=[{"group": i % 50, "i": i} for i in range(n)])
    # 6 documents have group 3; a post-filter over the top hits would usually find fewer
    hits = coll.search("Document about topic 5", k=6, where={"group": 3})
    assert sorted(int(h.id) for h in hits) == [i for i in range(n) if i % 50 == 3]
    hits = coll.search("anything", k=10, where={"$and": [{"i": {"$gte": 100}}, {"i": {"$lt": 104}}]})
    assert sorted(int(h.id) for h in hits) == [100, 101, 102, 103]
    assert coll.search("anything", k=5, where={"group": 999}) == []


def test_collections_create_get_list_drop(db):
    db.create_collection("one", model="hash")
    db.create_collection("two", model="hash").add(["hello"])
    assert [c["name"] for c in db.list_collections()] == ["one", "two"]
    assert db.list_collections()[1]["count"] == 1
    assert db.get_collection("two").count() == 1
    with pytest.raises(vecdb.CollectionExists):
        db.create_collection("one", model="hash")
    db.drop_collection("two")
    assert [c["name"] for c in db.list_collections()] == ["one"]
    with pytest.raises(vecdb.CollectionNotFound):
        db.get_collection("two")


def test_spec_is_recorded_and_enforced(db, minilm, tmp_path):
    c = db.create_collection("s", embedder=minilm)
    spec = c.spec
    assert spec.model == "minilm" and spec.pooling == "mean" and spec.dim == 384
    assert spec.weights_hash.startswith("sha256:") and spec.max_length == 256 and spec.padding_side == "right"
    assert spec.normalize and spec.query_template == "{query}"
    with pytest.raises(vecdb.SpecMismatch) as e:
        db.get_collection("s", pooling="cls")
    assert "pooling" in str(e.value) and "'mean'" in str(e.value)
    with pytest.raises(vecdb.SpecMismatch) as e:
        db.get_collection("s", max_length=128)
    assert "max_length" in str(e.value)
    # the same spec given explicitly is fine
    assert db.get_collection("s", model="minilm", pooling="mean").name == "s"


def test_reopen_keeps_everything(tmp_path):
    with vecdb.open(tmp_path / "r") as d:
        d.create_collection("c", model="hash").add(TEXTS, ids=[str(i) for i in range(6)])
    with vecdb.open(tmp_path / "r") as d:
        c = d.get_collection("c")
        assert c.count() == 6 and c.search("coffee", k=1)[0].id == "4" and c.check()["ok"]


def test_instruction_template_applies_to_queries_only(db, minilm):
    from vecdb.embed import load_embedder

    emb = load_embedder(model="minilm", query_template="query: {query}")
    assert emb.spec.query_template == "query: {query}"
    doc = emb.embed_documents(["coffee"])[0]
    assert np.allclose(doc, minilm.embed_documents(["coffee"])[0], atol=1e-6)
    q = emb.embed_queries(["coffee"])[0]
    assert np.allclose(q, minilm.embed_documents(["query: coffee"])[0], atol=1e-6)


def test_add_with_precomputed_vectors(coll):
    vecs = coll.embedder.embed_documents(TEXTS[:3])
    res = coll.add(TEXTS[:3], ids=["x", "y", "z"], vectors=vecs)
    assert res.added == 3 and res.embedded == 0
    assert coll.search("coffee espresso", k=1)[0].id in {"x", "y", "z"}
    assert np.allclose(coll.get(["y"], include_vectors=True)[0].vector, vecs[1])
    with pytest.raises(vecdb.InvalidArgument) as e:
        coll.add(["a"], vectors=np.zeros((1, 5)))
    assert e.value.argument == "vectors"
