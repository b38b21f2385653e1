"""collection.context(): numbered passages for a prompt, diverse (MMR), de-duplicated, within a token budget."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from .. import validate
from ..errors import InvalidArgument
from .retrieve import retrieve

DUPLICATE_COSINE = 0.95


@dataclass
class Passage:
    citation: int                 # [n] in the prompt
    id: str                       # row id (a chunk id for chunked documents)
    document_id: str              # the parent document
    text: str
    score: float                  # retrieval score (cosine, or RRF when hybrid)
    tokens: int
    source: str | None = None
    span: tuple[int, int] | None = None
    metadata: dict | None = None

    def to_dict(self) -> dict:
        return {"citation": self.citation, "id": self.id, "document_id": self.document_id, "source": self.source,
                "span": list(self.span) if self.span else None, "score": self.score, "tokens": self.tokens,
                "text": self.text, "metadata": self.metadata}

    def label(self) -> str:
        where = self.source or self.document_id
        return f"{where}:{self.span[0]}-{self.span[1]}" if self.span else where


@dataclass
class Context:
    question: str
    passages: list[Passage] = field(default_factory=list)
    max_tokens: int = 0

    @property
    def tokens(self) -> int:
        return sum(p.tokens for p in self.passages)

    def render(self) -> str:
        """The passages as prompt text: `[n] (source) text`, separated by blank lines."""
        return "\n\n".join(f"[{p.citation}] ({p.label()}) {p.text}" for p in self.passages)

    def to_dict(self) -> dict:
        return {"question": self.question, "max_tokens": self.max_tokens, "tokens": self.tokens,
                "passages": [p.to_dict() for p in self.passages]}


def check_question(question) -> str:
    if not isinstance(question, str) or not question.strip():
        raise InvalidArgument("question: must be a non-empty string", argument="question")
    return question


def check_budget(max_tokens) -> int:
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens <= 0:
        raise InvalidArgument(f"max_tokens: must be a positive integer, got {max_tokens!r}", argument="max_tokens")
    return max_tokens


def check_mmr(mmr) -> float | None:
    if mmr is None:
        return None
    if isinstance(mmr, bool) or not isinstance(mmr, (int, float)) or not 0.0 <= mmr <= 1.0:
        raise InvalidArgument(f"mmr: lambda must be a number from 0 to 1, got {mmr!r}", argument="mmr")
    return float(mmr)


def mmr_order(query: np.ndarray, vectors: np.ndarray, lam: float, n: int) -> list[int]:
    """Maximal marginal relevance: pick argmax lam*sim(q, d) - (1-lam)*max sim(d, picked), n times."""
    if len(vectors) == 0:
        return []
    return mmr_select(vectors @ query, vectors, lam, n)


def mmr_select(relevance: np.ndarray, vectors: np.ndarray, lam: float, n: int) -> list[int]:
    """MMR from each item's relevance to the query (its cosine score) and the items' vectors."""
    if len(vectors) == 0:
        return []
    rel = np.asarray(relevance, dtype=np.float32)
    sim = vectors @ vectors.T
    picked: list[int] = []
    left = list(range(len(vectors)))
    while left and len(picked) < n:
        red = sim[np.ix_(left, picked)].max(axis=1) if picked else np.zeros(len(left))
        best = int(np.argmax(lam * rel[left] - (1 - lam) * red))
        picked.append(left.pop(best))
    return picked


def near_duplicates(vectors: np.ndarray, texts: Sequence[str], threshold: float = DUPLICATE_COSINE) -> list[int]:
    """Indexes to keep: each item unless its text equals, or its cosine reaches `threshold` with, an earlier kept one."""
    keep: list[int] = []
    seen: set[str] = set()
    for i, t in enumerate(texts):
        norm = " ".join(t.lower().split())
        if norm in seen or (keep and float((vectors[keep] @ vectors[i]).max()) >= threshold):
            continue
        seen.add(norm)
        keep.append(i)
    return keep


def token_counter(coll):
    tok = getattr(coll.embedder, "tokenizer", None)
    if tok is None:
        return lambda texts: coll.embedder.count_tokens(texts)
    return lambda texts: [len(x) for x in tok(list(texts), add_special_tokens=False, truncation=False,
                                              verbose=False)["input_ids"]]


def build_context(coll, question: str, k: int = 5, max_tokens: int = 1024, *, mmr: float | None = None,
                  hybrid: bool = False, dedupe: bool = True, where: dict | None = None,
                  candidates: int | None = None) -> Context:
    """Retrieve `candidates` (default 4k, at least 20), drop near-duplicates, order by MMR if asked,
    then number passages in order while they fit in `max_tokens` (the collection tokenizer's count)."""
    check_question(question)
    validate.k(k)
    check_budget(max_tokens)
    lam = check_mmr(mmr)
    depth = candidates or max(4 * k, 20)
    hits, qvec = retrieve(coll, question, depth, where=where, hybrid=hybrid)
    ctx = Context(question, [], max_tokens)
    if not hits:
        return ctx
    docs = {d.id: d.vector for d in coll.get([h.id for h in hits], include_vectors=True)}
    hits = [h for h in hits if h.id in docs]  # deleted meanwhile
    vecs = np.stack([docs[h.id] for h in hits]).astype(np.float32)
    order = list(range(len(hits)))
    if dedupe:
        order = near_duplicates(vecs, [h.text for h in hits])
    if lam is not None:
        sub = mmr_order(qvec, vecs[order], lam, len(order))
        order = [order[i] for i in sub]
    counts = token_counter(coll)([hits[i].text for i in order])
    for i, n in zip(order, counts):
        if len(ctx.passages) == k:
            break
        if ctx.tokens + n > max_tokens:
            continue
        h = hits[i]
        ctx.passages.append(Passage(len(ctx.passages) + 1, h.id, h.document_id, h.text, h.score, n, h.source,
                                    h.span, h.metadata))
    if not ctx.passages:
        raise InvalidArgument(f"max_tokens: {max_tokens} is too small for a single passage (the shortest "
                              f"retrieved passage needs {min(counts)} tokens)", argument="max_tokens")
    return ctx
