"""vecdb export / import: move a collection between backends (vectors are copied, not re-embedded)."""
from __future__ import annotations

from typing import Annotated, Optional

import typer

from .common import CollectionOpt, DbOpt, Format, FormatOpt, QuietOpt, emit, info, open_db, progress_bar

BatchOpt = Annotated[int, typer.Option("--batch-size", min=1, help="Documents per batch")]
AsOpt = Annotated[Optional[str], typer.Option("--as", help="Name in the destination (default: the same)")]


def _run(src_db, dst_db, collection: str, as_name: str | None, batch_size: int, fmt: Format, verb: str,
         quiet: bool) -> None:
    from vecdb.transfer import copy_collection

    src = src_db.get_collection(collection)
    with progress_bar(src.count(), f"{verb} {collection}", quiet=quiet, fmt=fmt) as advance:
        res = copy_collection(src, dst_db, as_name, batch_size=batch_size, progress=advance)
    summary = {"collection": collection, "to": as_name or collection, **res.to_dict()}
    if fmt in (Format.json, Format.jsonl):
        emit([summary], fmt, list(summary), as_object=summary)
    elif not quiet:
        info(f"{verb} {collection!r}: {res.copied} copied, {res.skipped} already there, "
             f"{res.source} read in {res.seconds:.1f}s")


def export(
    to: Annotated[str, typer.Option("--to", help="Destination: milvus://host:19530, milvus-lite://PATH or a directory")],
    as_name: AsOpt = None,
    batch_size: BatchOpt = 1000,
    quiet: QuietOpt = False,
    db: DbOpt = None,
    collection: CollectionOpt = "default",
    fmt: FormatOpt = Format.table,
) -> None:
    """Copy a collection with its spec and vectors to another backend (resumable)."""
    import vecdb

    with open_db(db) as src_db, vecdb.open(to) as dst_db:
        _run(src_db, dst_db, collection, as_name, batch_size, fmt, "exported", quiet)


def import_(
    source: Annotated[str, typer.Option("--from", help="Source: milvus://host:19530, milvus-lite://PATH or a directory")],
    as_name: AsOpt = None,
    batch_size: BatchOpt = 1000,
    quiet: QuietOpt = False,
    db: DbOpt = None,
    collection: CollectionOpt = "default",
    fmt: FormatOpt = Format.table,
) -> None:
    """Copy a collection with its spec and vectors from another backend into this database (resumable)."""
    import vecdb

    with vecdb.open(source) as src_db, open_db(db) as dst_db:
        _run(src_db, dst_db, collection, as_name, batch_size, fmt, "imported", quiet)
