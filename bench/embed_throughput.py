"""Embedding throughput on SciFact (max_length 256): vecdb vs sentence-transformers' encode (batch 32).

    python bench/embed_throughput.py [--minilm-docs N] [--smollm2-docs N]

Both libraries embed the same documents with the same weights in the same run. Prints a table, writes
bench/results/embed_throughput.{json,png}. Not a timed test.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SCIFACT = Path(os.environ.get("VECDB_SCIFACT", ROOT.parent / "shared" / "eval" / "scifact"))
OUT = ROOT / "bench" / "results"


def corpus(n: int | None) -> list[str]:
    texts = []
    with open(SCIFACT / "corpus.jsonl") as f:
        for line in f:
            d = json.loads(line)
            texts.append(f"{d['title']} {d['text']}".strip())
            if n and len(texts) >= n:
                break
    return texts


def st_model(name: str):
    from sentence_transformers import SentenceTransformer, models

    from vecdb.embed import resolve

    path = str(resolve(name).weights_path)
    if name == "minilm":
        return SentenceTransformer(path, device="cpu")
    word = models.Transformer(path, max_seq_length=256)
    word.tokenizer.pad_token = word.tokenizer.pad_token or word.tokenizer.eos_token
    pooling = models.Pooling(word.get_word_embedding_dimension(), pooling_mode="lasttoken")
    return SentenceTransformer(modules=[word, pooling, models.Normalize()], device="cpu")


def timed(fn, texts) -> tuple[float, np.ndarray]:
    fn(texts[:16])  # warm-up
    t = time.perf_counter()
    v = fn(texts)
    return len(texts) / (time.perf_counter() - t), v


def run(name: str, texts: list[str]) -> list[dict]:
    from vecdb.embed import load_embedder

    rows = []
    st = st_model(name)
    st.max_seq_length = 256
    st_rate, st_vecs = timed(lambda x: st.encode(x, batch_size=32, normalize_embeddings=True), texts)
    rows.append({"model": name, "system": "sentence-transformers encode (fp32, batch 32)", "docs": len(texts),
                 "docs_per_s": round(st_rate, 2)})
    del st
    for dtype in ("float32", "auto"):
        emb = load_embedder(model=name, dtype=dtype)
        rate, vecs = timed(emb.embed_documents, texts)
        cos = float(np.min(np.sum(vecs * st_vecs, 1)))
        rows.append({"model": name, "system": f"vecdb ({emb.spec.dtype}, token-budget batches)", "docs": len(texts),
                     "docs_per_s": round(rate, 2), "speedup_vs_st": round(rate / st_rate, 2),
                     "min_cosine_vs_st": round(cos, 5)})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minilm-docs", type=int, default=0, help="0 = the whole corpus (5,183)")
    ap.add_argument("--smollm2-docs", type=int, default=400)
    args = ap.parse_args()
    import torch

    rows = run("minilm", corpus(args.minilm_docs or None)) + run("smollm2-135m", corpus(args.smollm2_docs))
    meta = {"date": time.strftime("%Y-%m-%d"), "machine": f"{platform.processor() or platform.machine()}, "
            f"{os.cpu_count()} cores, torch {torch.__version__}, threads {torch.get_num_threads()}"}
    print(f"{'model':14} {'system':48} {'docs':>6} {'docs/s':>8} {'x ST':>6} {'cos min':>8}")
    for r in rows:
        print(f"{r['model']:14} {r['system']:48} {r['docs']:>6} {r['docs_per_s']:>8} "
              f"{r.get('speedup_vs_st', ''):>6} {r.get('min_cosine_vs_st', ''):>8}")
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "embed_throughput.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=2))
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, name in zip(axes, ("minilm", "smollm2-135m")):
        sub = [r for r in rows if r["model"] == name]
        ax.barh([r["system"].split(" (")[0] + "\n(" + r["system"].split(" (", 1)[1] for r in sub],
                [r["docs_per_s"] for r in sub], color=["#999", "#4a7", "#27a"])
        ax.set_title(f"{name} on SciFact ({sub[0]['docs']} docs, max 256 tokens)")
        ax.set_xlabel("documents / second (higher is better)")
    fig.tight_layout()
    fig.savefig(OUT / "embed_throughput.png", dpi=110)


if __name__ == "__main__":
    main()
