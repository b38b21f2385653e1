"""One contract, every backend: each public method of vecdb.Collection behaves the same on local
(SQLite + FAISS), Milvus Lite and a real Milvus server. The fake `hash` embedder keeps it fast."""
import numpy as np
import pytest

import vecdb
from vecdb.errors import InvalidArgument, InvalidFilter, NotFound, SpecMismatch, Unsupported

from .backends import DOCS, covers

pytestmark = pytest.mark.contract


@covers("Collection.add", "Collection.get", "Collection.count")
def test_add_get_count(shared_docs):
    assert shared_docs.count() == 5
    got = shared_docs.get(["e", "missing", "a"])
    assert [d.id for d in got] == ["e", "a"]
    assert got[0].text == DOCS[4][1] and got[0].metadata is None
    assert got[1].metadata == DOCS[0][2]


@covers("Collection.add", "Collection.lookup")
def test_upsert_and_skip_by_hash(docs):
    res = docs.add(["The cat sat on the mat", "Dogs are loyal companions", "new text here", "changed river"],
                   ids=["a", "b", "f", "c"], metadata=[DOCS[0][2], {"kind": "dog"}, None, {"kind": "nature"}])
    assert res.to_dict() == {"added": 1, "updated": 1, "metadata_updated": 1, "unchanged": 1, "embedded": 2}
    assert docs.count() == 6
    assert docs.get(["b"])[0].metadata == {"kind": "dog"}
    assert docs.get(["c"])[0].text == "changed river"
    again = docs.add(["new text here"], ids=["f"])
    assert again.unchanged == 1 and again.embedded == 0
    known = docs.lookup(["f", "zz", "b"])
    assert set(known) == {"f", "b"} and known["b"].metadata == '{"kind":"dog"}'
    assert len(known["f"].content_hash) == 64


@covers("Collection.add")
def test_auto_ids_are_idempotent_and_input_is_checked_first(store):
    c = store.create_collection("auto", model="hash")
    first = c.add(["alpha", "beta"])
    second = c.add(["alpha", "beta"])
    assert first.ids == second.ids and second.unchanged == 2 and c.count() == 2
    with pytest.raises(InvalidArgument):
        c.add(["ok", "also ok", ""], ids=["x", "y", "z"])
    with pytest.raises(InvalidArgument):
        c.add(["ok"], ids=["x"], metadata=[{"k": float("nan")}])
    if c.max_text_bytes is not None:  # a backend's own limit is checked before anything is written
        with pytest.raises(InvalidArgument, match=f"at most {c.max_text_bytes} bytes"):
            c.add(["ok", "é" * c.max_text_bytes], ids=["x", "y"])
    assert c.count() == 2 and c.get(["x"]) == []


@covers("Collection.add", "Collection.search_vectors")
def test_precomputed_vectors(docs):
    got = docs.get(["a"], include_vectors=True)[0].vector
    np.testing.assert_allclose(got, docs.embedder.embed_documents(["The cat sat on the mat"])[0], atol=1e-6)
    v = np.random.default_rng(0).normal(size=(1, docs.spec.dim)).astype(np.float32)
    v /= np.linalg.norm(v)
    res = docs.add(["precomputed"], ids=["p"], vectors=v)
    assert res.added == 1 and res.embedded == 0
    assert np.array_equal(docs.get(["p"], include_vectors=True)[0].vector, v[0])
    assert docs.search_vectors(v, k=1)[0][0].id == "p"
    with pytest.raises(InvalidArgument):
        docs.add(["bad"], ids=["q"], vectors=np.zeros((1, 5), np.float32))
    with pytest.raises(InvalidArgument):
        docs.search_vectors(np.zeros((1, 5), np.float32))


@covers("Collection.add", "Collection.get", "Collection.search")
def test_chunked_add_replaces_chunks_and_skips_unchanged(docs):
    long = " ".join(f"Sentence number {i} talks about rivers and the ocean." for i in range(40))
    res = docs.add([long], ids=["long"], chunk_size=32, chunk_overlap=4, metadata=[{"kind": "essay"}])
    assert res.chunked and res.documents == 1 and res.added > 3
    rows = docs.get(where={"kind": "essay"})
    assert {d.parent_id for d in rows} == {"long"} and all(long[d.span[0]:d.span[1]] == d.text for d in rows)
    again = docs.add([long], ids=["long"], chunk_size=32, chunk_overlap=4, metadata=[{"kind": "essay"}])
    assert again.documents_unchanged == 1 and again.embedded == 0
    short = docs.add(["Only one short chunk about rivers."], ids=["long"], chunk_size=32, chunk_overlap=4)
    assert short.added + short.updated == 1
    assert docs.count() == 6 and [d.id for d in docs.get(where={"kind": "essay"})] == []
    hits = docs.search("short chunk about rivers", k=3, group_by_document=True)
    assert hits[0].document_id == "long"
    with pytest.raises(InvalidArgument):
        docs.add([long], chunk_size=4)


@covers("Collection.delete")
def test_delete_by_id_and_where(docs):
    assert docs.delete(["a", "zz", "b"]) == 2
    assert docs.count() == 3 and docs.get(["a", "b"]) == []
    assert docs.delete(where={"kind": "nature"}, dry_run=True) == 2 and docs.count() == 3
    assert docs.delete(where={"kind": "nature"}) == 2
    assert [d.id for d in docs.get()] == ["e"]
    with pytest.raises(InvalidArgument):
        docs.delete()
    with pytest.raises(InvalidArgument):
        docs.delete(where={})


@covers("Collection.get")
def test_get_pages_filters_and_includes(shared_docs):
    everything = [d.id for d in shared_docs.get()]
    assert sorted(everything) == ["a", "b", "c", "d", "e"]
    pages = [d.id for off in range(0, 5, 2) for d in shared_docs.get(limit=2, offset=off)]
    assert pages == everything
    assert {d.id for d in shared_docs.get(where={"kind": "pet"})} == {"a", "b"}
    slim = shared_docs.get(["a"], include=["metadata"])[0]
    assert slim.text is None and slim.metadata == DOCS[0][2] and slim.vector is None
    assert shared_docs.get(["a"], include=["vector"])[0].vector.shape == (shared_docs.spec.dim,)
    with pytest.raises(InvalidArgument):
        shared_docs.get(["a"], limit=1)
    with pytest.raises(InvalidArgument):
        shared_docs.get(include=["bogus"])


@covers("Collection.iter_documents")
def test_iter_documents(shared_docs):
    batches = list(shared_docs.iter_documents(batch_size=2))
    assert all(len(b) <= 2 for b in batches)
    seen = {d.id: d for b in batches for d in b}
    assert set(seen) == {"a", "b", "c", "d", "e"} and seen["e"].metadata is None
    assert seen["a"].vector.shape == (shared_docs.spec.dim,)


@covers("Collection.search", "Collection.search_batch")
def test_search_and_batch(shared_docs):
    hits = shared_docs.search("the cat on a mat", k=2)
    assert hits[0].id == "a" and len(hits) == 2 and hits[0].score >= hits[1].score
    assert hits[0].text == DOCS[0][1] and hits[0].metadata == DOCS[0][2]
    batch = shared_docs.search_batch(["the cat on a mat", "river ocean"], k=3)
    assert [h[0].id for h in batch] == ["a", "c"]
    assert len(shared_docs.search("anything", k=50)) == 5
    top = shared_docs.search("the cat on a mat", k=5, min_score=hits[0].score)
    assert [h.id for h in top] == ["a"]
    bare = shared_docs.search("the cat on a mat", k=1, include=[])
    assert bare[0].id == "a" and bare[0].text is None and bare[0].metadata is None


@pytest.mark.parametrize("filt, expected", [
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
@covers("Collection.search")
def test_filters(shared_docs, filt, expected):
    assert {h.id for h in shared_docs.search("text", k=10, where=filt)} == expected
    assert {d.id for d in shared_docs.get(where=filt)} == expected


@covers("Collection.search")
def test_bad_filter_is_refused(shared_docs):
    with pytest.raises(InvalidFilter):
        shared_docs.search("x", where={"$bogus": 1})


@covers("Collection.similar")
def test_similar(docs):
    docs.add(["The cat sat on the rug"], ids=["a2"])
    hits = docs.similar("a", k=2)
    assert hits[0].id == "a2" and "a" not in [h.id for h in hits] and len(hits) == 2
    with pytest.raises(NotFound):
        docs.similar("nope")


@covers("Collection.bm25", "Collection.search", "Collection.supports", "Collection.require")
def test_keyword_and_hybrid_search_or_a_clear_refusal(shared_docs):
    if shared_docs.supports("keyword_search"):
        assert [h.id for h in shared_docs.bm25("ocean", k=3)] == ["c"]
        assert shared_docs.search("river ocean", k=2, hybrid=True)[0].id == "c"
        shared_docs.require("keyword_search", "hybrid")
    else:
        for call in (lambda: shared_docs.bm25("ocean"), lambda: shared_docs.search("ocean", hybrid=True),
                     lambda: shared_docs.require("keyword_search", "hybrid")):
            with pytest.raises(Unsupported, match=f"hybrid: keyword search is not available on the {shared_docs.backend}"):
                call()


@covers("Collection.context", "Collection.tokenizer")
def test_context(shared_docs):
    ctx = shared_docs.context("where does the river flow", k=2, max_tokens=200, mmr=0.5)
    assert 1 <= len(ctx.passages) <= 2 and ctx.passages[0].citation == 1
    assert "river" in ctx.render() and ctx.tokens <= 200
    assert shared_docs.tokenizer()("two words", add_special_tokens=False)["input_ids"]


@covers("Collection.ask")
def test_ask_with_a_generator(shared_docs):
    from vecdb.rag.generate import Generator

    class Echo(Generator):
        name = "echo"

        def stream(self, messages, max_new_tokens=256, temperature=0.0):
            yield "It flows into the ocean [1]."

    done = shared_docs.ask("where does the river flow", k=2, generator=Echo()).complete()
    assert done["citations"][0]["citation"] == 1 and done["answer"].endswith("[1].")


@covers("Collection.info", "Collection.check", "Collection.save")
def test_info_check_save(shared_docs):
    info = shared_docs.info()
    assert info["name"] == "docs" and info["count"] == 5 and info["backend"] == shared_docs.backend
    assert info["spec"]["model"] == "hash" and isinstance(info["capabilities"], list)
    assert shared_docs.check()["ok"]
    shared_docs.save()


@covers("Collection.embedder", "Collection.embedder_loaded", "Collection.check_embedder")
def test_embedder_is_checked_against_the_spec(store, docs):
    from vecdb.embed import load_embedder

    again = store.get_collection("docs")
    assert again.embedder.spec == docs.spec and again.embedder_loaded
    docs.check_embedder(load_embedder(model="hash"))
    with pytest.raises(SpecMismatch):
        docs.check_embedder(load_embedder(model="hash", max_length=64))


def test_errors_are_vecdb_errors(shared_docs):
    """No public method answers bad input with anything but a VecdbError."""
    bad_calls = [lambda: shared_docs.add(123), lambda: shared_docs.get(5), lambda: shared_docs.search(""), lambda: shared_docs.search("x", k=0),
                 lambda: shared_docs.search_batch("x", k=True), lambda: shared_docs.similar(""), lambda: shared_docs.context("x", k=-1),
                 lambda: shared_docs.delete(["a"], where={"kind": "pet"}), lambda: shared_docs.iter_documents(0).__next__(),
                 lambda: shared_docs.search("x", min_score="high")]
    for call in bad_calls:
        with pytest.raises(vecdb.VecdbError):
            call()
