"""SciFact before/after contrastive fine-tuning (the README's fine-tuning table).

    python bench/train_features.py smollm2-135m FEATS/smollm2.npz --bases mean,last --max-length 128
    python bench/train_features.py minilm FEATS/minilm.npz --bases mean
    python bench/train_scifact.py --features FEATS --runs smollm2-135m:last,minilm:mean,smollm2-135m:mean \
        [--negatives-db DB] [--synth triples.jsonl]

Training uses qrels/train.tsv only (plus mined hard negatives); nDCG@10 is measured on the 300 test queries
over the whole 5183-document corpus. The pooling mode trains only a linear layer over the frozen model, so
the frozen features (stage 1, one pass over the corpus) serve both training and evaluation: after = the
trained layer applied to the same features, which is exactly what the saved model computes
(tests/train/test_trainer.py checks this). Writes bench/results/train.{json,md}.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.cache import CACHE, scifact_db  # noqa: E402
from bench.machine import describe  # noqa: E402
SCIFACT = Path(os.environ.get("VECDB_SCIFACT", ROOT.parent / "shared" / "eval" / "scifact"))
OUT = ROOT / "bench" / "results"
KIND = {"mean": "linear", "last": "last-linear"}
RAW_POOLING = {"mean": "mean", "last": "last-token"}


def ndcg(qvec: np.ndarray, dvec: np.ndarray, qids, dids, qrels) -> dict:
    from vecdb import evaluate as ev

    qvec = qvec / np.linalg.norm(qvec, axis=1, keepdims=True)
    dvec = dvec / np.linalg.norm(dvec, axis=1, keepdims=True)
    scores = qvec @ dvec.T
    top = np.argsort(-scores, axis=1)[:, :100]
    run = {q: {dids[j]: float(scores[i, j]) for j in top[i]} for i, q in enumerate(qids)}
    return {k: round(v, 4) for k, v in ev.score(run, qrels).items()}


def mined_negatives(db_path: str | None, examples, n: int, skip_top: int, cache: Path) -> None:
    """Hard negatives from a SciFact collection's own index (cached as JSON between runs)."""
    from vecdb.train.mining import mine

    key = f"{n}:{skip_top}"
    saved = json.loads(cache.read_text()) if cache.exists() else {}
    if key not in saved:
        import vecdb

        with vecdb.open(scifact_db(db_path)) as db:
            mine(db.get_collection("scifact"), examples, n=n, skip_top=skip_top)
        saved[key] = {f"{e.query}\t{e.positive_id}": [e.negative_ids, e.negatives] for e in examples}
        cache.write_text(json.dumps(saved))
        return
    for e in examples:
        e.negative_ids, e.negatives = saved[key][f"{e.query}\t{e.positive_id}"]


def run_one(name: str, feats: np.lib.npyio.NpzFile, examples, args, qrels) -> dict:
    from vecdb.train.trainer import TrainConfig, Trainer
    from vecdb.spec import EmbeddingSpec

    model, base, init = (name.split(":") + ["identity"])[:3]
    spec = EmbeddingSpec.from_json(str(feats["spec"]))
    dids = [str(x) for x in feats["doc_ids"]]
    qids_all = [str(x) for x in feats["query_ids"]]
    dvec, qvec = feats[f"doc_{base}"], feats[f"query_{base}"]
    test_q = sorted(qrels)
    qpos = {q: i for i, q in enumerate(qids_all)}
    test_rows = [qpos[q] for q in test_q]
    before = ndcg(qvec[test_rows], dvec, test_q, dids, qrels)

    out = Path(args.models) / f"{model}-{KIND[base]}-{init}{args.tag}"
    config = TrainConfig(model=model, mode="pooling", pooling=KIND[base], epochs=args.epochs,
                         batch_size=args.batch_size, lr=args.lr, tau=args.tau, max_length=spec.max_length,
                         max_negatives=args.hard_negatives, seed=0, init=init)
    trainer = Trainer(config, out, log=lambda m: print(m, flush=True))
    from vecdb import evaluate as ev

    queries = ev.load_queries(SCIFACT)
    fmt = trainer.emb.spec.format_query
    qmap = {fmt(queries[q]): torch.from_numpy(qvec[i]) for i, q in enumerate(qids_all)}
    corpus = {d: t for chunk in ev.iter_corpus(SCIFACT) for d, t, _ in chunk}
    dmap = {corpus[d]: torch.from_numpy(dvec[i]) for i, d in enumerate(dids)}
    missing = [e.query for e in examples if fmt(e.query) not in qmap]
    if missing:  # synthetic queries: their features come from the frozen model now
        from vecdb.train.features import frozen_features

        texts = sorted({fmt(q) for q in missing})
        got = frozen_features(trainer.emb, texts, "query", (base,), formatted=True)[base]
        qmap.update({t: torch.from_numpy(v) for t, v in zip(texts, got)})
    missing_docs = sorted({t for e in examples for t in [e.positive, *e.negatives] if t not in dmap})
    if missing_docs:
        from vecdb.train.features import frozen_features

        got = frozen_features(trainer.emb, missing_docs, "document", (base,))[base]
        dmap.update({t: torch.from_numpy(v) for t, v in zip(missing_docs, got)})
    trainer.use_features(qmap, dmap)
    t = time.perf_counter()
    summary = trainer.fit(examples, progress=False)
    train_s = time.perf_counter() - t
    trainer.save(summary)
    with torch.no_grad():
        proj = trainer.emb.pooler.proj
        after = ndcg(proj(torch.from_numpy(qvec[test_rows])).numpy(), proj(torch.from_numpy(dvec)).numpy(),
                     test_q, dids, qrels)
        # the saved folder, loaded as any model, embeds like the feature path it was evaluated with
        from vecdb.embed import load_embedder

        emb = load_embedder(model=str(out))
        sample = list(range(0, len(dids), max(1, len(dids) // 8)))[:8]
        ref = proj(torch.from_numpy(dvec[sample])).numpy()
        ref /= np.linalg.norm(ref, axis=1, keepdims=True)
        got = emb.embed_documents([corpus[dids[i]] for i in sample])
        check = float((ref * got).sum(1).min())
    return {"saved_model_min_cosine_vs_features": round(check, 5), "model": model, "raw_pooling": RAW_POOLING[base], "trained": f"pooling:{KIND[base]} (init {init})",
            "max_length": spec.max_length, "dtype": spec.dtype, "before": before, "after": after,
            "gain_ndcg@10": round(after["ndcg@10"] - before["ndcg@10"], 4),
            "train_seconds": round(train_s, 1), "feature_pass_seconds": round(float(feats["doc_seconds"]), 1),
            "examples": len(examples), "epochs": args.epochs, "loss": summary["loss"], "out": str(out),
            "data": args.synth or "qrels/train.tsv + mined hard negatives"}


def main() -> None:
    from vecdb import evaluate as ev
    from vecdb.train import data

    ap = argparse.ArgumentParser()
    ap.add_argument("--features", default=str(CACHE / "train-feats"))
    ap.add_argument("--models", default=str(CACHE / "train-models"))
    ap.add_argument("--runs", default="smollm2-135m:last,minilm:mean,smollm2-135m:mean")
    ap.add_argument("--negatives-db", default=None, help="default: bench/cache.py")
    ap.add_argument("--hard-negatives", type=int, default=7)
    ap.add_argument("--skip-top", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--tau", type=float, default=0.05)
    ap.add_argument("--synth", default=None, help="train on these synthetic triples instead of qrels/train.tsv")
    ap.add_argument("--tag", default="")
    ap.add_argument("--date", default=time.strftime("%Y-%m-%d"))
    ap.add_argument("--results", default=str(OUT))
    args = ap.parse_args()
    qrels = ev.load_qrels(SCIFACT, "test")
    out_dir = Path(args.results)
    results_path = out_dir / "train.json"
    results = json.loads(results_path.read_text()) if results_path.exists() else {}
    for name in args.runs.split(","):
        if args.synth:
            examples = data.load(args.synth)
        else:
            examples = data.read_beir(SCIFACT, "train")
            mined_negatives(args.negatives_db, examples, args.hard_negatives, args.skip_top,
                            Path(args.features) / "negatives.json")
        feats = np.load(Path(args.features) / f"{name.split(':')[0].split('-')[0]}.npz")
        name = name if name.count(":") == 2 else name + ":identity"
        key = name + (" (synth only)" if args.synth else "")
        results[key] = {**run_one(name, feats, examples, args, qrels), "date": args.date,
                        "machine": describe()}
        print(key, json.dumps(results[key]), flush=True)
        out_dir.mkdir(parents=True, exist_ok=True)
        results_path.write_text(json.dumps(results, indent=2))
        write_md(results, out_dir)


def _unseen(r: dict) -> str:
    u = r.get("unseen")
    return f"{u['before']:.4f} → {u['after']:.4f} (n={u['queries']})" if u else "-"


def write_md(results: dict, out_dir: Path) -> None:
    lines = ["| run | raw pooling | trained | nDCG@10 before | after | gain | unseen-doc queries before → after "
             "| train time | corpus pass |", "|---|---|---|---|---|---|---|---|---|"]
    for key, r in results.items():
        lines.append(f"| {key} | {r['raw_pooling']} | {r['trained']} | {r['before']['ndcg@10']:.4f} | "
                     f"{r['after']['ndcg@10']:.4f} | {r['gain_ndcg@10']:+.4f} | {_unseen(r)} | {r['train_seconds']:.0f} s | "
                     f"{r['feature_pass_seconds'] / 60:.1f} min |")
    (out_dir / "train.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
