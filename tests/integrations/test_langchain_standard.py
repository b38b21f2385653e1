"""LangChain's standard vector store suite (langchain-tests), the one its partner packages must pass,
run unchanged against VecdbVectorStore on a local database with the suite's own Embeddings object."""
import pytest
from langchain_tests.integration_tests import VectorStoreIntegrationTests

import vecdb
from vecdb.integrations.langchain import VecdbVectorStore


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
