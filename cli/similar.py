"""vecdb similar: the neighbours of a stored document."""
from __future__ import annotations

from typing import Annotated, Optional

import typer

from .common import CollectionOpt, DbOpt, Format, FormatOpt, open_db, parse_json_object
from .docs import IncludeOpt, parse_include
from .search import show


def similar(
    doc_id: Annotated[str, typer.Argument(metavar="ID", help="A stored document's id")],
    k: Annotated[int, typer.Option("-k", "--k", help="Number of neighbours")] = 10,
    where: Annotated[Optional[str], typer.Option("--where", help="Metadata filter (JSON)")] = None,
    min_score: Annotated[Optional[float], typer.Option("--min-score", help="Leave out hits scoring below this")] = None,
    include: IncludeOpt = None,
    db: DbOpt = None,
    collection: CollectionOpt = "default",
    fmt: FormatOpt = Format.table,
) -> None:
    """The documents closest to a stored document (itself left out); no model is loaded."""
    fields = parse_include(include)
    with open_db(db, create=False) as database:
        hits = database.get_collection(collection).similar(doc_id, k=k, where=parse_json_object(where, "--where"),
                                                           min_score=min_score, include=fields)
    show([doc_id], [[h.to_dict(fields) for h in hits]], fields, fmt)
