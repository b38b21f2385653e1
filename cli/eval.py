"""vecdb eval: retrieval quality on a BEIR-format folder."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from . import embedopts as eo
from .common import DbOpt, Format, FormatOpt, ModelOpt, PoolingOpt, emit, progress_bar


def evaluate(
    dataset: Annotated[Path, typer.Argument(help="BEIR folder: corpus.jsonl, queries.jsonl, qrels/<split>.tsv")],
    split: Annotated[str, typer.Option("--split", help="qrels file to score against")] = "test",
    model: ModelOpt = None,
    pooling: PoolingOpt = None,
    instruction: eo.InstructionOpt = None,
    document_template: eo.DocTemplateOpt = None,
    max_length: eo.MaxLengthOpt = None,
    layer: eo.LayerOpt = None,
    dtype: eo.DtypeOpt = None,
    runtime: eo.RuntimeOpt = None,
    padding_side: eo.PaddingOpt = None,
    exclude_instruction: eo.ExcludeOpt = False,
    collection: Annotated[Optional[str], typer.Option("--collection", "-c", help="Evaluate this existing "
                                                      "collection (in --db) instead of a throwaway one")] = None,
    db: DbOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """nDCG@10, Recall@10/100, MRR@10, MAP@10 (trec_eval definitions) plus embedding speed."""
    from vecdb import evaluate as ev
    from vecdb.paths import default_db_path

    opts = eo.options(instruction, document_template, max_length, layer, dtype, padding_side, exclude_instruction,
                      runtime)
    if model is not None:
        opts["model"] = model
    if pooling is not None:
        opts["pooling"] = pooling
    total = _count_lines(dataset / "corpus.jsonl")
    with progress_bar(total, "embedding corpus") as advance:
        result = ev.evaluate_dataset(dataset, split, db_path=(db or default_db_path()) if collection else db,
                                     collection=collection, progress=advance, **opts)
    if fmt in (Format.json, Format.jsonl):
        emit([result], fmt, [], as_object=result)
    else:
        emit([{"metric": k, "value": v} for k, v in result.items()], fmt, ["metric", "value"])


def _count_lines(path: Path) -> int:
    try:
        with open(path, "rb") as f:
            return sum(1 for _ in f)
    except OSError:
        return 0
