"""VecdbVectorStore for LlamaIndex: a VectorStoreIndex over it retrieves what `vecdb search` finds;
nodes, metadata filters, deletes by document, MMR and hybrid queries; other models' nodes refused."""
import csv
import json
import subprocess

import pytest
from llama_index.core import VectorStoreIndex
from llama_index.core.embeddings import MockEmbedding
from llama_index.core.schema import NodeRelationship, RelatedNodeInfo, TextNode
from llama_index.core.vector_stores.types import (FilterCondition, FilterOperator, MetadataFilter, MetadataFilters,
                                                  VectorStoreQuery, VectorStoreQueryMode)

import vecdb
from vecdb.integrations.llamaindex import VecdbVectorStore, to_where
from tests.conftest import vecdb_cmd


def nodes():
    rows = [("n1", "the cat sat on the mat", "doc-a", {"topic": "pets", "year": 2020}),
            ("n2", "the cat sat on the mat today", "doc-a", {"topic": "pets", "year": 2021}),
            ("n3", "dogs chase the cat", "doc-b", {"topic": "pets", "year": 2022}),
            ("n4", "stock markets fell sharply", "doc-c", {"topic": "finance", "year": 2023})]
    return [TextNode(id_=i, text=t, metadata=m, relationships={NodeRelationship.SOURCE: RelatedNodeInfo(node_id=d)})
            for i, t, d, m in rows]


@pytest.fixture
def store(tmp_path):
    s = VecdbVectorStore("li", db=tmp_path / "db", model="hash")
    yield s
    s.close()


def test_index_insert_retrieve_filter_and_delete(store):
    index = VectorStoreIndex.from_vector_store(store, embed_model=store.embed_model)
    index.insert_nodes(nodes())
    coll = store.client
    assert coll.count() == 4 and coll.get(["n3"])[0].metadata == {"topic": "pets", "year": 2022, "ref_doc_id": "doc-b"}
    got = index.as_retriever(similarity_top_k=2).retrieve("cat on the mat")
    want = coll.search("cat on the mat", k=2)
    assert [(n.node.node_id, n.node.text) for n in got] == [(h.id, h.text) for h in want]
    assert [n.score for n in got] == pytest.approx([h.score for h in want], abs=1e-5)
    assert got[0].node.ref_doc_id == "doc-a" and "ref_doc_id" not in got[0].node.metadata

    finance = MetadataFilters(filters=[MetadataFilter(key="topic", value="finance")])
    assert [n.node.node_id for n in index.as_retriever(similarity_top_k=4, filters=finance).retrieve("cat")] == ["n4"]
    recent = MetadataFilters(filters=[MetadataFilter(key="year", value=2021, operator=FilterOperator.GTE),
                                      MetadataFilter(key="topic", value=["pets"], operator=FilterOperator.IN)])
    assert sorted(n.node.node_id for n in index.as_retriever(similarity_top_k=4, filters=recent).retrieve("cat")) \
        == ["n2", "n3"]

    index.delete_ref_doc("doc-a")
    assert sorted(d.id for d in coll.get()) == ["n3", "n4"]
    store.delete_nodes(filters=finance)
    assert [d.id for d in coll.get()] == ["n3"]
    store.clear()
    assert coll.count() == 0


def test_filters_map_to_where():
    f = MetadataFilters(filters=[MetadataFilter(key="a", value=1),
                                 MetadataFilters(filters=[MetadataFilter(key="b", value=2, operator=FilterOperator.LT),
                                                          MetadataFilter(key="c", value=["x"], operator=FilterOperator.NIN)],
                                                 condition=FilterCondition.OR)])
    assert to_where(f) == {"$and": [{"a": {"$eq": 1}}, {"$or": [{"b": {"$lt": 2}}, {"c": {"$nin": ["x"]}}]}]}
    with pytest.raises(vecdb.Unsupported, match="text_match"):
        to_where(MetadataFilters(filters=[MetadataFilter(key="a", value="x", operator=FilterOperator.TEXT_MATCH)]))


def test_query_modes_get_nodes_and_foreign_vectors(store):
    store.add(nodes())  # no embeddings on the nodes: vecdb embeds them
    q = store.embed_model.get_query_embedding("the cat sat on the mat")
    mmr = store.query(VectorStoreQuery(query_embedding=q, similarity_top_k=2, mode=VectorStoreQueryMode.MMR,
                                       mmr_threshold=0.3))
    assert mmr.ids[0] == "n1" and mmr.ids[1] != "n2"
    hybrid = store.query(VectorStoreQuery(query_str="markets", similarity_top_k=1, mode=VectorStoreQueryMode.HYBRID))
    assert hybrid.ids == ["n4"]
    assert [n.node_id for n in store.get_nodes(["n4", "n1", "zz"])] == ["n4", "n1"]
    assert [n.node_id for n in store.get_nodes(["n4", "n1"], MetadataFilters(filters=[
        MetadataFilter(key="topic", value="pets")]))] == ["n1"]
    foreign = TextNode(id_="n9", text="a new text", embedding=[0.1] * 256)  # right size, another model
    with pytest.raises(vecdb.SpecMismatch):
        store.add([foreign])


def test_an_external_embed_model_is_recorded(tmp_path):
    store = VecdbVectorStore("ext", db=tmp_path / "db", embed_model=MockEmbedding(embed_dim=8))
    index = VectorStoreIndex.from_vector_store(store, embed_model=store.embed_model)
    index.insert_nodes(nodes())
    assert store.client.spec.model == "external:MockEmbedding" and store.client.spec.dim == 8
    assert len(index.as_retriever(similarity_top_k=3).retrieve("cat")) == 3
    store.close()
    with pytest.raises(vecdb.ModelNotAvailable, match="external embedder"):
        VecdbVectorStore("ext", db=tmp_path / "db", model="hash")


def _scifact(scifact, n_docs=500, n_queries=30):
    qrels = {}
    with open(scifact / "qrels" / "test.tsv") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            qrels.setdefault(row["query-id"], []).append(row["corpus-id"])
    qids = sorted(qrels, key=int)[:n_queries]
    queries = {}
    with open(scifact / "queries.jsonl") as f:
        for line in f:
            q = json.loads(line)
            if q["_id"] in qids:
                queries[q["_id"]] = q["text"]
    wanted = {d for q in qids for d in qrels[q]}  # the relevant documents, then the corpus in order
    docs, rest = {}, {}
    with open(scifact / "corpus.jsonl") as f:
        for line in f:
            d = json.loads(line)
            text = f"{d.get('title', '').strip()} {d['text']}".strip()
            (docs if d["_id"] in wanted else rest)[d["_id"]] = text
    for k, v in rest.items():
        if len(docs) >= n_docs:
            break
        docs[k] = v
    return docs, [queries[q] for q in qids]


@pytest.mark.slow
def test_scifact_retriever_matches_vecdb_search(scifact, tmp_path):
    docs, queries = _scifact(scifact)
    assert len(docs) == 500 and len(queries) == 30
    path = tmp_path / "db"
    # float32: the CLI embeds the 30 queries as one padded batch, the retriever one at a time; in
    # bfloat16 that alone moves scores by ~1e-3 and swaps near-ties
    store = VecdbVectorStore("scifact", db=path, model="minilm", dtype="float32")
    index = VectorStoreIndex.from_vector_store(store, embed_model=store.embed_model)
    index.insert_nodes([TextNode(id_=i, text=t) for i, t in docs.items()])
    retriever = index.as_retriever(similarity_top_k=10)
    got = [[n.node.node_id for n in retriever.retrieve(q)] for q in queries]
    store.close()

    out = subprocess.run([*vecdb_cmd(), "search", "--db", str(path), "--collection", "scifact", "-", "-k", "10",
                          "--format", "json"], input="\n".join(queries), capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    want = [[h["id"] for h in r["hits"]] for r in json.loads(out.stdout)]
    assert got == want
