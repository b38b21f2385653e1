"""nDCG@10 before/after on the SciFact test queries none of whose relevant documents is a training positive.

65% of the test queries share a relevant document with qrels/train.tsv (the query sets are disjoint), so a
layer trained on train.tsv partly learns which documents tend to be relevant. This splits the test set into
queries with only unseen relevant documents and the rest. Reads bench/results/train.json and the cached
features/models; adds "unseen"/"seen" to each entry and rewrites train.json/md.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.cache import CACHE  # noqa: E402
from bench.train_scifact import OUT, SCIFACT, ndcg, write_md  # noqa: E402


def main() -> None:
    from vecdb import evaluate as ev
    from vecdb.embed import trainable

    results = json.loads((OUT / "train.json").read_text())
    qrels = ev.load_qrels(SCIFACT, "test")
    train_docs = {d for docs in ev.load_qrels(SCIFACT, "train").values() for d in docs}
    unseen = {q: r for q, r in qrels.items() if not set(r) & train_docs}
    seen = {q: r for q, r in qrels.items() if q not in unseen}
    for key, r in results.items():
        if r.get("mode", "pooling") != "pooling":  # LoRA entries measure "unseen" themselves
            continue
        base = "last" if r["raw_pooling"] == "last-token" else "mean"
        f = np.load(CACHE / "train-feats" / f"{r['model'].split('-')[0]}.npz")
        dids = [str(x) for x in f["doc_ids"]]
        pos = {str(q): i for i, q in enumerate(f["query_ids"])}
        pooler = trainable.load(r["out"])
        dv_all = f[f"doc_{base}"]
        mu, sd = dv_all.mean(0), dv_all.std(0) + 1e-6  # label-free baseline: z-scored features, no training
        r["zscore_only"] = {}
        for name, part in (("unseen", unseen), ("seen", seen)):
            qs = sorted(part)
            qv, dv = f[f"query_{base}"][[pos[q] for q in qs]], f[f"doc_{base}"]
            with torch.no_grad():
                after = ndcg(pooler.proj(torch.from_numpy(qv)).numpy(), pooler.proj(torch.from_numpy(dv)).numpy(),
                             qs, dids, part)
            r[name] = {"queries": len(qs), "before": ndcg(qv, dv, qs, dids, part)["ndcg@10"],
                       "after": after["ndcg@10"]}
            r["zscore_only"][name] = ndcg((qv - mu) / sd, (dv - mu) / sd, qs, dids, part)["ndcg@10"]
        r["zscore_only"]["all"] = ndcg((f[f"query_{base}"][[pos[q] for q in sorted(qrels)]] - mu) / sd,
                                       (dv_all - mu) / sd, sorted(qrels), dids, qrels)["ndcg@10"]
        print(key, r["unseen"], r["seen"], r["zscore_only"])
    (OUT / "train.json").write_text(json.dumps(results, indent=2))
    write_md(results, OUT)


if __name__ == "__main__":
    main()
