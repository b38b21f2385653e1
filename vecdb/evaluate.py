"""BEIR-format evaluation: load corpus/queries/qrels, score a run with trec_eval (pytrec_eval)."""
from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Iterator

from .errors import InvalidArgument

METRICS = ("ndcg@10", "recall@10", "recall@100", "mrr@10", "map@10")


def _need(path: Path, what: str) -> Path:
    if not path.exists():
        raise InvalidArgument(f"dataset: {what} not found at {str(path)!r}", argument="dataset")
    return path


def iter_corpus(folder: str | Path, chunk: int = 2048) -> Iterator[list[tuple[str, str, dict | None]]]:
    """Chunks of (doc_id, title + ' ' + text, metadata) streamed from corpus.jsonl."""
    path = _need(Path(folder) / "corpus.jsonl", "corpus.jsonl")
    batch = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                d = json.loads(line)
                doc_id = str(d["_id"])
            except (ValueError, KeyError):
                raise InvalidArgument(f"dataset: corpus.jsonl line {n} is not a BEIR document", argument="dataset")
            title = (d.get("title") or "").strip()
            text = (d.get("text") or "").strip()
            full = f"{title} {text}".strip() if title else text
            if full:
                batch.append((doc_id, full, {"title": title} if title else None))
            if len(batch) >= chunk:
                yield batch
                batch = []
    if batch:
        yield batch


def load_queries(folder: str | Path) -> dict[str, str]:
    out = {}
    with open(_need(Path(folder) / "queries.jsonl", "queries.jsonl"), encoding="utf-8") as f:
        for line in f:
            if line.strip():
                d = json.loads(line)
                out[str(d["_id"])] = d["text"]
    return out


def load_qrels(folder: str | Path, split: str = "test") -> dict[str, dict[str, int]]:
    path = _need(Path(folder) / "qrels" / f"{split}.tsv", f"qrels/{split}.tsv")
    qrels: dict[str, dict[str, int]] = {}
    with open(path, encoding="utf-8") as f:
        for row in csv.reader(f, delimiter="\t"):
            if len(row) < 3 or row[0] == "query-id":
                continue
            qrels.setdefault(row[0], {})[row[1]] = int(row[2])
    return qrels


def score(run: dict[str, dict[str, float]], qrels: dict[str, dict[str, int]]) -> dict[str, float]:
    """trec_eval definitions through pytrec_eval, averaged over the judged queries."""
    import pytrec_eval

    run = {q: {d: float(s) for d, s in docs.items()} for q, docs in run.items() if q in qrels}
    for q in qrels:
        run.setdefault(q, {})
    top10 = {q: dict(sorted(docs.items(), key=lambda x: -x[1])[:10]) for q, docs in run.items()}
    full = pytrec_eval.RelevanceEvaluator(qrels, {"ndcg_cut.10", "recall.10", "recall.100", "map_cut.10"})
    rr = pytrec_eval.RelevanceEvaluator(qrels, {"recip_rank"})
    a, b = full.evaluate(run), rr.evaluate(top10)
    n = len(qrels)

    def mean(res, key):
        return sum(res[q][key] for q in qrels if q in res) / n

    return {"ndcg@10": mean(a, "ndcg_cut_10"), "recall@10": mean(a, "recall_10"),
            "recall@100": mean(a, "recall_100"), "mrr@10": mean(b, "recip_rank"), "map@10": mean(a, "map_cut_10")}
