"""Hybrid retrieval: BM25 through SQLite FTS5, dense through FAISS, fused by reciprocal rank fusion."""
from __future__ import annotations

import re
from dataclasses import replace
from typing import Sequence

import numpy as np

from ..records import Hit

RRF_K = 60
WORD = re.compile(r"\w+", re.UNICODE)


def fts_query(text: str) -> str | None:
    """An FTS5 MATCH expression: any of the query's words (quoted, so no operator syntax leaks in)."""
    words = list(dict.fromkeys(w.lower() for w in WORD.findall(text)))
    return " OR ".join(f'"{w}"' for w in words) if words else None


def rrf(rankings: Sequence[Sequence[Hit]], k0: int = RRF_K) -> list[Hit]:
    """Reciprocal rank fusion: score(d) = sum over rankings of 1 / (k0 + rank), rank from 1."""
    scores: dict[object, float] = {}
    first: dict[object, Hit] = {}
    for ranking in rankings:
        for rank, h in enumerate(ranking, 1):
            key = h.row_id if h.row_id is not None else h.id
            scores[key] = scores.get(key, 0.0) + 1.0 / (k0 + rank)
            first.setdefault(key, h)
    order = sorted(scores, key=lambda key: -scores[key])
    return [replace(first[key], score=scores[key]) for key in order]


def group_by_document(hits: Sequence[Hit]) -> list[Hit]:
    """The best hit of each parent document, in rank order."""
    seen, out = set(), []
    for h in hits:
        if h.document_id not in seen:
            seen.add(h.document_id)
            out.append(h)
    return out


def retrieve(coll, query: str, depth: int, *, where: dict | None = None, task: str | None = None,
             hybrid: bool = False) -> tuple[list[Hit], np.ndarray]:
    """Candidates best first, and the query vector."""
    qvec = coll.embedder.embed_queries([query], task=task)
    dense = coll.search_vectors(qvec, k=depth, where=where)[0]
    if not hybrid:
        return dense, qvec[0]
    return rrf([dense, coll.bm25(query, depth, where)])[:depth], qvec[0]


def search(coll, query: str, k: int, *, where: dict | None = None, task: str | None = None,
           hybrid: bool = False, group: bool = False) -> list[Hit]:
    depth = max(k, 100) if hybrid else k
    total = coll.count()
    while True:
        hits = retrieve(coll, query, depth * (4 if group else 1), where=where, task=task, hybrid=hybrid)[0]
        if not group:
            return hits[:k]
        grouped = group_by_document(hits)
        if len(grouped) >= k or depth * 4 >= total:
            return grouped[:k]
        depth *= 4
