"""Every limit vecdb enforces, in one place, the same on every surface (Python API, CLI, HTTP).

Validation code, the server's request schema and the docs' list of limits all read these names."""
from __future__ import annotations

MAX_TEXT_CHARS = 100_000      # one document, query or embedding input
MAX_ID_CHARS = 1024           # one document id
MAX_K = 10_000                # hits per query
MAX_BATCH = 1024              # documents, ids or embedding inputs per HTTP request
MAX_QUERIES = 256             # queries per HTTP search request
MAX_BODY_BYTES = 8 * 1024 * 1024  # one HTTP request body
