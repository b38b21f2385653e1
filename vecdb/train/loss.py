"""InfoNCE on plain embedding tensors.

    L = -log( φ(q, d⁺) / (φ(q, d⁺) + Σ_{n∈N} φ(q, n)) ),   φ(a, b) = exp(cos(a, b) / τ)

N is every other candidate in the batch: the other queries' positives (in-batch negatives) and all hard
negatives. A candidate that is the query's positive under another name (same document id, identical
text, or listed in `positive_ids`) is a false negative and is masked out."""
from __future__ import annotations

from typing import Hashable, Sequence

import torch
import torch.nn.functional as F

from ..errors import InvalidArgument


def false_negative_mask(pos_ids: Sequence[Hashable], cand_ids: Sequence[Hashable],
                        pos_texts: Sequence[str] | None = None, cand_texts: Sequence[str] | None = None,
                        positive_ids: Sequence[set] | None = None) -> torch.Tensor:
    """(B, C) bool: True where candidate j must not count as a negative for query i (j != i)."""
    b, c = len(pos_ids), len(cand_ids)
    mask = torch.zeros(b, c, dtype=torch.bool)
    for i in range(b):
        known = positive_ids[i] if positive_ids is not None else ()
        for j in range(c):
            if j == i:
                continue
            same = cand_ids[j] is not None and (cand_ids[j] == pos_ids[i] or cand_ids[j] in known)
            if not same and pos_texts is not None and cand_texts is not None:
                same = cand_texts[j] == pos_texts[i]
            mask[i, j] = same
    return mask


def info_nce(queries: torch.Tensor, positives: torch.Tensor, negatives: torch.Tensor | None = None, *,
             tau: float = 0.05, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Mean InfoNCE over B queries.

    queries, positives: (B, D); negatives: (M, D) hard negatives shared by the batch (or (B, K, D), flattened).
    Candidates are [positives; negatives]; query i's positive is candidate i. `mask` (B, B + M) marks false
    negatives to drop (see false_negative_mask)."""
    if tau <= 0:
        raise InvalidArgument(f"tau: must be > 0, got {tau}", argument="tau")
    if queries.shape != positives.shape or queries.dim() != 2:
        raise InvalidArgument(f"positives: expected shape {tuple(queries.shape)}, got {tuple(positives.shape)}",
                              argument="positives")
    cands = positives
    if negatives is not None and negatives.numel():
        cands = torch.cat([positives, negatives.reshape(-1, positives.shape[-1])])
    logits = F.normalize(queries, dim=-1) @ F.normalize(cands, dim=-1).T / tau  # (B, C) = cos / τ
    if mask is not None:
        if mask.shape != logits.shape:
            raise InvalidArgument(f"mask: expected shape {tuple(logits.shape)}, got {tuple(mask.shape)}",
                                  argument="mask")
        mask = mask.to(logits.device).clone()
        mask.fill_diagonal_(False)  # never mask a query's own positive
        logits = logits.masked_fill(mask, float("-inf"))
    target = torch.arange(queries.shape[0], device=logits.device)
    return F.cross_entropy(logits, target)
