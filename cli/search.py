"""vecdb search."""
from __future__ import annotations

import json
from typing import Annotated, Optional

import typer

from vecdb.errors import InvalidArgument

from .common import (CollectionOpt, DbOpt, Format, FormatOpt, ModelOpt, PoolingOpt, emit, parse_json_object,
                     read_stdin_text)
from .docs import IncludeOpt, parse_include
from .runner import run


def search(
    query: Annotated[Optional[str], typer.Argument(help="Query text; '-' reads one query per line from stdin",
                                                   show_default=False)] = None,
    k: Annotated[int, typer.Option("-k", "--k", help="Number of hits")] = 10,
    where: Annotated[Optional[str], typer.Option("--where", help='Metadata filter, e.g. \'{"year": {"$gte": 2020}}\'')] = None,
    task: Annotated[Optional[str], typer.Option("--task", help="Task for the query instruction template")] = None,
    hybrid: Annotated[bool, typer.Option("--hybrid", help="Fuse dense and BM25 (FTS5) results by reciprocal rank fusion")] = False,
    group_by_document: Annotated[bool, typer.Option("--group-by-document", help="One hit (the best chunk) per parent document")] = False,
    min_score: Annotated[Optional[float], typer.Option("--min-score", help="Leave out hits scoring below this")] = None,
    include: IncludeOpt = None,
    vector: Annotated[Optional[str], typer.Option("--vector", help="Search with a vector instead of a query: a JSON "
                                                  "array (or an array of arrays); no model is loaded")] = None,
    model: ModelOpt = None,
    pooling: PoolingOpt = None,
    db: DbOpt = None,
    collection: CollectionOpt = "default",
    fmt: FormatOpt = Format.table,
) -> None:
    """Find the documents closest in meaning to a query (cosine similarity)."""
    if k <= 0:
        raise InvalidArgument(f"-k: must be a positive integer, got {k}", argument="k")
    filt = parse_json_object(where, "--where")
    fields = parse_include(include)
    if vector is not None:
        if query is not None or hybrid or group_by_document:
            raise InvalidArgument("--vector: give either a query or --vector (without --hybrid or "
                                  "--group-by-document)", argument="--vector")
        vectors = parse_vectors(vector)
        queries = [f"vector {i + 1}" for i in range(len(vectors))]
        results = run("search_vectors", db, warm=False, create=False, collection=collection, vectors=vectors, k=k,
                      where=filt, min_score=min_score, include=fields)
    else:
        if query is None:
            raise InvalidArgument("query: missing; give a query, '-' to read queries from stdin, or --vector",
                                  argument="query")
        queries = [q for q in read_stdin_text("query").splitlines() if q.strip()] if query == "-" else [query]
        if not queries:
            raise InvalidArgument("query: no queries on standard input", argument="query")
        results = run("search", db, create=False, collection=collection, queries=queries, k=k, where=filt, task=task,
                      hybrid=hybrid, group_by_document=group_by_document, min_score=min_score, include=fields,
                      model=model, pooling=pooling)
    show(queries, results, fields, fmt)


def show(queries: list[str], results: list[list[dict]], fields: list[str], fmt: Format) -> None:
    """Hits (as dicts) per query: one query as a ranked list, several with the query on each row."""
    columns = ["id", "score", *fields]
    if len(queries) == 1:
        rows = results[0]
        shown = [{"rank": i + 1, **r} for i, r in enumerate(rows)]
        emit(shown if fmt in (Format.table, Format.csv) else rows, fmt, ["rank", *columns], as_object=rows)
    else:
        rows = [{"query": q, "rank": i + 1, **h} for q, hits in zip(queries, results) for i, h in enumerate(hits)]
        emit(rows, fmt, ["query", "rank", *columns],
             as_object=[{"query": q, "hits": hits} for q, hits in zip(queries, results)])


def parse_vectors(value: str) -> list[list[float]]:
    try:
        obj = json.loads(value)
    except ValueError as e:
        raise InvalidArgument(f"--vector: not valid JSON ({e.msg} at position {e.pos})", argument="--vector") from None
    rows = obj if isinstance(obj, list) and obj and all(isinstance(r, list) for r in obj) else [obj]
    for r in rows:
        if not isinstance(r, list) or not r or not all(
                isinstance(x, (int, float)) and not isinstance(x, bool) for x in r):
            raise InvalidArgument("--vector: must be a non-empty JSON array of numbers, or an array of such arrays",
                                  argument="--vector")
    if len({len(r) for r in rows}) > 1:
        raise InvalidArgument("--vector: the vectors differ in length", argument="--vector")
    return rows
