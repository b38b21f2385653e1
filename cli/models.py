"""vecdb models / reembed."""
from __future__ import annotations

import json
from typing import Annotated

import typer

from vecdb.errors import NotFound

from . import embedopts as eo
from .common import (CollectionOpt, DbOpt, Format, FormatOpt, ModelOpt, PoolingOpt, QuietOpt, emit, info, open_db,
                     progress_bar)


def models(fmt: FormatOpt = Format.table) -> None:
    """List the model presets: dimension, default pooling, padding side, source, offline availability."""
    from vecdb.embed import PRESETS

    rows = [{"name": p.name, "dim": p.dim, "pooling": p.pooling.value, "padding": p.padding_side,
             "max_length": p.max_length, "source": p.source if p.source != "hub" else f"hub {p.hub_id}",
             "offline": p.available_offline(), "note": p.note} for p in PRESETS.values()]
    emit(rows, fmt, ["name", "dim", "pooling", "padding", "max_length", "source", "offline", "note"])


def reembed(
    model: ModelOpt = None,
    pooling: PoolingOpt = None,
    instruction: eo.InstructionOpt = None,
    document_template: eo.DocTemplateOpt = None,
    max_length: eo.MaxLengthOpt = None,
    layer: eo.LayerOpt = None,
    dtype: eo.DtypeOpt = None,
    padding_side: eo.PaddingOpt = None,
    exclude_instruction: eo.ExcludeOpt = False,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1)] = 256,
    quiet: QuietOpt = False,
    abort: Annotated[bool, typer.Option("--abort", help="Remove the staging collection an interrupted reembed of "
                                                        "--collection left (__reembed__NAME) and stop")] = False,
    db: DbOpt = None,
    collection: CollectionOpt = "default",
    fmt: FormatOpt = Format.table,
) -> None:
    """Re-embed a collection with a new model or pooling. Resumable; searches use the old vectors until
    the atomic switch at the end."""
    if abort:
        from vecdb.reembed import abort as abort_reembed, staging_name

        with open_db(db, create=False) as database:
            if not abort_reembed(database, collection):
                raise NotFound(f"collection: no interrupted reembed of {collection!r} ({staging_name(collection)!r} "
                               "does not exist)", argument="collection")
        info(f"removed {staging_name(collection)!r}, the staging collection of an interrupted reembed")
        return
    opts = eo.options(instruction, document_template, max_length, layer, dtype, padding_side, exclude_instruction)
    with open_db(db) as database:
        total = database.get_collection(collection).count()
        with progress_bar(total, f"re-embedding {collection}", quiet=quiet, fmt=fmt) as advance:
            coll = database.reembed(collection, model, pooling=pooling, batch_size=batch_size, progress=advance,
                                    **opts)
        spec = json.loads(coll.spec.to_json())
        count = coll.count()
    if fmt in (Format.json, Format.jsonl):
        emit([], fmt, [], as_object={"collection": collection, "count": count, "spec": spec})
    elif not quiet:
        info(f"re-embedded {count} documents of {collection!r} with {spec['model']} ({spec['pooling']} pooling)")
