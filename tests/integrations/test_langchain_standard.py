"""LangChain's standard vector store suite (langchain-tests), the one its partner packages must pass,
run unchanged against VecdbVectorStore with the suite's own Embeddings object: on a local database,
and on Milvus Lite (the store is written on vecdb's Collection interface, so any backend serves)."""
import itertools

import pytest
from langchain_tests.integration_tests import VectorStoreIntegrationTests

import vecdb
from vecdb.integrations.langchain import VecdbVectorStore

names = itertools.count()


class TestVecdbVectorStore(VectorStoreIntegrationTests):
    @pytest.fixture()
    def vectorstore(self, tmp_path):
        db = vecdb.open(tmp_path / "db")
        store = VecdbVectorStore("standard", self.get_embeddings(), db=db)
        try:
            yield store
        finally:
            db.drop_collection("standard")
            db.close()


@pytest.fixture(scope="module")
def milvus_lite(tmp_path_factory):
    db = vecdb.open(f"milvus-lite://{tmp_path_factory.mktemp('lc-milvus') / 'vectors.db'}")
    yield db
    db.close()


class TestVecdbVectorStoreOnMilvusLite(VectorStoreIntegrationTests):
    @pytest.fixture()
    def vectorstore(self, milvus_lite):
        name = f"standard{next(names)}"
        store = VecdbVectorStore(name, self.get_embeddings(), db=milvus_lite)
        try:
            yield store
        finally:
            milvus_lite.drop_collection(name)
