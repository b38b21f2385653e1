"""VecdbVectorStore beyond the standard suite: the collection's own embedder, where filters, MMR,
retrievers, async calls, and an external Embeddings object never mixed with vecdb's models."""
import asyncio

import pytest
from langchain_core.embeddings import DeterministicFakeEmbedding

import vecdb
from vecdb.integrations.langchain import VecdbVectorStore

TEXTS = ["the cat sat on the mat", "the cat sat on the mat today", "dogs chase the cat",
         "stock markets fell sharply", "bond markets rallied"]
META = [{"topic": "pets", "n": 1}, {"topic": "pets", "n": 2}, {"topic": "pets", "n": 3},
        {"topic": "finance", "n": 4}, {"topic": "finance", "n": 5}]
IDS = ["a", "b", "c", "d", "e"]


@pytest.fixture
def store(db):
    s = VecdbVectorStore("lc", db=db, model="hash")
    s.add_texts(TEXTS, META, ids=IDS)
    return s


def test_own_embedder_gives_the_collections_hits(store, db):
    coll = db.get_collection("lc")
    assert coll.spec.model == "hash"
    got = store.similarity_search_with_score("cat on a mat", k=3)
    want = coll.search("cat on a mat", k=3)
    assert [(d.id, d.page_content, d.metadata) for d, _ in got] == [(h.id, h.text, h.metadata) for h in want]
    assert [s for _, s in got] == pytest.approx([h.score for h in want])
    rel = store.similarity_search_with_relevance_scores("cat on a mat", k=3)
    assert all(0.0 <= s <= 1.0 for _, s in rel) and rel[0][1] == pytest.approx((1 + got[0][1]) / 2)
    assert store.embeddings.embed_query("cat") == pytest.approx(coll.embedder.embed_queries(["cat"])[0].tolist())


def test_filters_use_the_where_grammar(store):
    docs = store.similarity_search("markets", k=5, filter={"topic": "finance"})
    assert sorted(d.id for d in docs) == ["d", "e"]
    docs = store.similarity_search("cat", k=5, filter={"$and": [{"topic": "pets"}, {"n": {"$gte": 2}}]})
    assert sorted(d.id for d in docs) == ["b", "c"]
    docs = store.similarity_search("cat", k=5, where={"n": {"$in": [1, 5]}})
    assert sorted(d.id for d in docs) == ["a", "e"]
    with pytest.raises(vecdb.InvalidFilter):
        store.similarity_search("cat", k=5, filter={"n": {"$near": 1}})


def test_mmr_skips_the_near_duplicate(store):
    plain = [d.id for d in store.similarity_search("the cat sat on the mat", k=2)]
    mmr = [d.id for d in store.max_marginal_relevance_search("the cat sat on the mat", k=2, fetch_k=5,
                                                              lambda_mult=0.3)]
    assert plain == ["a", "b"]
    assert mmr[0] == "a" and mmr[1] != "b"
    vec = store.embeddings.embed_query("the cat sat on the mat")
    assert [d.id for d in store.max_marginal_relevance_search_by_vector(vec, k=2, fetch_k=5, lambda_mult=0.3)] == mmr
    assert [d.id for d in store.similarity_search_by_vector(vec, k=2)] == plain


def test_retriever_and_async(store):
    retriever = store.as_retriever(search_kwargs={"k": 2, "filter": {"topic": "finance"}})
    assert [d.id for d in retriever.invoke("markets")] == [d.id for d in store.similarity_search(
        "markets", k=2, filter={"topic": "finance"})]
    mmr = store.as_retriever(search_type="mmr", search_kwargs={"k": 2, "fetch_k": 5, "lambda_mult": 0.3})
    assert [d.id for d in mmr.invoke("the cat sat on the mat")] == [
        d.id for d in store.max_marginal_relevance_search("the cat sat on the mat", k=2, fetch_k=5, lambda_mult=0.3)]

    async def run():
        return (await store.asimilarity_search("cat", k=3), await store.aget_by_ids(["e", "zz", "a"]),
                await store.amax_marginal_relevance_search("cat", k=2, fetch_k=5))

    found, by_id, mmr_docs = asyncio.run(run())
    assert [d.id for d in found] == [d.id for d in store.similarity_search("cat", k=3)]
    assert sorted(d.id for d in by_id) == ["a", "e"] and len(mmr_docs) == 2


def test_delete_by_ids_filter_and_all(store, db):
    coll = db.get_collection("lc")
    store.delete(["a", "a", "missing"])
    assert coll.count() == 4
    store.delete(filter={"topic": "finance"})
    assert sorted(d.id for d in coll.get()) == ["b", "c"]
    store.delete()
    assert coll.count() == 0


def test_ids_default_to_content_so_re_adding_is_idempotent(db):
    store = VecdbVectorStore.from_texts(["alpha beta", "gamma delta"], None, [{"k": 1}, {"k": 2}],
                                        collection="ft", db=db, model="hash")
    again = store.add_texts(["alpha beta", "gamma delta"])
    assert db.get_collection("ft").count() == 2
    assert sorted(again) == sorted(d.id for d in db.get_collection("ft").get())


def test_external_embeddings_are_recorded_and_never_mixed(tmp_path):
    path = tmp_path / "ext"
    store = VecdbVectorStore("ext", DeterministicFakeEmbedding(size=6), db=path)
    store.add_texts(["foo", "bar"], ids=["1", "2"])
    spec = store.collection.spec
    assert spec.model == "external:DeterministicFakeEmbedding" and spec.dim == 6
    assert spec.weights_hash.startswith("external:")
    store.close()

    again = VecdbVectorStore("ext", DeterministicFakeEmbedding(size=6), db=path)  # same class, same settings
    assert [d.id for d in again.similarity_search("bar", k=1)] == ["2"]
    again.close()
    with pytest.raises(vecdb.SpecMismatch):   # another external model
        VecdbVectorStore("ext", DeterministicFakeEmbedding(size=7), db=path)
    with pytest.raises(vecdb.ModelNotAvailable, match="external embedder"):  # vecdb's own embedder
        VecdbVectorStore("ext", db=path)
    with vecdb.open(path) as db:
        with pytest.raises(vecdb.ModelNotAvailable, match="external embedder"):
            db.get_collection("ext", model="hash")
        with pytest.raises(vecdb.ModelNotAvailable, match="external embedder"):
            db.get_collection("ext").search("bar")
        db.create_collection("own", model="hash")
    with pytest.raises(vecdb.SpecMismatch):   # a vecdb model's collection refuses an Embeddings object
        VecdbVectorStore("own", DeterministicFakeEmbedding(size=6), db=path)
