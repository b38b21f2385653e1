"""Frozen-model features for pooling-only training: the model runs once, the pooling layer trains on the cache.

A linear pooler is proj(mean(h)) or proj(last(h)), so its frozen input is one vector per text ("mean",
"last"); an attention pooler needs every token's hidden state ("tokens"). One forward pass yields all of
them: EOS is appended for "last", and left out of "mean" and "tokens" (in a causal decoder no token sees a
later one, so this equals a pass without the EOS)."""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import torch

from ..embed import batching
from ..embed.pooling import last_index, mean

BASES = ("mean", "last", "tokens")


def frozen_features(emb, texts: Sequence[str], kind: str = "document", bases: Sequence[str] = ("mean",),
                    task: str | None = None, progress: Callable[[int], None] | None = None,
                    formatted: bool = False) -> dict:
    """{base: array (N, D)} for "mean"/"last"; {"tokens": list of (T_i, D) float16 tensors}.
    `formatted`: the texts already carry their template."""
    texts = list(texts)
    if formatted:
        formatted = texts
    elif kind == "document":
        formatted = [emb.spec.format_document(t) for t in texts]
    else:
        formatted = [emb.spec.format_query(q, task) for q in texts]
    eos = emb.eos_id if "last" in bases and emb.is_decoder and emb.eos_id is not None else None
    limit = emb.spec.max_length - (1 if eos is not None else 0)
    ids = emb.tokenizer(formatted, add_special_tokens=True, truncation=True, max_length=limit,
                        return_attention_mask=False, return_token_type_ids=False)["input_ids"]
    if eos is not None:
        ids = [x if x and x[-1] == eos else x + [eos] for x in ids]
    n, dim = len(texts), emb.pooler.dim
    out: dict = {b: np.zeros((n, dim), np.float32) for b in bases if b != "tokens"}
    if "tokens" in bases:
        out["tokens"] = [None] * n
    with torch.inference_mode():
        for idx in batching.plan([len(x) for x in ids], emb.token_budget, emb.max_batch):
            batch = batching.pad([ids[i] for i in idx], emb.pad_id, emb.spec.padding_side == "left")
            mask = batch["attention_mask"].to(emb.device)
            h = emb.hidden_states(batch)  # the embedder's own forward pass
            rows = torch.arange(len(idx), device=h.device)
            body = mask.clone()
            if eos is not None:
                body[rows, last_index(mask)] = 0
            if "last" in out:
                out["last"][idx] = h[rows, last_index(mask)].cpu().numpy()
            if "mean" in out:
                out["mean"][idx] = mean(h, body).cpu().numpy()
            if "tokens" in out:
                for r, i in enumerate(idx):
                    out["tokens"][i] = h[r][body[r].bool()].to(torch.float16).cpu()
            if progress:
                progress(len(idx))
    return out
