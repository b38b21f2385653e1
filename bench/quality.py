"""SciFact nDCG@10 for each offline preset and pooling mode (the README's quality table).

    python bench/quality.py [--configs minilm:mean,smollm2-135m:last-token,...] [--dtype auto] [--runtime auto]
    python bench/quality.py --configs minilm:mean --dtype int8 --runtime onnx --out bench/results/runtime_quality.json

Each configuration embeds the whole corpus (title + " " + text, max 256 tokens) and the 300 test queries
(with the preset's query template), ranks by exact cosine and scores with pytrec_eval. Writes
bench/results/quality.{json,png}. Not a timed test; smollm2 configurations take ~20 minutes each on 2 cores.
"""
from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SCIFACT = Path(os.environ.get("VECDB_SCIFACT", ROOT.parent / "shared" / "eval" / "scifact"))
OUT = ROOT / "bench" / "results"

CONFIGS = {
    "minilm:mean": dict(model="minilm", pooling="mean"),
    "minilm:cls": dict(model="minilm", pooling="cls"),
    "minilm:weighted-mean": dict(model="minilm", pooling="weighted-mean"),
    "smollm2-135m:mean": dict(model="smollm2-135m", pooling="mean"),
    "smollm2-135m:last-token": dict(model="smollm2-135m", pooling="last-token"),
    "smollm2-135m:last-token+prompteol": dict(model="smollm2-135m", pooling="last-token",
                                             document_template="prompteol", query_template="prompteol"),
    "smollm2-135m:weighted-mean": dict(model="smollm2-135m", pooling="weighted-mean"),
}


def evaluate(options: dict, dtype: str, runtime: str = "auto") -> dict:
    from vecdb import evaluate as ev
    from vecdb.embed import load_embedder

    emb = load_embedder(dtype=dtype, runtime=runtime, **options)
    ids, texts = [], []
    for chunk in ev.iter_corpus(SCIFACT):
        ids += [c[0] for c in chunk]
        texts += [c[1] for c in chunk]
    t = time.perf_counter()
    docs = emb.embed_documents(texts)
    seconds = time.perf_counter() - t
    qrels = ev.load_qrels(SCIFACT, "test")
    queries = ev.load_queries(SCIFACT)
    qids = sorted(qrels)
    qv = emb.embed_queries([queries[q] for q in qids])
    scores = qv @ docs.T
    top = np.argsort(-scores, axis=1)[:, :100]
    run = {q: {ids[j]: float(scores[i, j]) for j in top[i]} for i, q in enumerate(qids)}
    m = ev.score(run, qrels)
    return {**{k: round(v, 4) for k, v in m.items()}, "dtype": emb.spec.dtype, "runtime": emb.spec.runtime,
            "docs_per_s": round(len(texts) / seconds, 2),
            "query_template": emb.spec.query_template, "document_template": emb.spec.document_template}


def _embed_multi(emb, texts: list[str], kind: str, poolings: list[str], query_template: str | None = None,
                 exclude_instruction: bool = False) -> dict[str, np.ndarray]:
    """One forward pass with EOS appended; last-token reads the EOS, the other poolings leave it out.

    In a causal decoder no token attends to a later one, so leaving the EOS out of the mean gives the
    same vectors as a run without the EOS (texts are truncated at max_length - 1 tokens either way).
    Queries use `query_template`; `exclude_instruction` leaves its prefix out of the non-last-token poolings."""
    import torch
    import torch.nn.functional as F

    from vecdb.embed import batching
    from vecdb.embed import Pooling
    from vecdb.embed.pooling import last_index
    from vecdb.embed.registry import pool

    if kind == "document":
        formatted = [emb.spec.format_document(t) for t in texts]
    else:
        from vecdb.spec import DEFAULT_TASK

        formatted = [query_template.format(query=q, task=DEFAULT_TASK) if "{task}" in query_template
                     else query_template.format(query=q) for q in texts]
    ids = emb.tokenize(formatted)
    skip = [0] * len(texts)
    if exclude_instruction:
        tail = len(query_template.split("{query}", 1)[1])
        skip = emb.prefix_tokens(formatted, [len(f) - len(q) - tail for f, q in zip(formatted, texts)])
    out = {p: np.zeros((len(texts), emb.spec.dim), np.float32) for p in poolings}
    with torch.inference_mode():
        for idx in batching.plan([len(x) for x in ids], emb.token_budget, emb.max_batch):
            batch = batching.pad([ids[i] for i in idx], emb.pad_id, emb.spec.padding_side == "left",
                                 [skip[i] for i in idx])
            mask = batch["attention_mask"]
            hidden = emb.hidden_states(batch)
            pool_mask = batch["pool_mask"].clone()
            pool_mask[torch.arange(len(idx)), last_index(mask)] = 0
            for p in poolings:
                v = pool(p, hidden, mask if Pooling.parse(p).reads_last else pool_mask)
                out[p][idx] = F.normalize(v, dim=-1).numpy()
    return out


QUERY_VARIANTS = {"instruct": ("Instruct: {task}\nQuery: {query}", False),
                  "instruct-excluded": ("Instruct: {task}\nQuery: {query}", True),
                  "plain": ("{query}", False)}


def evaluate_multi(model: str, poolings: list[str], dtype: str) -> dict[str, dict]:
    """Documents embedded once; every pooling x query variant scored from that one pass."""
    from vecdb import evaluate as ev
    from vecdb.embed import load_embedder

    emb = load_embedder(model=model, pooling="last-token", dtype=dtype)
    assert emb.is_decoder and emb.spec.append_eos
    ids, texts = [], []
    for chunk in ev.iter_corpus(SCIFACT):
        ids += [c[0] for c in chunk]
        texts += [c[1] for c in chunk]
    t = time.perf_counter()
    docs = _embed_multi(emb, texts, "document", poolings)
    seconds = time.perf_counter() - t
    qrels = ev.load_qrels(SCIFACT, "test")
    queries = ev.load_queries(SCIFACT)
    qids = sorted(qrels)
    results = {}
    for variant, (template, exclude) in QUERY_VARIANTS.items():
        qv = _embed_multi(emb, [queries[q] for q in qids], "query", poolings, template, exclude)
        for p in poolings:
            if exclude and p == "last-token":
                continue
            scores = qv[p] @ docs[p].T
            top = np.argsort(-scores, axis=1)[:, :100]
            run = {q: {ids[j]: float(scores[i, j]) for j in top[i]} for i, q in enumerate(qids)}
            m = ev.score(run, qrels)
            results[f"{model}:{p}|q={variant}@{dtype}"] = {
                **{k: round(v, 4) for k, v in m.items()}, "dtype": emb.spec.dtype,
                "docs_per_s": round(len(texts) / seconds, 2), "shared_pass": True, "query_template": template,
                "exclude_instruction": exclude, "document_template": "{text}"}
    return results


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--configs", default=",".join(CONFIGS))
    ap.add_argument("--dtype", default="auto")
    ap.add_argument("--runtime", default="auto", help="auto, torch or onnx")
    ap.add_argument("--out", default=str(OUT / "quality.json"))
    ap.add_argument("--label", default="", help="appended to each key, e.g. ' (emulated AVX2)' under "
                                                 "bench/embed_throughput.py's avx2 environment")
    ap.add_argument("--multi", default="", help="MODEL:pool1+pool2+... evaluated from one shared forward pass")
    args = ap.parse_args()
    out = Path(args.out)
    results = json.loads(out.read_text()) if out.exists() else {}
    if args.multi:
        model, pools = args.multi.split(":")
        for key, r in evaluate_multi(model, pools.split("+"), args.dtype).items():
            results[key] = r
            print(key, r, flush=True)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(results, indent=2))
    for name in [c for c in args.configs.split(",") if c]:
        key = f"{name}@{args.dtype}" + (f"/{args.runtime}" if args.runtime != "auto" else "") + args.label
        results[key] = evaluate(CONFIGS[name], args.dtype, args.runtime)
        print(key, results[key], flush=True)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(results, indent=2))  # keep partial results
    print(f"\n{'configuration':45} {'dtype':9} {'nDCG@10':>8} {'R@100':>7} {'docs/s':>7}")
    for k, r in results.items():
        print(f"{k:45} {r['dtype']:9} {r['ndcg@10']:>8} {r['recall@100']:>7} {r['docs_per_s']:>7}")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 0.45 * len(results) + 1.5))
    keys = list(results)
    ax.barh(keys, [results[k]["ndcg@10"] for k in keys], color="#27a")
    ax.axvline(0.645, color="#c33", ls="--", label="MiniLM published (0.645)")
    ax.axvline(0.679, color="#888", ls=":", label="BM25 published (0.679)")
    ax.set_xlabel("SciFact nDCG@10")
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(out.with_suffix(".png"), dpi=110)


if __name__ == "__main__":
    main()
