"""vecdb ingest: embed JSONL/Parquet files or folders on a Ray cluster and store them."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from . import embedopts as eo
from .common import (CollectionOpt, DbOpt, Format, FormatOpt, ModelOpt, PoolingOpt, QuietOpt, emit, info, open_db,
                     progress_bar)

RayOpt = Annotated[str, typer.Option("--ray", envvar="VECDB_RAY",
                                     help="Ray cluster: 'local' starts one here, 'auto' joins the running one, "
                                          "or ray://host:10001")]


def ray_address(value: str | None) -> str | None:
    return None if value in (None, "", "local") else value


def run(coll, fmt: Format, *, total: int | None = None, quiet: bool = False, **kwargs) -> None:
    from vecdb.distributed.ray_ingest import ingest as ray_ingest

    with progress_bar(total or 1000, f"embedding on Ray into {coll.name}", quiet=quiet, fmt=fmt) as advance:
        res = ray_ingest(coll, progress=advance, **kwargs)
    summary = {"collection": coll.name, **res.to_dict(), "count": coll.count()}
    if fmt in (Format.json, Format.jsonl):
        emit([summary], fmt, list(summary), as_object=summary)
    elif not quiet:
        info(f"read {res.read}, embedded {res.embedded} ({res.docs_per_s:.1f} docs/s over {res.seconds:.1f}s), "
             f"skipped {res.skipped} unchanged, {res.metadata_updated} metadata-only, failed {res.failed}"
             f" -> collection {coll.name!r} now holds {summary['count']} documents")
    if fmt not in (Format.json, Format.jsonl):
        for e in res.errors:
            info(f"  failed: {e}")
    if res.failed:
        raise typer.Exit(1)


def open_collection(database, collection: str, model, pooling, opts: dict):
    if database.has_collection(collection):
        return database.get_collection(collection, model=model, pooling=pooling, **opts)
    return database.create_collection(collection, model or "minilm", pooling=pooling, **opts)


def ingest(
    paths: Annotated[list[Path], typer.Argument(help="JSONL (.jsonl/.ndjson), .json or .parquet files or folders")],
    ray: RayOpt = "local",
    text_field: Annotated[str, typer.Option("--text-field", help="Field holding the text")] = "text",
    id_field: Annotated[str, typer.Option("--id-field", help="Field holding the id (absent: derived from the text)")] = "id",
    metadata_field: Annotated[str, typer.Option("--metadata-field", help="Field holding a metadata object")] = "metadata",
    concurrency: Annotated[Optional[int], typer.Option("--concurrency", min=1, help="Embedding actors "
                                                       "(default: one per GPU, else one per CPU)")] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="Documents per embedding/write batch")] = 256,
    model: ModelOpt = None,
    pooling: PoolingOpt = None,
    dtype: eo.DtypeOpt = None,
    runtime: eo.RuntimeOpt = None,
    max_length: eo.MaxLengthOpt = None,
    quiet: QuietOpt = False,
    db: DbOpt = None,
    collection: CollectionOpt = "default",
    fmt: FormatOpt = Format.table,
) -> None:
    """Embed files on a Ray cluster (resumable: unchanged documents are skipped) and store them."""
    opts = eo.options(max_length=max_length, dtype=dtype, runtime=runtime)
    with open_db(db) as database:
        coll = open_collection(database, collection, model, pooling, opts)
        run(coll, fmt, paths=[str(p) for p in paths], address=ray_address(ray), text_field=text_field,
            id_field=id_field, metadata_field=metadata_field, batch_size=batch_size, concurrency=concurrency,
            quiet=quiet)
