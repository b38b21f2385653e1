"""Length-sorted, token-budget batches with padding on either side, prepared in a background thread."""
from __future__ import annotations

import queue
import threading
from typing import Iterator

import numpy as np
import torch


def plan(lengths: list[int], token_budget: int, max_batch: int) -> list[np.ndarray]:
    """Indices of each batch: longest first, each batch at most token_budget padded tokens."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    out, i = [], 0
    while i < len(order):
        size = max(1, min(max_batch, token_budget // max(lengths[order[i]], 1)))
        out.append(np.asarray(order[i:i + size]))
        i += size
    return out


def pad(seqs: list[list[int]], pad_id: int, left: bool, skip: list[int] | None = None) -> dict:
    """input_ids, attention_mask and (when `skip` is given) a pool_mask without the first skip[i] tokens."""
    width = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    pool_mask = torch.zeros((len(seqs), width), dtype=torch.long) if skip is not None else None
    for r, seq in enumerate(seqs):
        start = width - len(seq) if left else 0
        ids[r, start:start + len(seq)] = torch.tensor(seq, dtype=torch.long)
        mask[r, start:start + len(seq)] = 1
        if pool_mask is not None:
            pool_mask[r, start + min(skip[r], len(seq) - 1):start + len(seq)] = 1
    return {"input_ids": ids, "attention_mask": mask, "pool_mask": pool_mask}


def split(batch: dict) -> tuple[dict, dict]:
    half = batch["input_ids"].shape[0] // 2
    a = {k: (v[:half] if v is not None else None) for k, v in batch.items()}
    b = {k: (v[half:] if v is not None else None) for k, v in batch.items()}
    return a, b


_END = object()


def prefetch(gen: Iterator, depth: int = 2) -> Iterator:
    """Run a generator in a thread, `depth` items ahead (tokenise while the model runs)."""
    q: queue.Queue = queue.Queue(maxsize=depth)
    err: list[BaseException] = []
    stop = threading.Event()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def worker():
        try:
            for item in gen:
                if not put(item):
                    return
        except BaseException as e:  # re-raised in the consumer
            err.append(e)
        finally:
            put(_END)

    t = threading.Thread(target=worker, daemon=True, name="vecdb-tokenize")
    t.start()
    try:
        while True:
            item = q.get()
            if item is _END:
                break
            yield item
    finally:
        stop.set()
    if err:
        raise err[0]
