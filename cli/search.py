"""vecdb search."""
from __future__ import annotations

from typing import Annotated, Optional

import typer

from vecdb.errors import InvalidArgument

from .common import (CollectionOpt, DbOpt, Format, FormatOpt, ModelOpt, PoolingOpt, emit, open_db,
                     parse_json_object, read_stdin_text)
from .docs import IncludeOpt, parse_include


def search(
    query: Annotated[str, typer.Argument(help="Query text; '-' reads one query per line from stdin")],
    k: Annotated[int, typer.Option("-k", "--k", help="Number of hits")] = 10,
    where: Annotated[Optional[str], typer.Option("--where", help='Metadata filter, e.g. \'{"year": {"$gte": 2020}}\'')] = None,
    task: Annotated[Optional[str], typer.Option("--task", help="Task for the query instruction template")] = None,
    hybrid: Annotated[bool, typer.Option("--hybrid", help="Fuse dense and BM25 (FTS5) results by reciprocal rank fusion")] = False,
    group_by_document: Annotated[bool, typer.Option("--group-by-document", help="One hit (the best chunk) per parent document")] = False,
    min_score: Annotated[Optional[float], typer.Option("--min-score", help="Leave out hits scoring below this")] = None,
    include: IncludeOpt = None,
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
    queries = [q for q in read_stdin_text("query").splitlines() if q.strip()] if query == "-" else [query]
    if not queries:
        raise InvalidArgument("query: no queries on standard input", argument="query")
    with open_db(db, create=False) as database:
        coll = database.get_collection(collection, model=model, pooling=pooling)
        if hybrid or group_by_document:
            results = [coll.search(q, k=k, where=filt, task=task, hybrid=hybrid, group_by_document=group_by_document,
                                   min_score=min_score, include=fields) for q in queries]
        else:
            results = coll.search_batch(queries, k=k, where=filt, task=task, min_score=min_score, include=fields)
    show(queries, [[h.to_dict(fields) for h in hits] for hits in results], fields, fmt)


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
