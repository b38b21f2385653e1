"""SciFact evidence: hybrid (RRF of dense and FTS5 BM25) nDCG@10 >= each alone; long-document chunking
still ranks the right abstract's chunk first. Uses a prebuilt MiniLM SciFact database when one is
present (VECDB_SCIFACT_DB, built before the FTS migration: opening it backfills FTS), else a copy of the
session's SciFact database (tests/slow/conftest.py), so the corpus is embedded once per run."""
import os
import shutil
from pathlib import Path

import pytest

import vecdb
from vecdb import evaluate
from vecdb.rag.evaluate import long_documents, retrieval_runs

PREBUILT = Path(os.environ.get("VECDB_SCIFACT_DB", Path(__file__).resolve().parents[3] / "cache" / "scifact-minilm"))


@pytest.fixture(scope="module")
def rag_db(request, tmp_path_factory, minilm):
    path = tmp_path_factory.mktemp("rag") / "db"
    source = PREBUILT if (PREBUILT / "vecdb.sqlite").exists() else request.getfixturevalue("scifact_db")[0]
    shutil.copytree(source, path)  # a copy: these tests add collections
    db = vecdb.open(path)
    yield db, db.get_collection("scifact", embedder=minilm)
    db.close()


@pytest.mark.slow
def test_hybrid_ndcg_at_least_dense_and_bm25(scifact, rag_db):
    db, coll = rag_db
    assert db.store.fts_count(coll.id) == coll.count()  # backfilled / maintained
    qrels = evaluate.load_qrels(scifact, "test")
    queries = evaluate.load_queries(scifact)
    runs = retrieval_runs(coll, {q: queries[q] for q in sorted(qrels)}, k=100)
    m = {name: evaluate.score(run, qrels)["ndcg@10"] for name, run in runs.items()}
    print(f"\nSciFact nDCG@10 ({coll.count()} docs): {m}")
    assert m["hybrid"] >= m["dense"] and m["hybrid"] >= m["bm25"], m
    q = sorted(qrels)[0]  # the public search path gives the same fused ranking
    alone = retrieval_runs(coll, {q: queries[q]}, k=100)["hybrid"][q]  # one query per batch, as search embeds it
    assert [h.id for h in coll.search(queries[q], k=10, hybrid=True)] == list(alone)[:10]


@pytest.mark.slow
def test_long_document_chunk_first(scifact, rag_db):
    db, coll = rag_db
    r = long_documents(db, coll, scifact, n_docs=8, per_doc=5)
    print(f"\nlong documents: {r}")
    assert r["chunks"] > r["long_documents"]
    assert r["top1_right_abstract_chunked"] >= r["top1_right_abstract_unchunked"] - 0.05, r
