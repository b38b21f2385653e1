"""Retrieval runs for evaluation: dense, BM25-only and hybrid (RRF) over the same collection."""
from __future__ import annotations

import random
import time
from pathlib import Path

from .. import evaluate
from .retrieve import rrf


def retrieval_runs(coll, queries: dict[str, str], k: int = 100) -> dict[str, dict[str, dict[str, float]]]:
    """{"dense"|"bm25"|"hybrid": {query_id: {doc_id: score}}}; hybrid fuses the two top-k lists, as
    Collection.search(hybrid=True) does. Chunk hits count for their parent document (best chunk)."""
    qids = list(queries)
    vecs = coll.embedder.embed_queries([queries[q] for q in qids])
    dense = coll.search_vectors(vecs, k=k)
    runs: dict[str, dict] = {"dense": {}, "bm25": {}, "hybrid": {}}
    for qid, d in zip(qids, dense):
        s = coll.bm25(queries[qid], k)
        for name, hits in (("dense", d), ("bm25", s), ("hybrid", rrf([d, s])[:k])):
            run: dict[str, float] = {}
            for h in hits:
                run.setdefault(h.document_id, h.score)
            runs[name][qid] = run
    return runs


def long_documents(db, coll, scifact: Path, n_docs: int = 20, per_doc: int = 5, chunk_size: int = 256,
                   overlap: int = 32, seed: int = 0) -> dict:
    """Join `per_doc` judged abstracts into one text, chunk it, and check that each abstract's query
    ranks a chunk of that abstract first (vs the same abstracts stored whole)."""
    qrels = evaluate.load_qrels(scifact, "test")
    queries = evaluate.load_queries(scifact)
    pairs, used = [], set()
    for q in sorted(qrels):
        d = next(iter(sorted(qrels[q])))
        if d not in used:
            used.add(d)
            pairs.append((q, d))
    random.Random(seed).shuffle(pairs)
    pairs = pairs[:n_docs * per_doc]
    texts = {d.id: d.text for d in coll.get([d for _, d in pairs])}
    pairs = [(q, d) for q, d in pairs if d in texts]
    long = db.create_collection("long", embedder=coll.embedder)
    whole = db.create_collection("whole", embedder=coll.embedder)
    spans, bodies = {}, []
    for g in range(0, len(pairs), per_doc):
        parts, pos = [], 0
        for _, d in pairs[g:g + per_doc]:
            spans[d] = (f"long{g // per_doc}", pos, pos + len(texts[d]))
            parts.append(texts[d])
            pos += len(texts[d]) + 2
        bodies.append((f"long{g // per_doc}", "\n\n".join(parts)))
    t = time.perf_counter()
    res = long.add([b for _, b in bodies], ids=[i for i, _ in bodies], chunk_size=chunk_size, chunk_overlap=overlap)
    chunk_seconds = time.perf_counter() - t
    whole.add([texts[d] for _, d in pairs], ids=[d for _, d in pairs])
    qs = [queries[q] for q, _ in pairs]
    top_chunk = [h[0] for h in long.search_batch(qs, k=1)]
    top_whole = [h[0].id for h in whole.search_batch(qs, k=1)]
    right_chunk = right_whole = 0
    for (q, d), hit, w in zip(pairs, top_chunk, top_whole):
        parent, s, e = spans[d]
        overlap_chars = max(0, min(e, hit.span[1]) - max(s, hit.span[0])) if hit.parent_id == parent else 0
        right_chunk += overlap_chars * 2 >= hit.span[1] - hit.span[0]  # mostly inside the right abstract
        right_whole += w == d
    return {"long_documents": len(bodies), "abstracts_per_document": per_doc, "queries": len(pairs),
            "chunk_size": chunk_size, "chunk_overlap": overlap, "chunks": res.added,
            "chunk_and_embed_seconds": round(chunk_seconds, 1),
            "top1_right_abstract_chunked": round(right_chunk / len(pairs), 4),
            "top1_right_abstract_unchunked": round(right_whole / len(pairs), 4)}
