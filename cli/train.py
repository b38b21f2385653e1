"""vecdb train / vecdb synth."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from .common import CollectionOpt, DbOpt, Format, FormatOpt, emit, info, open_db, progress_bar


def train(
    data: Annotated[str, typer.Argument(help="JSONL triples/pairs/labelled data, a BEIR folder, or '-' (stdin)")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Model folder to write (resumes a killed run)")],
    model: Annotated[str, typer.Option("--model", "-m", envvar="VECDB_MODEL", help="Base model")] = "minilm",
    mode: Annotated[str, typer.Option("--mode", help="full, lora or pooling (frozen model, trainable pooling)")] = "pooling",
    pooling: Annotated[Optional[str], typer.Option("--pooling", help="A trainable pooling mode, e.g. linear (default from the model's pooling)")] = None,
    epochs: Annotated[int, typer.Option("--epochs", min=1)] = 1,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1)] = 32,
    lr: Annotated[Optional[float], typer.Option("--lr", help="Learning rate (default by mode)")] = None,
    tau: Annotated[float, typer.Option("--tau", help="InfoNCE temperature")] = 0.05,
    hard_negatives: Annotated[int, typer.Option("--hard-negatives", min=0, help="Mine N per query from --collection")] = 0,
    skip_top: Annotated[int, typer.Option("--skip-top", min=0, help="Ranks skipped when mining")] = 3,
    max_length: Annotated[Optional[int], typer.Option("--max-length")] = None,
    split: Annotated[str, typer.Option("--split", help="qrels split of a BEIR folder")] = "train",
    gradient_checkpointing: Annotated[bool, typer.Option("--gradient-checkpointing")] = False,
    cache_chunk: Annotated[Optional[int], typer.Option("--cache-chunk", min=1, help="GradCache chunk size")] = None,
    lora_r: Annotated[int, typer.Option("--lora-r", min=1)] = 8,
    init: Annotated[str, typer.Option("--init", help="Pooling mode: identity or standardize (z-scored features)")] = "identity",
    seed: Annotated[int, typer.Option("--seed")] = 0,
    bf16: Annotated[Optional[bool], typer.Option("--bf16/--no-bf16", help="bf16 autocast (default: on CUDA only; "
                                                 "also fast on CPUs with native bf16)")] = None,
    device: Annotated[Optional[str], typer.Option("--device", help="auto, cpu or cuda")] = None,
    db: DbOpt = None,
    collection: Annotated[Optional[str], typer.Option("--collection", "-c", help="Mine hard negatives here")] = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Fine-tune an embedder contrastively (InfoNCE) and write a model folder for --model."""
    from vecdb.errors import InvalidArgument
    from vecdb.train import data as train_data
    from vecdb.train.mining import mine
    from vecdb.train.trainer import TrainConfig, train as run

    config = TrainConfig(model=model, mode=mode, pooling=pooling, epochs=epochs, batch_size=batch_size, lr=lr,
                         tau=tau, max_length=max_length, gradient_checkpointing=gradient_checkpointing,
                         cache_chunk=cache_chunk, lora_r=lora_r, init=init, lora_alpha=2 * lora_r, seed=seed, device=device, bf16=bf16,
                         max_negatives=max(hard_negatives, 7))
    config.check()
    examples = train_data.load(data, split)
    if hard_negatives:
        if not collection:
            raise InvalidArgument("--collection: needed to mine --hard-negatives", argument="collection")
        with open_db(db) as database:
            coll = database.get_collection(collection)
            with progress_bar(len({e.query for e in examples}), f"mining hard negatives in {collection}") as adv:
                mine(coll, examples, n=hard_negatives, skip_top=skip_top, progress=adv)
    info(f"training {model} ({mode}) on {len(examples)} examples for {epochs} epoch(s)")
    summary = run(examples, config, out, progress=sys.stderr.isatty(), log=info)
    if fmt == Format.table:
        info(f"wrote {out}; loss per epoch: {', '.join(f'{x:.4f}' for x in summary['loss']) or '(already done)'}")
    else:
        emit([summary], fmt, list(summary), as_object=summary)


def synth(
    out: Annotated[Path, typer.Option("--out", "-o", help="JSONL file of triples to write")],
    collection: CollectionOpt = "default",
    api_base: Annotated[Optional[str], typer.Option("--api-base", envvar="VECDB_SYNTH_API_BASE",
                                                    help="OpenAI-compatible endpoint; default: local SmolLM2")] = None,
    api_key: Annotated[Optional[str], typer.Option("--api-key", envvar="VECDB_SYNTH_API_KEY")] = None,
    model: Annotated[Optional[str], typer.Option("--model", "-m", help="Chat model (endpoint) or local instruct "
                                                 "model (default smollm2-135m)")] = None,
    limit: Annotated[Optional[int], typer.Option("--limit", min=1, help="At most N documents")] = None,
    max_new_tokens: Annotated[int, typer.Option("--max-new-tokens", min=4)] = 64,
    negatives: Annotated[bool, typer.Option("--negatives/--no-negatives", help="Generate hard negatives")] = True,
    db: DbOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Generate training triples (query, positive, hard negative) from a collection's documents with an LLM."""
    from vecdb.train import synth as s

    with open_db(db) as database:
        docs = s.collection_docs(database.get_collection(collection), limit)
    if api_base:
        gen = s.ChatEndpoint(api_base, api_key, model or "default")
    else:
        gen = s.LocalGenerator(model or "smollm2-135m")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".part")
    with open(tmp, "w", encoding="utf-8") as f, progress_bar(len(docs), "generating") as advance:
        stats = s.synthesize(gen, docs, lambda row: f.write(s.dumps(row) + "\n"), [t for _, t in docs[:3]],
                             negatives=negatives, max_new_tokens=max_new_tokens, progress=advance)
    tmp.replace(out)
    result = {**stats.to_dict(), "out": str(out)}
    if fmt == Format.table:
        d = stats.dropped
        info(f"wrote {stats.written} triples ({stats.with_negative} with a hard negative) from {stats.docs} "
             f"documents to {out}; dropped malformed: {d['query']} queries, {d['negative']} negatives, "
             f"{d['task']} task definitions")
    else:
        emit([result], fmt, list(result), as_object=result)
