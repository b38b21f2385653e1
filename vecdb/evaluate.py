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


def evaluate_collection(coll, folder: str | Path, split: str = "test", k: int = 100, query_batch: int = 256,
                        progress=None) -> dict:
    """Stream the corpus into `coll` (unchanged documents are not re-embedded), search every judged
    query and score. Returns the five metrics plus embed_seconds (corpus pass) and docs_per_second."""
    import time

    qrels = load_qrels(folder, split)  # check the split exists before embedding anything
    queries = load_queries(folder)
    qids = [q for q in sorted(qrels) if q in queries]
    if not qids:
        raise InvalidArgument(f"dataset: no query of qrels/{split}.tsv is in queries.jsonl", argument="dataset")
    t0, n = time.perf_counter(), 0
    for chunk in iter_corpus(folder):
        ids, texts, metas = zip(*chunk)
        coll.add(list(texts), ids=list(ids), metadata=list(metas))
        n += len(ids)
        if progress:
            progress(len(ids))
    seconds = time.perf_counter() - t0
    run: dict[str, dict[str, float]] = {}
    for start in range(0, len(qids), query_batch):
        part = qids[start:start + query_batch]
        for q, hits in zip(part, coll.search_batch([queries[q] for q in part], k=k)):
            run[q] = {h.id: h.score for h in hits}
    out = score(run, qrels)
    out["embed_seconds"] = seconds
    out["docs_per_second"] = n / seconds if seconds > 0 else 0.0
    return out


def evaluate_dataset(folder: str | Path, split: str = "test", *, db_path: str | Path | None = None,
                     collection: str | None = None, progress=None, **embedder_options) -> dict:
    """Evaluate an embedding configuration in a new collection "eval" (in a throwaway database unless
    db_path is given), or with `collection`, an existing collection in the database at db_path."""
    import tempfile

    import vecdb

    load_qrels(folder, split)
    if collection is not None:
        if db_path is None:
            raise InvalidArgument("db: --collection needs a database", argument="db")
        with vecdb.open(db_path, create=False) as db:
            return evaluate_collection(db.get_collection(collection, **embedder_options), folder, split,
                                       progress=progress)
    with tempfile.TemporaryDirectory(prefix="vecdb-eval-") as tmp:
        with vecdb.open(db_path or tmp) as db:
            coll = db.create_collection("eval", embedder_options.pop("model", None) or "minilm", **embedder_options)
            return evaluate_collection(coll, folder, split, progress=progress)
