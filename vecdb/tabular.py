"""CSV and TSV input: one document per row, the other columns as metadata.

    ids, texts, metadata = read_table(Path("papers.csv").read_text(), text_column="abstract", id_column="doi")
    coll.add(texts, ids=ids, metadata=metadata)

Metadata values stay strings, as the file has them (filter with {"year": "2020"}); an empty cell
is left out of the row's metadata.
"""
from __future__ import annotations

import csv
import io

from .errors import InvalidArgument

DELIMITERS = {"csv": ",", "tsv": "\t"}


def read_table(text: str, *, delimiter: str = ",", text_column: str = "text", id_column: str | None = None,
               argument: str = "table") -> tuple[list[str] | None, list[str], list[dict]]:
    """(ids, texts, metadata) from CSV/TSV text with a header row. Without `id_column`, a column
    named "id" gives the ids if there is one; else ids are derived from the text (ids is None)."""
    rows = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(rows)
    except StopIteration:
        raise InvalidArgument(f"{argument}: empty; the first row must name the columns", argument=argument) from None
    except csv.Error as e:
        raise InvalidArgument(f"{argument}: line 1: {e}", argument=argument) from None
    header = [h.strip() for h in header]
    if len(set(header)) != len(header):
        raise InvalidArgument(f"{argument}: duplicate column names in the header {header}", argument=argument)
    if id_column is None and "id" in header and text_column != "id":
        id_column = "id"
    for name, flag in ((text_column, "--text-column"), (id_column, "--id-column")):
        if name is not None and name not in header:
            raise InvalidArgument(f"{flag}: no column {name!r}; columns: {', '.join(header)}", argument=flag)
    t, i = header.index(text_column), header.index(id_column) if id_column else None
    ids: list[str] = []
    texts: list[str] = []
    metadata: list[dict] = []
    try:
        for row in rows:
            if not any(cell.strip() for cell in row):
                continue  # blank line
            line = rows.line_num
            if len(row) != len(header):
                raise InvalidArgument(f"{argument}: line {line} has {len(row)} fields, the header {len(header)}",
                                      argument=argument)
            if not row[t].strip():
                raise InvalidArgument(f"{argument}: line {line}: empty {text_column!r}", argument=argument)
            if i is not None and not row[i].strip():
                raise InvalidArgument(f"{argument}: line {line}: empty {id_column!r}", argument=argument)
            texts.append(row[t])
            if i is not None:
                ids.append(row[i])
            metadata.append({h: v for n, (h, v) in enumerate(zip(header, row)) if n not in (t, i) and v != ""})
    except csv.Error as e:
        raise InvalidArgument(f"{argument}: line {rows.line_num}: {e}", argument=argument) from None
    if not texts:
        raise InvalidArgument(f"{argument}: no rows after the header", argument=argument)
    return (ids if i is not None else None), texts, metadata
