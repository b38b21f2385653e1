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
    pooling: Annotated[Optional[str], typer.Option("--pooling", help="Pooling mode: linear, last-linear, attention")] = None,
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
    seed: Annotated[int, typer.Option("--seed")] = 0,
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
                         cache_chunk=cache_chunk, lora_r=lora_r, lora_alpha=2 * lora_r, seed=seed, device=device,
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
