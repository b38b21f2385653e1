"""vecdb add / get / delete."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from vecdb import limits
from vecdb.errors import InvalidArgument, LimitExceeded, NotFound

from . import embedopts as eo
from .common import (CollectionOpt, DbOpt, Format, FormatOpt, ModelOpt, PoolingOpt, QuietOpt, emit, info, open_db,
                     parse_json_object, progress_bar, read_stdin_text, read_text_file)
from .runner import run


def read_jsonl(source: str) -> list[tuple[str | None, str, dict | None]]:
    text = read_stdin_text("--jsonl") if source == "-" else read_text_file(Path(source), "--jsonl")
    docs = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except ValueError as e:
            raise InvalidArgument(f"--jsonl: line {n} is not valid JSON ({e.msg})", argument="--jsonl") from None
        except RecursionError:  # the decoder's own depth limit, far past MAX_METADATA_DEPTH
            raise LimitExceeded(f"--jsonl: line {n} is nested too deeply, over the limit of "
                                f"{limits.MAX_METADATA_DEPTH} (MAX_METADATA_DEPTH)", argument="--jsonl",
                                limit="MAX_METADATA_DEPTH") from None
        if not isinstance(obj, dict):
            raise InvalidArgument(f"--jsonl: line {n} must be a JSON object", argument="--jsonl")
        if not isinstance(obj.get("text"), str):
            raise InvalidArgument(f"--jsonl: line {n} needs a string field 'text'", argument="--jsonl")
        doc_id = obj.get("id")
        if doc_id is not None and not isinstance(doc_id, str):
            raise InvalidArgument(f"--jsonl: line {n}: 'id' must be a string, got {type(doc_id).__name__}",
                                  argument="--jsonl")
        meta = obj.get("metadata")
        if meta is not None and not isinstance(meta, dict):
            raise InvalidArgument(f"--jsonl: line {n}: 'metadata' must be a JSON object, got {type(meta).__name__}",
                                  argument="--jsonl")
        docs.append((doc_id, obj["text"], meta))
    return docs


def read_table_file(source: str, flag: str, id_column: str | None, text_column: str):
    """(id, text, metadata) rows of a CSV (--csv) or TSV (--tsv) file; see vecdb.tabular."""
    from vecdb.tabular import DELIMITERS, read_table

    text = read_stdin_text(flag) if source == "-" else read_text_file(Path(source), flag)
    ids, texts, metas = read_table(text, delimiter=DELIMITERS[flag[2:]], text_column=text_column,
                                   id_column=id_column, argument=flag)
    return list(zip(ids or [None] * len(texts), texts, metas))


def add(
    texts: Annotated[Optional[list[str]], typer.Argument(help="Texts to add; '-' reads one document per line from stdin")] = None,
    file: Annotated[Optional[list[Path]], typer.Option("--file", help="A file to add as one document (repeatable)")] = None,
    jsonl: Annotated[Optional[str], typer.Option("--jsonl", help="JSONL with id/text/metadata per line; '-' for stdin")] = None,
    csv_file: Annotated[Optional[str], typer.Option("--csv", help="CSV with a header row, one document per row ('-' for stdin); other columns -> metadata")] = None,
    tsv_file: Annotated[Optional[str], typer.Option("--tsv", help="The same, tab-separated")] = None,
    id_column: Annotated[Optional[str], typer.Option("--id-column", help="--csv/--tsv column holding ids (default: 'id' if present, else derived from the text)")] = None,
    text_column: Annotated[str, typer.Option("--text-column", help="--csv/--tsv column holding the text")] = "text",
    ids: Annotated[Optional[list[str]], typer.Option("--id", help="Ids for the positional texts, in order")] = None,
    metadata: Annotated[Optional[str], typer.Option("--metadata", help="JSON object stored with every document")] = None,
    directory: Annotated[Optional[Path], typer.Option("--dir", help="Add every file under this folder matching --glob (id = path)")] = None,
    glob: Annotated[str, typer.Option("--glob", help="File pattern for --dir, searched recursively")] = "*",
    chunk_size: Annotated[Optional[int], typer.Option("--chunk-size", envvar="VECDB_CHUNK_SIZE", help="Split documents into chunks of at most this many tokens")] = None,
    chunk_overlap: Annotated[int, typer.Option("--chunk-overlap", help="Tokens shared by consecutive chunks")] = 32,
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
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="Documents per transaction")] = 256,
    quiet: QuietOpt = False,
    ray: Annotated[Optional[str], typer.Option("--ray", help="Embed on Ray: 'local', 'auto' or ray://host:10001")] = None,
    db: DbOpt = None,
    collection: CollectionOpt = "default",
    fmt: FormatOpt = Format.table,
) -> None:
    """Add (upsert) documents. Unchanged documents are skipped by content hash."""
    common_meta = parse_json_object(metadata, "--metadata")
    docs: list[tuple[str | None, str, dict | None]] = []
    positional = list(texts or [])
    if ids and len(ids) != len([t for t in positional if t != "-"]):
        raise InvalidArgument(f"--id: got {len(ids)} ids for {len(positional)} texts", argument="--id")
    id_iter = iter(ids or [])
    for t in positional:
        if t == "-":
            docs += [(None, line, common_meta) for line in read_stdin_text("-").splitlines() if line.strip()]
        else:
            docs.append((next(id_iter, None), t, common_meta))
    files = list(file or [])
    if directory is not None:
        if not directory.is_dir():
            raise InvalidArgument(f"--dir: {str(directory)!r} is not a folder", argument="--dir")
        found = sorted(p for p in directory.rglob(glob) if p.is_file() and not any(
            part.startswith(".") for part in p.relative_to(directory).parts))
        if not found:
            raise InvalidArgument(f"--glob: no files match {glob!r} under {str(directory)!r}", argument="--glob")
        files += found
    for f in files:
        meta = {"source": str(f), **(common_meta or {})}
        text = read_text_file(f)
        if text.strip():
            docs.append((str(f), text, meta))
        else:
            info(f"skipped empty file {str(f)!r}")
    if jsonl:
        docs += [(i, t, {**(common_meta or {}), **(m or {})} if common_meta else m) for i, t, m in read_jsonl(jsonl)]
    for flag, source in (("--csv", csv_file), ("--tsv", tsv_file)):
        if source is not None:
            docs += [(i, t, {**(common_meta or {}), **m}) for i, t, m in read_table_file(source, flag, id_column,
                                                                                           text_column)]
    if not docs:
        raise InvalidArgument("texts: nothing to add; give texts, '-', --file, --dir, --jsonl, --csv or --tsv",
                              argument="texts")

    opts = eo.options(instruction, document_template, max_length, layer, dtype, padding_side, exclude_instruction,
                      runtime)
    id_list = [d[0] for d in docs]
    if ray:
        from .ingest import open_collection, ray_address, run as ray_run

        with open_db(db) as database:
            coll = open_collection(database, collection, model, pooling, opts)
            items = [{"id": i, "text": t, "metadata": m} for i, t, m in docs]
            return ray_run(coll, fmt, total=len(docs), items=items, address=ray_address(ray), batch_size=batch_size,
                           quiet=quiet)
    file_ids = {str(f) for f in files}
    chunking = {} if chunk_size is None else {
        "chunk_size": chunk_size, "chunk_overlap": chunk_overlap,
        "sources": [(d[2] or {}).get("source") if d[0] in file_ids else None for d in docs]}
    with progress_bar(len(docs), f"adding to {collection}", quiet=quiet, fmt=fmt) as advance:
        res = run("add", db, lambda event: advance(event.get("n", 0)) if event.get("event") == "progress" else None,
                  collection=collection, texts=[d[1] for d in docs],
                  ids=id_list if any(i is not None for i in id_list) else None, metadata=[d[2] for d in docs],
                  model=model, pooling=pooling, options=opts, batch_size=batch_size, chunking=chunking)
    chunked = res.pop("chunked")
    summary = {"collection": collection, **res}
    if fmt in (Format.json, Format.jsonl):
        emit([summary], fmt, list(summary), as_object=summary)
    elif quiet:
        return
    elif chunked:
        info(f"{res['documents']} documents chunked ({res['documents_unchanged']} unchanged skipped): added "
             f"{res['added']}, updated {res['updated'] + res['metadata_updated']}, unchanged {res['unchanged']} "
             f"chunks -> collection {collection!r} now holds {res['count']} rows")
    else:
        info(f"added {res['added']}, updated {res['updated'] + res['metadata_updated']}, unchanged "
             f"{res['unchanged']} -> collection {collection!r} now holds {res['count']} documents")


IncludeOpt = Annotated[Optional[list[str]], typer.Option("--include", help="Fields to show: text, metadata, vector (repeatable or comma-separated)")]


def parse_include(values: list[str] | None, default=("text", "metadata")) -> list[str]:
    return list(default) if not values else [f.strip() for v in values for f in v.split(",") if f.strip()]


def get(
    ids: Annotated[Optional[list[str]], typer.Argument(help="Document ids; none lists the collection")] = None,
    where: Annotated[Optional[str], typer.Option("--where", help="Only documents matching this metadata filter (JSON)")] = None,
    limit: Annotated[Optional[int], typer.Option("--limit", help="At most this many documents (listing)")] = None,
    offset: Annotated[int, typer.Option("--offset", help="Skip this many documents first (listing, insertion order)")] = 0,
    include: IncludeOpt = None,
    db: DbOpt = None,
    collection: CollectionOpt = "default",
    fmt: FormatOpt = Format.table,
) -> None:
    """Show documents by id (an id not found is an error, after the found ones are shown), or list them
    (no ids) in insertion order, filtered and paged."""
    filt = parse_json_object(where, "--where")
    fields = parse_include(include)
    with open_db(db, create=False) as database:
        coll = database.get_collection(collection)
        if ids:
            docs = coll.get(ids, where=filt, limit=limit, offset=offset, include=fields)
        else:
            docs = coll.get(where=filt, limit=limit, offset=offset, include=fields)
    missing = [i for i in ids or [] if i not in {d.id for d in docs}]
    if docs or not ids:
        emit([d.to_dict(fields) for d in docs], fmt, ["id", *fields])
    if missing:
        raise NotFound(f"ids: not found: {', '.join(missing)}", argument="ids")


def delete(
    ids: Annotated[Optional[list[str]], typer.Argument(help="Document ids")] = None,
    where: Annotated[Optional[str], typer.Option("--where", help="Delete every document matching this metadata filter (JSON)")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only count what would be deleted")] = False,
    db: DbOpt = None,
    collection: CollectionOpt = "default",
    fmt: FormatOpt = Format.table,
) -> None:
    """Delete documents by id or by a metadata filter; prints how many (--dry-run: would be)."""
    filt = parse_json_object(where, "--where")
    with open_db(db, create=False) as database:
        n = database.get_collection(collection).delete(ids or None, where=filt, dry_run=dry_run)
    if fmt in (Format.json, Format.jsonl):
        emit([{"deleted": n}], fmt, ["deleted"], as_object={"deleted": n})
    else:
        of = f" of {len(ids)}" if ids else ""
        info(f"{'would delete' if dry_run else 'deleted'} {n}{of} documents from {collection!r}")
