"""RAG evidence on BEIR SciFact: dense vs BM25 (FTS5) vs hybrid (RRF) nDCG@10, long-document chunking,
and citation validity of `ask` with the packaged local model. Writes bench/results/rag.json and rag.md.

    flock /work/heavy.lock python bench/rag_scifact.py [--db PREBUILT_DB] [--asks 5]

--db: a database holding collection "scifact" (MiniLM) built before the FTS migration; it is copied,
opened (the migration backfills the FTS index) and measured. Without it, the corpus is embedded here.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import vecdb  # noqa: E402
from vecdb import evaluate  # noqa: E402
from vecdb.rag.evaluate import long_documents, retrieval_runs  # noqa: E402

SCIFACT = next((p for p in [Path(os.environ.get("VECDB_SCIFACT", ROOT.parent / "shared" / "eval" / "scifact")),
                             ROOT.parents[1] / "shared" / "eval" / "scifact"] if (p / "corpus.jsonl").exists()),
               ROOT.parent / "shared" / "eval" / "scifact")  # a worktree sits one level deeper


def open_scifact(work: Path, prebuilt: Path | None, scifact: Path):
    out = {}
    if prebuilt and (prebuilt / "vecdb.sqlite").exists():
        shutil.copytree(prebuilt, work / "db")
        t = time.perf_counter()
        db = vecdb.open(work / "db")
        out["migration_seconds"] = round(time.perf_counter() - t, 2)
        coll = db.get_collection("scifact")
    else:
        db = vecdb.open(work / "db")
        coll = db.create_collection("scifact")
        for chunk in evaluate.iter_corpus(scifact):
            ids, texts, metas = zip(*chunk)
            coll.add(list(texts), ids=list(ids), metadata=list(metas))
    out["documents"] = coll.count()
    out["fts_rows"] = db.store.fts_count(coll.id)
    return db, coll, out


def retrieval(coll, scifact: Path) -> dict:
    qrels = evaluate.load_qrels(scifact, "test")
    queries = evaluate.load_queries(scifact)
    t = time.perf_counter()
    runs = retrieval_runs(coll, {q: queries[q] for q in sorted(qrels)}, k=100)
    seconds = time.perf_counter() - t
    res = {name: evaluate.score(run, qrels) for name, run in runs.items()}
    res["queries"] = len(qrels)
    res["seconds_all_three"] = round(seconds, 1)
    return res


def citations(coll, scifact: Path, n: int, max_new_tokens: int = 96) -> dict:
    queries = evaluate.load_queries(scifact)
    qrels = evaluate.load_qrels(scifact, "test")
    rows, t = [], time.perf_counter()
    for q in sorted(qrels)[:n]:
        ans = coll.ask(queries[q], k=3, max_tokens=768, hybrid=True, max_new_tokens=max_new_tokens)
        t0 = time.perf_counter()
        first = None
        for ev in ans.events():
            if ev["event"] == "token" and first is None:
                first = time.perf_counter() - t0
        done = ans.result
        rows.append({"query": queries[q], "answer": done["raw_answer"], "valid": [c["citation"] for c in done["citations"]],
                     "invalid": done["invalid_citations"], "first_token_s": round(first or 0, 2),
                     "passages": len(ans.context.passages)})
    cited = [r for r in rows if r["valid"] or r["invalid"]]
    return {"answers": len(rows), "answers_with_citations": len(cited),
            "citations_total": sum(len(r["valid"]) + len(r["invalid"]) for r in rows),
            "citations_invalid_before_check": sum(len(r["invalid"]) for r in rows),
            "seconds_per_answer": round((time.perf_counter() - t) / max(len(rows), 1), 1),
            "max_new_tokens": max_new_tokens, "examples": rows}


def markdown(r: dict) -> str:
    rt = r["retrieval"]
    from bench.machine import label

    lines = [f"# RAG on SciFact ({label(r['machine'])})", "",
             f"{rt['queries']} test queries, {r['setup']['documents']} documents, all-MiniLM-L6-v2; "
             f"FTS rows after the migration's backfill: {r['setup']['fts_rows']}", "",
             "| retrieval | nDCG@10 | Recall@100 | MRR@10 |", "|---|---|---|---|"]
    for name in ("dense", "bm25", "hybrid"):
        m = rt[name]
        lines.append(f"| {name} | {m['ndcg@10']:.4f} | {m['recall@100']:.3f} | {m['mrr@10']:.4f} |")
    ld = r["long_documents"]
    lines += ["", f"Long documents: {ld['long_documents']} texts of {ld['abstracts_per_document']} joined abstracts, "
              f"chunk_size {ld['chunk_size']}, overlap {ld['chunk_overlap']} -> {ld['chunks']} chunks. "
              f"Top-1 chunk lies in the right abstract for {ld['top1_right_abstract_chunked']:.1%} of "
              f"{ld['queries']} queries (abstracts stored whole: {ld['top1_right_abstract_unchunked']:.1%}).", ""]
    c = r.get("citations")
    if c:
        lines += [f"ask (local SmolLM2-135M-Instruct, hybrid k=3, {c['max_new_tokens']} new tokens max): "
                  f"{c['answers']} answers, {c['answers_with_citations']} with citations, {c['citations_total']} "
                  f"citations, {c['citations_invalid_before_check']} pointing at no passage (removed and reported "
                  f"by the check); {c['seconds_per_answer']} s per answer.", ""]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", type=Path, default=None)
    ap.add_argument("--scifact", type=Path, default=SCIFACT)
    ap.add_argument("--asks", type=int, default=5)
    ap.add_argument("--long-docs", type=int, default=20, help="long texts of 5 joined abstracts")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db, coll, setup = open_scifact(Path(tmp), args.db, args.scifact)
        from bench.machine import describe

        r = {"date": time.strftime("%Y-%m-%d", time.gmtime()), "machine": describe(),
             "setup": setup, "retrieval": retrieval(coll, args.scifact),
             "long_documents": long_documents(db, coll, args.scifact, n_docs=args.long_docs)}
        if args.asks:
            r["citations"] = citations(coll, args.scifact, args.asks)
        db.close()
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "rag.json").write_text(json.dumps(r, indent=2) + "\n")
    (args.out / "rag.md").write_text(markdown(r) + "\n")
    print(markdown(r))


if __name__ == "__main__":
    main()
