"""MiniLM on BEIR SciFact reproduces MTEB's published nDCG@10 (0.645) within 0.01."""
import time

import pytest

import vecdb
from vecdb import evaluate


@pytest.mark.slow
def test_scifact_ndcg(scifact, tmp_path, minilm):
    with vecdb.open(tmp_path / "sf") as db:
        c = db.create_collection("scifact", embedder=minilm)
        t0 = time.perf_counter()
        n = 0
        for chunk in evaluate.iter_corpus(scifact):
            ids, texts, metas = zip(*chunk)
            c.add(list(texts), ids=list(ids), metadata=list(metas))
            n += len(ids)
        seconds = time.perf_counter() - t0
        qrels = evaluate.load_qrels(scifact, "test")
        queries = evaluate.load_queries(scifact)
        qids = sorted(qrels)
        hits = c.search_batch([queries[q] for q in qids], k=100)
        run = {q: {h.id: h.score for h in hs} for q, hs in zip(qids, hits)}
        m = evaluate.score(run, qrels)
        print(f"\nSciFact: {n} docs in {seconds:.1f}s ({n / seconds:.1f} docs/s, dtype {minilm.spec.dtype}); {m}")
        assert n == 5183
        assert abs(m["ndcg@10"] - 0.645) <= 0.01, m
