"""Retrieval runs for evaluation: dense, BM25-only and hybrid (RRF) over the same collection."""
from __future__ import annotations

from .retrieve import bm25, rrf


def retrieval_runs(coll, queries: dict[str, str], k: int = 100) -> dict[str, dict[str, dict[str, float]]]:
    """{"dense"|"bm25"|"hybrid": {query_id: {doc_id: score}}}; hybrid fuses the two top-k lists, as
    Collection.search(hybrid=True) does. Chunk hits count for their parent document (best chunk)."""
    qids = list(queries)
    vecs = coll.embedder.embed_queries([queries[q] for q in qids])
    dense = coll.search_vectors(vecs, k=k)
    runs: dict[str, dict] = {"dense": {}, "bm25": {}, "hybrid": {}}
    for qid, d in zip(qids, dense):
        s = bm25(coll, queries[qid], k)
        for name, hits in (("dense", d), ("bm25", s), ("hybrid", rrf([d, s])[:k])):
            run: dict[str, float] = {}
            for h in hits:
                run.setdefault(h.document_id, h.score)
            runs[name][qid] = run
    return runs
