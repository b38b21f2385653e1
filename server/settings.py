"""Server settings: built by the caller (the CLI reads the environment), never read from globals.

The limits default to vecdb.limits. A deployment may lower them; the ones the library enforces
itself (k, text length) cannot go past the library's, so the request schema built from these
settings (server/bodies.py) is exactly what the server enforces."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from vecdb import limits


@dataclass(frozen=True)
class Settings:
    db_path: Path
    api_key: str | None = None          # None: no auth
    device: str | None = None
    # limits
    max_body_bytes: int = limits.MAX_BODY_BYTES
    max_batch: int = limits.MAX_BATCH   # documents, ids or embedding inputs per request
    max_queries: int = limits.MAX_QUERIES  # queries per search request
    max_text_chars: int = limits.MAX_TEXT_CHARS  # per document, query or input (token ids: per input)
    max_k: int = limits.MAX_K
    # /v1/embeddings: cut inputs longer than the model's limit (and say how many) instead of a 400
    truncate: bool = False
    # dynamic batching of embedding work
    batching: bool = True
    batch_wait_ms: float = 5.0
    batch_tokens: int = 8192
    batch_max_items: int = 256
    # models a client may name (presets, folders); None: every preset available offline
    models: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        for name, cap in (("max_body_bytes", None), ("max_batch", None), ("max_queries", None),
                          ("max_text_chars", limits.MAX_TEXT_CHARS), ("max_k", limits.MAX_K)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1 or (cap and value > cap):
                raise ValueError(f"{name}: must be an integer from 1{f' to {cap} (vecdb.limits)' if cap else ''}, "
                                 f"got {value!r}")
