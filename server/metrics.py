"""A small Prometheus text-format registry: counters and histograms with labels."""
from __future__ import annotations

import threading
from bisect import bisect_left

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)


def _labels(names: tuple[str, ...], values: tuple) -> str:
    if not names:
        return ""
    parts = []
    for n, v in zip(names, values):
        v = str(v).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        parts.append(f'{n}="{v}"')
    return "{" + ",".join(parts) + "}"


class Counter:
    def __init__(self, name: str, help: str, labels: tuple[str, ...] = ()):
        self.name, self.help, self.labels = name, help, labels
        self._values: dict[tuple, float] = {}
        self._lock = threading.Lock()

    def inc(self, *values, amount: float = 1.0) -> None:
        with self._lock:
            self._values[values] = self._values.get(values, 0.0) + amount

    def render(self) -> list[str]:
        out = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} counter"]
        with self._lock:
            for key, v in sorted(self._values.items()):
                out.append(f"{self.name}{_labels(self.labels, key)} {v:g}")
        return out


class Histogram:
    def __init__(self, name: str, help: str, buckets: tuple, labels: tuple[str, ...] = ()):
        self.name, self.help, self.buckets, self.labels = name, help, tuple(buckets), labels
        self._data: dict[tuple, list] = {}  # key -> [bucket counts..., sum, count]
        self._lock = threading.Lock()

    def observe(self, value: float, *values) -> None:
        with self._lock:
            d = self._data.setdefault(values, [0] * len(self.buckets) + [0.0, 0])
            i = bisect_left(self.buckets, value)
            if i < len(self.buckets):
                d[i] += 1
            d[-2] += value
            d[-1] += 1

    def render(self) -> list[str]:
        out = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} histogram"]
        with self._lock:
            for key, d in sorted(self._data.items()):
                cum = 0
                for b, c in zip(self.buckets, d):
                    cum += c
                    out.append(f"{self.name}_bucket{_labels(self.labels + ('le',), key + (f'{b:g}',))} {cum}")
                out.append(f"{self.name}_bucket{_labels(self.labels + ('le',), key + ('+Inf',))} {d[-1]}")
                out.append(f"{self.name}_sum{_labels(self.labels, key)} {d[-2]:g}")
                out.append(f"{self.name}_count{_labels(self.labels, key)} {d[-1]}")
        return out


class Metrics:
    def __init__(self):
        self.requests = Counter("vecdb_http_requests_total", "HTTP requests by method, route and status",
                                ("method", "route", "status"))
        self.latency = Histogram("vecdb_http_request_duration_seconds", "HTTP request latency",
                                 LATENCY_BUCKETS, ("method", "route"))
        self.batch_texts = Histogram("vecdb_embedding_batch_size", "Texts per embedding model call", BATCH_BUCKETS)
        self.batch_requests = Histogram("vecdb_embedding_batch_requests", "Requests merged into one model call",
                                        BATCH_BUCKETS)
        self.embedded = Counter("vecdb_embedded_texts_total", "Texts embedded for requests")

    def on_batch(self, n_texts: int, n_requests: int) -> None:
        self.batch_texts.observe(n_texts)
        self.batch_requests.observe(n_requests)
        self.embedded.inc(amount=n_texts)

    def render(self, documents: dict[str, int]) -> str:
        lines = []
        for m in (self.requests, self.latency, self.batch_texts, self.batch_requests, self.embedded):
            lines += m.render()
        lines += ["# HELP vecdb_documents Documents stored per collection", "# TYPE vecdb_documents gauge"]
        for name, n in sorted(documents.items()):
            lines.append(f"vecdb_documents{_labels(('collection',), (name,))} {n}")
        return "\n".join(lines) + "\n"
