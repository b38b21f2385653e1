"""Index types at scale: flat / hnsw / ivf on 100k and 1M clustered synthetic 384-d vectors (plus SciFact).

    python bench/scale.py [--sizes 100000,1000000] [--queries 200] [--hnsw-max 200000] [--no-scifact]

Measures, through vecdb's own index classes: build time (add + training), memory (RSS growth and the index's
own estimate), p50/p99 latency of single queries at k=10, and recall@10 against exact search, sweeping
ef_search (hnsw) and nprobe (ivf). Data: fixed seeds; FAISS runs with one OpenMP thread (one query at a
time on a shared machine). Writes bench/results/scale.{json,md,png} and prints the table.
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
OUT = ROOT / "bench" / "results"
SCIFACT = Path(os.environ.get("VECDB_SCIFACT", ROOT.parent / "shared" / "eval" / "scifact"))
SCIFACT_DB = os.environ.get("VECDB_SCIFACT_DB")  # default: bench/cache.py builds it once
DIM = 384


def clustered(n: int, seed: int, centers: np.ndarray) -> np.ndarray:
    """Points around random centres (a Gaussian blob each), L2-normalised; generated in chunks."""
    rng = np.random.default_rng(seed)
    out = np.empty((n, DIM), np.float32)
    for s in range(0, n, 100_000):
        m = min(100_000, n - s)
        x = centers[rng.integers(0, len(centers), m)] + rng.standard_normal((m, DIM), dtype=np.float32) * 0.03
        out[s:s + m] = x / np.linalg.norm(x, axis=1, keepdims=True)
    return out


def exact_top(x: np.ndarray, q: np.ndarray, k: int = 10) -> np.ndarray:
    best_s = np.full((len(q), k), -np.inf, np.float32)
    best_i = np.zeros((len(q), k), np.int64)
    for s in range(0, len(x), 200_000):
        sims = q @ x[s:s + 200_000].T
        top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        cs = np.concatenate([best_s, np.take_along_axis(sims, top, 1)], 1)
        ci = np.concatenate([best_i, top + s], 1)
        order = np.argsort(-cs, 1)[:, :k]
        best_s, best_i = np.take_along_axis(cs, order, 1), np.take_along_axis(ci, order, 1)
    return best_i


def rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def measure(dataset: str, x: np.ndarray, q: np.ndarray, gt: np.ndarray, config: dict, sweep: list[tuple[str, int]],
            build_threads: int = 1):
    import faiss

    from vecdb.index import create_index

    faiss.omp_set_num_threads(build_threads)
    gc.collect()
    r0 = rss()
    t = time.perf_counter()
    ix = create_index(config, DIM)
    ids = np.arange(len(x), dtype=np.int64)
    for s in range(0, len(x), 100_000):
        ix.add(ids[s:s + 100_000], x[s:s + 100_000])
    ix.prepare()
    build = time.perf_counter() - t
    faiss.omp_set_num_threads(1)  # queries: one thread
    gc.collect()
    mem = rss() - r0
    rows = []
    for key, value in sweep or [(None, None)]:
        if key:
            ix.p[key] = value
        ix.search(q[:5], 10)  # warm-up
        lat, got = [], []
        for i in range(len(q)):
            t = time.perf_counter()
            _, lab = ix.search(q[i:i + 1], 10)
            lat.append(time.perf_counter() - t)
            got.append(lab[0])
        recall = float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(got, gt)]))
        lat_ms = np.array(lat) * 1000
        st = ix.stats()
        rows.append({"dataset": dataset, "n": len(x), "index": config["type"], "dtype": st["dtype"],
                     "params": ", ".join(f"{k}={v}" for k, v in st.items() if k in ("M", "ef_search", "nlist", "nprobe",
                                                                                     "pq")),
                     "build_s": round(build, 2), "build_threads": build_threads, "rss_mb": round(mem / 2**20, 1),
                     "index_mb": round(st["memory_bytes"] / 2**20, 1), "p50_ms": round(float(np.percentile(lat_ms, 50)), 3),
                     "p99_ms": round(float(np.percentile(lat_ms, 99)), 3), "recall@10": round(recall, 4)})
        print(_line(rows[-1]), flush=True)
    del ix
    gc.collect()
    return rows


COLS = ["dataset", "n", "index", "dtype", "params", "build_s", "rss_mb", "index_mb", "p50_ms", "p99_ms", "recall@10"]


def _line(r: dict) -> str:
    return " | ".join(str(r[c]) for c in COLS)


def scifact_vectors():
    """The SciFact MiniLM document vectors from a prebuilt vecdb database, and the embedded test queries."""
    import shutil
    import tempfile

    import vecdb
    from vecdb import evaluate

    if not (SCIFACT / "queries.jsonl").exists():
        return None
    from bench.cache import scifact_db

    source = scifact_db(SCIFACT_DB)
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copytree(source, Path(tmp) / "db")
        with vecdb.open(Path(tmp) / "db") as db:
            c = db.get_collection("scifact")
            vecs = np.concatenate([np.stack([np.frombuffer(r[4], "<f4") for r in chunk])
                                   for chunk in c.store.iter_documents(c.id, chunk=2000)])
            qrels, queries = evaluate.load_qrels(SCIFACT), evaluate.load_queries(SCIFACT)
            q = c.embedder.embed_queries([queries[k] for k in sorted(qrels)])
    return vecs.astype(np.float32), q.astype(np.float32)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="100000,1000000")
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--hnsw-max", type=int, default=200_000, help="skip HNSW above this size (slow to build)")
    ap.add_argument("--no-scifact", action="store_true")
    ap.add_argument("--name", default="scale")
    ap.add_argument("--indexes", default="flat,hnsw,ivf", help="index types to measure")
    ap.add_argument("--build-threads", type=int, default=1, help="FAISS threads while building (queries use 1)")
    args = ap.parse_args()
    import faiss

    faiss.omp_set_num_threads(1)
    rng = np.random.default_rng(0)
    centers = rng.standard_normal((2000, DIM)).astype(np.float32)
    centers /= np.linalg.norm(centers, axis=1, keepdims=True)
    rows = []
    print(" | ".join(COLS))
    datasets = []
    if not args.no_scifact:
        sf = scifact_vectors()
        if sf is not None:
            datasets.append(("scifact-minilm", *sf))
    for n in [int(s) for s in args.sizes.split(",") if s]:
        datasets.append((f"synthetic-{n // 1000}k", clustered(n, 1, centers), clustered(args.queries, 2, centers)))
    for name, x, q in datasets:
        gt = exact_top(x, q)
        n = len(x)
        nlist = 64 if n < 20_000 else 256 if n <= 200_000 else 1024
        kinds, bt = args.indexes.split(","), args.build_threads
        if "flat" in kinds:
            rows += measure(name, x, q, gt, {"type": "flat"}, [], bt)
            if n <= 200_000:
                rows += measure(name, x, q, gt, {"type": "flat", "dtype": "int8"}, [], bt)
        if "hnsw" in kinds and n <= args.hnsw_max:
            rows += measure(name, x, q, gt, {"type": "hnsw", "M": 32, "ef_construction": 80},
                            [("ef_search", e) for e in (16, 32, 64, 128)], bt)
        if "ivf" in kinds:
            ivf = {"type": "ivf", "nlist": nlist, "min_train": 0, "train_size": min(n, 64 * nlist)}
            rows += measure(name, x, q, gt, ivf, [("nprobe", p) for p in (8, 16, 32, 64, 128)], bt)
            rows += measure(name, x, q, gt, {**ivf, "dtype": "int8"}, [("nprobe", p) for p in (16, 32)], bt)
        del x
        gc.collect()
    write(args.name, rows)


def write(name: str, rows: list[dict]) -> None:

    import faiss

    from bench.machine import describe, label

    meta = {"date": time.strftime("%Y-%m-%d"), "machine": describe(),
            "faiss": faiss.__version__, "faiss_query_threads": 1,
            "faiss_build_threads": max((r.get("build_threads", 1) for r in rows), default=1), "k": 10}
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"{name}.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=2))
    md = [f"Date {meta['date']}, {label(meta['machine'])}, FAISS {meta['faiss']} (queries on 1 thread, "
          f"builds on {meta['faiss_build_threads']}), k=10, single queries.", "",
          "| " + " | ".join(COLS) + " |", "|" + "---|" * len(COLS)]
    md += ["| " + _line(r) + " |" for r in rows]
    (OUT / f"{name}.md").write_text("\n".join(md) + "\n")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sets = sorted({r["dataset"] for r in rows}, key=lambda s: [r["n"] for r in rows if r["dataset"] == s][0])
    fig, axes = plt.subplots(1, len(sets), figsize=(5 * len(sets), 4), squeeze=False)
    for ax, ds in zip(axes[0], sets):
        for kind in sorted({(r["index"], r["dtype"]) for r in rows if r["dataset"] == ds}):
            sub = [r for r in rows if r["dataset"] == ds and (r["index"], r["dtype"]) == kind]
            ax.plot([r["p50_ms"] for r in sub], [r["recall@10"] for r in sub], "o-", label=f"{kind[0]} {kind[1]}")
        ax.axhline(0.95, color="#aaa", lw=0.8, ls="--")
        ax.set_xscale("log")
        ax.set_title(ds)
        ax.set_xlabel("p50 latency, ms (log)")
        ax.set_ylabel("recall@10 vs exact")
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(OUT / f"{name}.png", dpi=110)


if __name__ == "__main__":
    main()
