"""Hard negatives mined from a collection's own index.

For each training query, the collection ranks its documents; the top `skip_top` ranks are skipped (likely
unlabelled positives), labelled positives are excluded wherever they rank, and the next `n` documents
become the query's hard negatives."""
from __future__ import annotations

from typing import Sequence

from ..errors import InvalidArgument
from .data import Example


def mine(collection, examples: Sequence[Example], n: int = 7, skip_top: int = 3, batch_size: int = 64,
         progress=None) -> list[Example]:
    """Adds up to n mined negatives (texts, with their ids) to each example, in place; returns the examples."""
    if n < 1:
        raise InvalidArgument(f"hard_negatives: must be >= 1, got {n}", argument="hard_negatives")
    if skip_top < 0:
        raise InvalidArgument(f"skip_top: must be >= 0, got {skip_top}", argument="skip_top")
    by_query: dict[tuple, list[Example]] = {}
    for ex in examples:
        by_query.setdefault((ex.query, ex.instruction), []).append(ex)
    keys = list(by_query)
    k = min(skip_top + n + max(len(v[0].positive_ids) for v in by_query.values()) + 1, 1000)
    for start in range(0, len(keys), batch_size):
        chunk = keys[start:start + batch_size]
        for instruction in {c[1] for c in chunk}:
            part = [c for c in chunk if c[1] == instruction]
            hits = collection.search_batch([c[0] for c in part], k=k, task=instruction)
            for key, ranked in zip(part, hits):
                group = by_query[key]
                positives = set().union(*(ex.positive_ids | {ex.key(), ex.positive} for ex in group))
                picked = [h for h in ranked[skip_top:] if h.id not in positives and h.text not in positives][:n]
                for ex in group:
                    pad = [None] * (len(ex.negatives) - len(ex.negative_ids))
                    ex.negative_ids = ex.negative_ids + pad + [h.id for h in picked]
                    ex.negatives = ex.negatives + [h.text for h in picked]
        if progress:
            progress(len(chunk))
    return list(examples)
