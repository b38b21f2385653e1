"""Every limit vecdb enforces, in one place, the same on every surface (Python API, CLI, HTTP).

Validation code, the server's request schema and the docs' list of limits all read these names.
A breach raises vecdb.errors.LimitExceeded, naming the argument and the limit (HTTP: 400)."""
from __future__ import annotations

MAX_TEXT_CHARS = 100_000      # one stored text (document or chunk), query or embedding input
MAX_CHUNKED_TEXT_CHARS = 10_000_000  # one document added with chunk_size (stored as chunks)
MAX_ID_CHARS = 1024           # one document id
MAX_METADATA_BYTES = 65_536   # one document's metadata, as compact UTF-8 JSON
MAX_METADATA_DEPTH = 32       # nesting of objects and lists in one document's metadata
MAX_K = 10_000                # hits per query (and rows per page of `get`)
MAX_BATCH = 1024              # documents per transaction (add's batch_size); documents, ids or inputs per HTTP request
MAX_QUERIES = 256             # queries per HTTP search request
MAX_BODY_BYTES = 8 * 1024 * 1024  # one HTTP request body
MAX_FILTER_DEPTH = 32         # nesting of $and/$or (and field operators) in one `where`
MAX_FILTER_CONDITIONS = 256   # field conditions and $and/$or lists in one `where` (merged equalities: one)
MAX_FILTER_VALUES = 10_000    # values in one `where`'s $in/$nin lists and merged equalities together
MAX_MILVUS_FILTER_TERMS = 1000  # Milvus backend: comparisons in one compiled expression ($in: one per value)

# name -> value, for the docs' table and for tests
ALL = {name: value for name, value in globals().items() if name.startswith("MAX_")}
