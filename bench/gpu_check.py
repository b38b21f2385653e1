"""One script that checks vecdb's GPU path and prints its figures (run it where CUDA exists).

    python bench/gpu_check.py [--docs 2000]

For minilm and smollm2-135m on SciFact (max 256 tokens): GPU docs/s (dtype auto = bf16), peak GPU
memory, and agreement with CPU fp32 vectors (min/mean cosine on a sample); then whether FAISS sees a GPU.
Exits non-zero when CUDA is not available.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SCIFACT = Path(os.environ.get("VECDB_SCIFACT", ROOT.parent / "shared" / "eval" / "scifact"))


def main() -> int:
    import torch

    from vecdb.embed import load_embedder

    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=int, default=2000)
    ap.add_argument("--compare", type=int, default=200, help="documents also embedded on CPU in fp32")
    args = ap.parse_args()
    if not torch.cuda.is_available():
        print("CUDA is not available here", file=sys.stderr)
        return 2
    texts = []
    with open(SCIFACT / "corpus.jsonl") as f:
        for line in f:
            d = json.loads(line)
            texts.append(f"{d['title']} {d['text']}")
    texts = (texts * (args.docs // len(texts) + 1))[:args.docs]
    print(f"GPU: {torch.cuda.get_device_name(0)}, torch {torch.__version__}")
    results = {}
    for name in ("minilm", "smollm2-135m"):
        gpu = load_embedder(model=name, device="cuda")
        gpu.embed_documents(texts[:64])
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        t = time.perf_counter()
        vecs = gpu.embed_documents(texts)
        torch.cuda.synchronize()
        rate = len(texts) / (time.perf_counter() - t)
        peak = torch.cuda.max_memory_allocated() / 2**20
        cpu = load_embedder(model=name, device="cpu", dtype="float32")
        ref = cpu.embed_documents(texts[:args.compare])
        cos = np.sum(ref * vecs[:args.compare], axis=1)
        results[name] = {"dtype": gpu.spec.dtype, "docs": len(texts), "docs_per_s": round(rate, 1),
                         "peak_mib": round(peak), "min_cos_vs_cpu_fp32": round(float(cos.min()), 5),
                         "mean_cos_vs_cpu_fp32": round(float(cos.mean()), 5), "token_budget": gpu.token_budget}
        print(name, results[name], flush=True)
    import faiss

    results["faiss_gpus"] = faiss.get_num_gpus() if hasattr(faiss, "get_num_gpus") else 0
    print("faiss GPUs:", results["faiss_gpus"])
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
