"""Stage 1 of bench/train_scifact.py: frozen features of the SciFact corpus and queries, computed once.

    python bench/train_features.py MODEL OUT.npz [--bases mean,last] [--max-length 256]
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SCIFACT = Path(os.environ.get("VECDB_SCIFACT", ROOT.parent / "shared" / "eval" / "scifact"))


def main() -> None:
    from vecdb import evaluate as ev
    from vecdb.embed import load_embedder
    from vecdb.train.features import frozen_features

    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("out")
    ap.add_argument("--bases", default="mean,last")
    ap.add_argument("--max-length", type=int, default=256)
    args = ap.parse_args()
    bases = args.bases.split(",")
    emb = load_embedder(model=args.model, max_length=args.max_length)
    ids, texts = [], []
    for chunk in ev.iter_corpus(SCIFACT):
        ids += [c[0] for c in chunk]
        texts += [c[1] for c in chunk]
    queries = ev.load_queries(SCIFACT)
    qids = sorted(set(ev.load_qrels(SCIFACT, "train")) | set(ev.load_qrels(SCIFACT, "test")))
    t = time.perf_counter()
    q = frozen_features(emb, [queries[x] for x in qids], "query", bases)
    print(f"{len(qids)} queries in {time.perf_counter() - t:.0f}s", flush=True)
    t = time.perf_counter()
    done = [0]

    def progress(n):
        done[0] += n
        if done[0] // 500 != (done[0] - n) // 500:
            print(f"  {done[0]}/{len(texts)} docs, {done[0] / (time.perf_counter() - t):.1f}/s", flush=True)

    d = frozen_features(emb, texts, "document", bases, progress=progress)
    seconds = time.perf_counter() - t
    print(f"{len(texts)} docs in {seconds:.0f}s", flush=True)
    arrays = {f"doc_{b}": d[b] for b in bases}
    arrays.update({f"query_{b}": q[b] for b in bases})
    np.savez(args.out, doc_ids=np.array(ids), query_ids=np.array(qids), doc_seconds=seconds,
             spec=emb.spec.to_json(), **arrays)


if __name__ == "__main__":
    main()
