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
    ap.add_argument("--skip-ray", action="store_true", help="skip the Ray ingest with one GPU actor")
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
    if not args.skip_ray:
        results["ray_one_gpu_actor"] = ray_gpu_ingest(SCIFACT / "corpus.jsonl")
        print("ray, one GPU actor:", results["ray_one_gpu_actor"], flush=True)
    import faiss

    results["faiss_gpus"] = faiss.get_num_gpus() if hasattr(faiss, "get_num_gpus") else 0
    print("faiss GPUs:", results["faiss_gpus"])
    print(json.dumps(results, indent=2))
    return 0


def ray_gpu_ingest(corpus: Path) -> dict:
    """Ray ingest of the SciFact corpus (MiniLM fp32, as bench/dist_bench.py) with one GPU actor."""
    import tempfile

    import ray

    import vecdb
    from vecdb.distributed.ray_ingest import ingest

    with tempfile.TemporaryDirectory() as tmp:
        rows = Path(tmp) / "corpus.jsonl"
        with open(corpus) as f, open(rows, "w") as out:
            for line in f:
                d = json.loads(line)
                out.write(json.dumps({"id": d["_id"], "text": f"{d['title']} {d['text']}"}) + "\n")
        ray.init(num_cpus=4, num_gpus=1, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
        try:
            with vecdb.open(Path(tmp) / "db") as db:
                coll = db.create_collection("scifact", "minilm", dtype="float32")
                res = ingest(coll, [rows], batch_size=256, concurrency=1)
                return {**res.to_dict(), "count": coll.count()}
        finally:
            ray.shutdown()


if __name__ == "__main__":
    sys.exit(main())
