"""Server settings: built by the caller (the CLI reads the environment), never read from globals."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    db_path: Path
    api_key: str | None = None          # None: no auth
    device: str | None = None
    # limits
    max_body_bytes: int = 8 * 1024 * 1024
    max_batch: int = 1024               # documents, ids or embedding inputs per request
    max_queries: int = 256              # queries per search request
    max_text_chars: int = 100_000       # per document, query or input
    max_k: int = 1000
    # dynamic batching of embedding work
    batching: bool = True
    batch_wait_ms: float = 5.0
    batch_tokens: int = 8192
    batch_max_items: int = 256
    # models a client may name (presets, folders); None: every preset available offline
    models: tuple[str, ...] | None = None
