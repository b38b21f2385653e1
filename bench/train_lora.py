"""SciFact before/after LoRA (or full) fine-tuning, last-token pooling by default (the README's fine-tuning table).

    python bench/train_lora.py [--model smollm2-135m] [--epochs 2] [--batch-size 16] [--hard-negatives 1]
    python bench/train_lora.py --model minilm --pooling mean --mode full --lr 2e-5 --max-length 256

Unlike the pooling mode, LoRA changes the model itself, so "after" re-embeds the whole corpus with the saved
model folder, loaded as any `--model PATH` is (adapters merged). Training uses qrels/train.tsv only plus hard
negatives mined from a MiniLM SciFact collection (cached in FEATS/negatives.json by train_scifact.py);
nDCG@10 is measured on the 300 test queries over the 5,183-document corpus, and separately on the test
queries none of whose relevant documents is a training positive ("unseen"). "before" is the raw model with
the same spec (last-token, EOS appended, max 128 tokens, bf16), from FEATS/<model>.npz when present.
Adds an entry to bench/results/train.{json,md}.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.cache import CACHE  # noqa: E402
from bench.machine import describe  # noqa: E402
from bench.train_scifact import OUT, SCIFACT, mined_negatives, ndcg, write_md  # noqa: E402


def scores(qv, dv, qids, dids, qrels, unseen) -> tuple[dict, float]:
    part = {q: qrels[q] for q in unseen}
    rows = [qids.index(q) for q in sorted(part)]
    return ndcg(qv, dv, qids, dids, qrels), ndcg(qv[rows], dv, sorted(part), dids, part)["ndcg@10"]


def embed_scifact(emb, qids, queries) -> tuple[np.ndarray, np.ndarray, list[str], float]:
    from vecdb import evaluate as ev

    dids, texts = [], []
    for chunk in ev.iter_corpus(SCIFACT):
        for d, t, _ in chunk:
            dids.append(d)
            texts.append(t)
    t0 = time.perf_counter()
    dv = emb.embed_documents(texts)
    seconds = time.perf_counter() - t0
    return emb.embed_queries([queries[q] for q in qids]), dv, dids, seconds


def main() -> None:
    import torch

    from vecdb import evaluate as ev
    from vecdb.embed import load_embedder
    from vecdb.train import data
    from vecdb.train.trainer import TrainConfig, Trainer

    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--pooling", default="last-token")
    ap.add_argument("--mode", default="lora", choices=["lora", "full"])
    ap.add_argument("--features", default=str(CACHE / "train-feats"))
    ap.add_argument("--models", default=str(CACHE / "train-models"))
    ap.add_argument("--negatives-db", default=None, help="default: bench/cache.py")
    ap.add_argument("--hard-negatives", type=int, default=1)
    ap.add_argument("--skip-top", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--lr", type=float, default=3e-4)
    ap.add_argument("--lora-r", type=int, default=16)
    ap.add_argument("--tau", type=float, default=0.05)
    ap.add_argument("--max-length", type=int, default=128)
    ap.add_argument("--start-from", default=None, help="continue from this model folder (a new adapter over its "
                    "merged weights); 'before' stays the raw --model")
    ap.add_argument("--tag", default="", help="suffix of the results key and output folder")
    ap.add_argument("--date", default=time.strftime("%Y-%m-%d"))
    args = ap.parse_args()
    torch.manual_seed(0)

    qrels = ev.load_qrels(SCIFACT, "test")
    queries = ev.load_queries(SCIFACT)
    qids = sorted(qrels)
    train_docs = {d for docs in ev.load_qrels(SCIFACT, "train").values() for d in docs}
    unseen = [q for q, r in qrels.items() if not set(r) & train_docs]

    short = args.model.split("-")[0]
    feats_path = Path(args.features) / f"{short}.npz"
    base = {"last-token": "last", "mean": "mean"}[args.pooling]
    if feats_path.exists():  # the raw model's vectors with this spec were computed once already
        f = np.load(feats_path)
        spec = json.loads(str(f["spec"]))
        assert spec["max_length"] == args.max_length, "features were computed with another max_length"
        pos = {str(q): i for i, q in enumerate(f["query_ids"])}
        qv0 = f[f"query_{base}"][[pos[q] for q in qids]]
        before, before_unseen = scores(qv0, f[f"doc_{base}"], qids, [str(x) for x in f["doc_ids"]], qrels, unseen)
    else:
        raw = load_embedder(model=args.model, pooling=args.pooling, max_length=args.max_length)
        qv0, dv0, dids0, _ = embed_scifact(raw, qids, queries)
        before, before_unseen = scores(qv0, dv0, qids, dids0, qrels, unseen)
        del raw
    print("before", before, "unseen", before_unseen, flush=True)

    examples = data.read_beir(SCIFACT, "train")
    mined_negatives(args.negatives_db, examples, 7, args.skip_top, Path(args.features) / "negatives.json")
    out = Path(args.models) / f"{args.model}-{args.mode}-{args.pooling}{args.tag}"
    config = TrainConfig(model=args.start_from or args.model, mode=args.mode, pooling=args.pooling, epochs=args.epochs,
                         batch_size=args.batch_size, lr=args.lr, tau=args.tau, max_length=args.max_length,
                         max_negatives=args.hard_negatives, lora_r=args.lora_r, lora_alpha=2 * args.lora_r,
                         bf16=True, seed=0)
    trainer = Trainer(config, out, log=lambda m: print(m, flush=True))
    t0 = time.perf_counter()
    summary = trainer.fit(examples, progress=sys.stderr.isatty())
    train_s = time.perf_counter() - t0
    trainer.save(summary)
    del trainer

    emb = load_embedder(model=str(out))  # adapters merged, bf16 where native: as `vecdb eval --model OUT`
    qv, dv, dids, embed_s = embed_scifact(emb, qids, queries)
    after, after_unseen = scores(qv, dv, qids, dids, qrels, unseen)
    print("after", after, "unseen", after_unseen, flush=True)

    results_path = OUT / "train.json"
    results = json.loads(results_path.read_text()) if results_path.exists() else {}
    key = f"{args.model}:{base}:{args.mode}{args.tag}"
    earlier = {}
    if args.start_from and (Path(args.start_from) / "vecdb_train.json").exists():
        earlier = json.loads((Path(args.start_from) / "vecdb_train.json").read_text())
    results[key] = {
        "model": args.model, "mode": args.mode, "raw_pooling": args.pooling,
        "trained": (f"LoRA r={args.lora_r} (attention projections)" if args.mode == "lora" else "full model")
        + f", lr {args.lr:g}, {args.epochs} epochs, bf16 autocast",
        "max_length": args.max_length, "dtype": emb.spec.dtype, "before": before, "after": after,
        "gain_ndcg@10": round(after["ndcg@10"] - before["ndcg@10"], 4),
        "unseen": {"queries": len(unseen), "before": before_unseen, "after": after_unseen},
        "train_seconds": round(train_s, 1), "feature_pass_seconds": round(embed_s, 1),
        "examples": len(examples), "epochs": args.epochs, "started_from": args.start_from,
        "earlier_epochs": earlier.get("epochs"), "earlier_loss": earlier.get("loss"), "batch_size": args.batch_size, "lr": args.lr,
        "hard_negatives": args.hard_negatives, "loss": summary["loss"], "out": str(out),
        "data": "qrels/train.tsv + mined hard negatives", "date": args.date,
        "machine": describe()}
    results_path.write_text(json.dumps(results, indent=2))
    write_md(results, OUT)


if __name__ == "__main__":
    main()
