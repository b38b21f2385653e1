"""vecdb collections / create / drop / info."""
from __future__ import annotations

import json
from typing import Annotated, Optional

import typer

from . import embedopts as eo
from .common import CollectionOpt, DbOpt, Format, FormatOpt, ModelOpt, PoolingOpt, emit, info, open_db


def collections(db: DbOpt = None, fmt: FormatOpt = Format.table) -> None:
    """List collections (staging: left by an interrupted reembed; `vecdb reembed --abort` removes it)."""
    with open_db(db, create=False) as database:
        rows = database.list_collections()
    emit(rows, fmt, ["name", "count", "model", "pooling", "dim", "index", "created_at", "staging"])


def create(
    name: Annotated[str, typer.Argument(help="Collection name")],
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
    index: Annotated[str, typer.Option("--index", help="Index type and parameters, e.g. 'hnsw,M=32,dtype=int8'")] = "flat",
    db: DbOpt = None,
    fmt: FormatOpt = Format.table,
) -> None:
    """Create a collection and record its embedding spec."""
    opts = eo.options(instruction, document_template, max_length, layer, dtype, padding_side, exclude_instruction,
                      runtime)
    with open_db(db) as database:
        coll = database.create_collection(name, model or "minilm", pooling=pooling, index=index, **opts)
        spec = json.loads(coll.spec.to_json())
    if fmt == Format.json:
        emit([], fmt, [], as_object={"name": name, "spec": spec})
    else:
        info(f"created collection {name!r}: model {spec['model']}, pooling {spec['pooling']}, dim {spec['dim']}")


def drop(name: Annotated[str, typer.Argument(help="Collection to delete, with all its documents")],
         db: DbOpt = None) -> None:
    """Delete a collection and all its documents."""
    with open_db(db) as database:
        database.drop_collection(name)
    info(f"dropped collection {name!r}")


def show_info(db: DbOpt = None, collection: CollectionOpt = "default", fmt: FormatOpt = Format.table) -> None:
    """Show a collection's spec, size and index."""
    with open_db(db, create=False) as database:
        data = database.get_collection(collection).info()
        data["database"] = database.location
        data["disk_bytes"] = database.disk_usage()
    if fmt in (Format.json, Format.jsonl):
        emit([data], fmt, [], as_object=data)
        return
    rows = [{"field": "name", "value": data["name"]}, {"field": "documents", "value": data["count"]},
            {"field": "staging", "value": data["staging"]},
            {"field": "database", "value": data["database"]}, {"field": "disk bytes", "value": data["disk_bytes"]}]
    rows += [{"field": f"spec.{k}", "value": v} for k, v in data["spec"].items()]
    rows += [{"field": f"index.{k}", "value": v} for k, v in data["index"].items()]
    emit(rows, fmt, ["field", "value"])


def reindex(index: Annotated[str, typer.Option("--index", help="Type and parameters, e.g. 'hnsw,M=32,ef_search=64', "
                                                                "'ivf,nlist=4096,nprobe=64', 'flat,dtype=int8'")],
            db: DbOpt = None, collection: CollectionOpt = "default", fmt: FormatOpt = Format.table) -> None:
    """Change a collection's index type or parameters without re-embedding (vectors come from SQLite)."""
    with open_db(db) as database:
        coll = database.reindex(collection, index)
        data = {"collection": collection, "index": coll.info()["index"]}
    if fmt in (Format.json, Format.jsonl):
        emit([data], fmt, [], as_object=data)
    else:
        info(f"reindexed {collection!r}: " + ", ".join(f"{k}={v}" for k, v in data["index"].items()))
