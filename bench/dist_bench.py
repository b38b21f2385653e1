"""Evidence for the Milvus backend and Ray ingest (issue 8).

    python bench/dist_bench.py [--prebuilt DB] [--skip-ray]   (DB default: bench/cache.py builds it once)

1. Copies a prebuilt SciFact MiniLM database (collection "scifact"), exports it to Milvus Lite (vectors
   copied, nothing re-embedded), embeds the 300 test queries once with the collection's spec, searches
   both backends with the same query vectors (k=100) and scores nDCG@10 with pytrec_eval.
2. Embeds the SciFact corpus (title + text) with MiniLM float32 twice: a plain in-process add (what
   `vecdb add --jsonl` does; --limit N takes the first N documents) and Ray ingest on a local Ray with 2 CPUs (2 actors x 1 CPU), and reports
   docs/s for both, plus the largest difference between their vectors.
Writes bench/results/dist.{json,md}.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SCIFACT = Path(os.environ.get("VECDB_SCIFACT") or next(
    (p for p in (ROOT.parent / "shared" / "eval" / "scifact", ROOT.parents[1] / "shared" / "eval" / "scifact")
     if p.exists()), ROOT.parent / "shared" / "eval" / "scifact"))  # a worktree sits one level deeper


def ranking(coll, qids, qvecs, k=100):
    run = {}
    for start in range(0, len(qids), 64):
        for qid, hits in zip(qids[start:start + 64], coll.search_vectors(qvecs[start:start + 64], k=k)):
            run[qid] = {h.id: h.score for h in hits}
    return run


def quality(prebuilt: Path, work: Path) -> dict:
    import vecdb
    from vecdb.evaluate import load_qrels, load_queries, score
    from vecdb.transfer import copy_collection

    local_dir = work / "local"
    shutil.copytree(prebuilt, local_dir)
    qrels = load_qrels(SCIFACT)
    queries = load_queries(SCIFACT)
    qids = [q for q in queries if q in qrels]
    with vecdb.open(local_dir) as local, vecdb.open(f"milvus-lite://{work / 'scifact.db'}") as lite:
        src = local.get_collection("scifact")
        t0 = time.perf_counter()
        moved = copy_collection(src, lite, batch_size=1000)
        export_s = time.perf_counter() - t0
        dst = lite.get_collection("scifact")
        qvecs = src.embedder.embed_queries([queries[q] for q in qids])
        out = {"documents": src.count(), "milvus_count": dst.count(), "export_seconds": round(export_s, 2),
               "copied": moved.copied, "spec_dtype": src.spec.dtype, "queries": len(qids)}
        for name, coll in (("local", src), ("milvus_lite", dst)):
            t0 = time.perf_counter()
            run = ranking(coll, qids, qvecs)
            out[f"{name}_search_seconds"] = round(time.perf_counter() - t0, 3)
            out[f"{name}_ndcg@10"] = round(score(run, qrels)["ndcg@10"], 5)
        out["ndcg_diff"] = round(abs(out["local_ndcg@10"] - out["milvus_lite_ndcg@10"]), 5)
    return out


def ingest_speed(work: Path, limit: int | None = None) -> dict:
    import ray

    import vecdb
    from vecdb.distributed.ray_ingest import ingest
    from vecdb.embed import load_embedder
    from vecdb.evaluate import iter_corpus

    docs = [d for chunk in iter_corpus(SCIFACT) for d in chunk][:limit]
    path = work / "corpus.jsonl"
    with open(path, "w", encoding="utf-8") as f:
        for i, t, m in docs:
            f.write(json.dumps({"id": i, "text": t, "metadata": m}, ensure_ascii=False) + "\n")
    emb = load_embedder(model="minilm", dtype="float32")
    out = {"documents": len(docs), "model": "minilm", "dtype": "float32"}
    with vecdb.open(work / "speed") as db:
        plain = db.create_collection("plain", embedder=emb)
        t0 = time.perf_counter()
        plain.add([t for _, t, _ in docs], ids=[i for i, _, _ in docs], metadata=[m for _, _, m in docs])
        out["plain_seconds"] = round(time.perf_counter() - t0, 2)
        t0 = time.perf_counter()
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
        out["ray_init_seconds"] = round(time.perf_counter() - t0, 2)
        viaray = db.create_collection("ray", embedder=emb)
        res = ingest(viaray, [path], batch_size=256, concurrency=2)
        out["ray_seconds"] = round(res.seconds, 2)
        out["ray_failed"] = res.failed
        t0 = time.perf_counter()
        again = ingest(viaray, [path], batch_size=256, concurrency=2)
        out["ray_resume_seconds"] = round(time.perf_counter() - t0, 2)
        out["ray_resume_embedded"] = again.embedded
        ray.shutdown()
        ids = [i for i, _, _ in docs]
        diff = 0.0
        for start in range(0, len(ids), 1000):
            a = {d.id: d.vector for d in plain.get(ids[start:start + 1000], include_vectors=True)}
            b = {d.id: d.vector for d in viaray.get(ids[start:start + 1000], include_vectors=True)}
            diff = max(diff, max(float(np.abs(a[i] - b[i]).max()) for i in a))
        out["max_abs_vector_diff"] = diff
    out["plain_docs_per_s"] = round(len(docs) / out["plain_seconds"], 1)
    out["ray_docs_per_s"] = round(len(docs) / out["ray_seconds"], 1)
    out["ray_vs_plain"] = round(out["ray_docs_per_s"] / out["plain_docs_per_s"], 3)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--prebuilt", default=None, help="a SciFact MiniLM database (default: bench/cache.py)")
    ap.add_argument("--skip-ray", action="store_true")
    ap.add_argument("--skip-quality", action="store_true")
    ap.add_argument("--limit", type=int, default=None, help="first N corpus documents for the ingest timing")
    args = ap.parse_args()
    from bench.machine import describe

    results = {"date": time.strftime("%Y-%m-%d", time.gmtime()), "machine": describe()}
    with tempfile.TemporaryDirectory() as tmp:
        if not args.skip_quality:
            from bench.cache import scifact_db

            results["scifact_backends"] = quality(scifact_db(args.prebuilt), Path(tmp))
            print(json.dumps(results["scifact_backends"], indent=2))
        if not args.skip_ray:
            results["ray_ingest"] = ingest_speed(Path(tmp), args.limit)
            print(json.dumps(results["ray_ingest"], indent=2))
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    old = json.loads((out / "dist.json").read_text()) if (out / "dist.json").exists() else {}
    results = {**old, **results}
    (out / "dist.json").write_text(json.dumps(results, indent=2) + "\n")
    from bench.machine import label

    lines = [f"# Milvus and Ray ({label(results['machine'])})", ""]
    q = results.get("scifact_backends")
    if q:
        lines += ["| SciFact (prebuilt MiniLM, %s) | local | Milvus Lite |" % q["spec_dtype"], "|---|---|---|",
                  f"| nDCG@10 | {q['local_ndcg@10']:.4f} | {q['milvus_lite_ndcg@10']:.4f} |",
                  f"| 300 queries, k=100, seconds | {q['local_search_seconds']} | {q['milvus_lite_search_seconds']} |",
                  "", f"Export of {q['documents']} documents to Milvus Lite: {q['export_seconds']} s; "
                  f"nDCG@10 difference {q['ndcg_diff']}.", ""]
    r = results.get("ray_ingest")
    if r:
        lines += [f"| SciFact corpus ({r['documents']} docs, MiniLM fp32) | seconds | docs/s |", "|---|---|---|",
                  f"| plain add | {r['plain_seconds']} | {r['plain_docs_per_s']} |",
                  f"| Ray ingest, local Ray 2 CPUs, 2 actors | {r['ray_seconds']} | {r['ray_docs_per_s']} |",
                  f"| Ray ingest again (resume: all skipped) | {r['ray_resume_seconds']} | - |", "",
                  f"Ray init {r['ray_init_seconds']} s (not included). Largest vector difference Ray vs plain: "
                  f"{r['max_abs_vector_diff']:.2e}.", ""]
    (out / "dist.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
