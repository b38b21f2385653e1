"""Dynamic batching: embedding requests from many callers merged into shared model batches.

Callers `submit` texts and get a Future. One worker thread takes the oldest request, waits up to
`max_wait_ms` for more requests with the same embedder and kind (query/document/task), stops early
at `token_budget` approximate tokens or `max_items` texts, runs the model once and splits the result.
"""
from __future__ import annotations

import threading
import time
from collections import deque
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from .base import Embedder


def approx_tokens(texts: Sequence[str]) -> int:
    """A cheap upper-ish estimate (about 4 characters a token, plus special tokens)."""
    return sum(len(t) // 4 + 2 for t in texts)


@dataclass
class _Request:
    embedder: Embedder
    kind: str            # "query" or "document"
    task: str | None
    texts: list[str]
    tokens: int
    future: Future = field(default_factory=Future)

    @property
    def key(self) -> tuple:
        return (id(self.embedder), self.kind, self.task)


class Batcher:
    """Merge concurrent embedding requests. `on_batch(n_texts, n_requests)` observes each model call."""

    def __init__(self, max_wait_ms: float = 5.0, token_budget: int = 8192, max_items: int = 256,
                 on_batch: Callable[[int, int], None] | None = None, autostart: bool = True):
        self.max_wait = max_wait_ms / 1000.0
        self.token_budget = token_budget
        self.max_items = max_items
        self.on_batch = on_batch
        self._queue: deque[_Request] = deque()
        self._cond = threading.Condition()
        self._closed = False
        self._thread: threading.Thread | None = None
        if autostart:
            self.start()

    def start(self) -> None:
        with self._cond:
            if self._thread is None and not self._closed:
                self._thread = threading.Thread(target=self._run, daemon=True, name="vecdb-batcher")
                self._thread.start()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=30)
        for r in self._drain():
            r.future.set_exception(RuntimeError("batcher closed"))

    def _drain(self) -> list[_Request]:
        with self._cond:
            out = list(self._queue)
            self._queue.clear()
        return out

    def submit(self, embedder: Embedder, texts: Sequence[str], kind: str = "document",
               task: str | None = None) -> Future:
        """A Future for the (n, dim) float32 vectors of `texts`."""
        if kind not in ("query", "document"):
            raise ValueError(f"kind: must be query or document, got {kind!r}")
        texts = list(texts)
        req = _Request(embedder, kind, task, texts, approx_tokens(texts))
        if not texts:
            req.future.set_result(np.zeros((0, embedder.dim), np.float32))
            return req.future
        with self._cond:
            if self._closed:
                raise RuntimeError("batcher closed")
            self._queue.append(req)
            self._cond.notify_all()
        return req.future

    def embed(self, embedder: Embedder, texts: Sequence[str], kind: str = "document",
              task: str | None = None) -> np.ndarray:
        return self.submit(embedder, texts, kind, task).result()

    # ---- worker --------------------------------------------------------
    def _take(self) -> list[_Request] | None:
        """The next group: the oldest request plus compatible ones arriving before the deadline."""
        with self._cond:
            while not self._queue and not self._closed:
                self._cond.wait()
            if self._closed:
                return None
            first = self._queue.popleft()
            group, items, tokens = [first], len(first.texts), first.tokens
            deadline = time.monotonic() + self.max_wait
            full = False
            while not full:
                for r in list(self._queue):  # requests already waiting, in arrival order
                    if r.key != first.key:
                        continue
                    if items + len(r.texts) > self.max_items or tokens + r.tokens > self.token_budget:
                        full = True
                        break
                    self._queue.remove(r)
                    group.append(r)
                    items += len(r.texts)
                    tokens += r.tokens
                left = deadline - time.monotonic()
                if full or left <= 0 or items >= self.max_items or tokens >= self.token_budget:
                    break
                self._cond.wait(left)
                if self._closed:
                    break
            return group

    def _run(self) -> None:
        while True:
            group = self._take()
            if group is None:
                return
            live = [r for r in group if r.future.set_running_or_notify_cancel()]
            if not live:
                continue
            texts = [t for r in live for t in r.texts]
            first = live[0]
            try:
                if first.kind == "query":
                    vecs = first.embedder.embed_queries(texts, task=first.task)
                else:
                    vecs = first.embedder.embed_documents(texts)
            except BaseException as e:  # every waiting caller gets the error
                for r in live:
                    r.future.set_exception(e)
                continue
            if self.on_batch:
                try:
                    self.on_batch(len(texts), len(live))
                except Exception:
                    pass
            start = 0
            for r in live:
                r.future.set_result(vecs[start:start + len(r.texts)])
                start += len(r.texts)
