"""VecdbVectorStore over a live `vecdb serve` (url=): LangChain's standard suite again, then the
answers compared with the library's on the same collection (the server embeds with its model)."""
import itertools

import pytest
from langchain_tests.integration_tests import VectorStoreIntegrationTests

import vecdb
from tests.server.conftest import Server
from vecdb.integrations.langchain import VecdbVectorStore

names = itertools.count()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    path = tmp_path_factory.mktemp("remote") / "db"
    s = Server(path, None, "--model", "hash").wait()
    yield s, path
    s.stop()


class TestVecdbVectorStoreOverHttp(VectorStoreIntegrationTests):
    """The suite's Embeddings object is not used: a server embeds with the collection's own model."""

    @pytest.fixture()
    def vectorstore(self, server):
        store = VecdbVectorStore(f"standard{next(names)}", url=server[0].url, model="hash")
        try:
            yield store
        finally:
            store.collection.drop()
            store.close()


def test_remote_answers_equal_the_librarys(server):
    store = VecdbVectorStore("same", url=server[0].url, model="hash")
    texts = ["the cat sat on the mat", "the cat sat on the mat today", "dogs chase the cat", "markets fell"]
    store.add_texts(texts, [{"n": i} for i in range(4)], ids=["a", "b", "c", "d"])
    with vecdb.open(server[1]) as db:
        coll = db.get_collection("same")
        want = coll.search("cat on a mat", k=3, where={"n": {"$lt": 3}})
        qvec = coll.embedder.embed_queries(["the cat sat on the mat"])[0]
        local = VecdbVectorStore("same", db=db)
        want_mmr = [d.id for d in local.max_marginal_relevance_search("the cat sat on the mat", k=2, fetch_k=4,
                                                                       lambda_mult=0.3)]
    got = store.similarity_search_with_score("cat on a mat", k=3, filter={"n": {"$lt": 3}})
    assert [(d.id, d.metadata) for d, _ in got] == [(h.id, h.metadata) for h in want]
    assert [s for _, s in got] == pytest.approx([h.score for h in want], abs=1e-5)
    assert [d.id for d in store.max_marginal_relevance_search("the cat sat on the mat", k=2, fetch_k=4,
                                                              lambda_mult=0.3)] == want_mmr
    with pytest.raises(vecdb.Unsupported, match="by text"):
        store.similarity_search_by_vector(qvec.tolist(), k=2)
    with pytest.raises(vecdb.InvalidArgument, match="where"):
        store.similarity_search("cat", filter={"n": {"$near": 1}})
    with pytest.raises(vecdb.Unsupported):
        VecdbVectorStore("same", object(), url=server[0].url)
    store.delete(filter={"n": {"$gte": 2}})
    assert sorted(d.id for d in store.get_by_ids(["a", "b", "c", "d"])) == ["a", "b"]
    store.close()
