"""vecdb serve: run the REST server (uvicorn)."""
from __future__ import annotations

from typing import Annotated, Optional

import typer

from vecdb.errors import InvalidArgument

from .common import DbOpt


def serve(
    db: DbOpt = None,
    host: Annotated[str, typer.Option("--host", envvar="VECDB_HOST", help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", envvar="VECDB_PORT", help="Port (0: any free port)")] = 8000,
    api_key: Annotated[Optional[str], typer.Option("--api-key", envvar="VECDB_API_KEY", show_default=False,
                                                   help="Require Authorization: Bearer KEY [env: VECDB_API_KEY]")] = None,
    batching: Annotated[bool, typer.Option("--batching/--no-batching", envvar="VECDB_BATCHING",
                                           help="Merge concurrent embedding requests into shared batches")] = True,
    batch_wait_ms: Annotated[float, typer.Option("--batch-wait-ms", help="Longest wait for a batch to fill")] = 5.0,
    batch_tokens: Annotated[int, typer.Option("--batch-tokens", help="Token budget of a merged batch")] = 8192,
    max_body_mb: Annotated[float, typer.Option("--max-body-mb", help="Largest request body (MiB)")] = 8.0,
    max_batch: Annotated[int, typer.Option("--max-batch", help="Most documents, ids or inputs per request")] = 1024,
    truncate: Annotated[bool, typer.Option("--truncate/--no-truncate", envvar="VECDB_TRUNCATE",
                                           help="/v1/embeddings: cut inputs over the model's token limit (the "
                                                "answer counts them) instead of a 400; a request's `truncate` "
                                                "overrides it")] = False,
    model: Annotated[Optional[list[str]], typer.Option("--model", "-m", envvar="VECDB_SERVE_MODELS",
                                                       help="A model clients may name (repeat); default: the "
                                                            "presets available offline")] = None,
    device: Annotated[Optional[str], typer.Option("--device", envvar="VECDB_DEVICE", help="cpu, cuda, ...")] = None,
    torch_threads: Annotated[Optional[int], typer.Option("--torch-threads", envvar="VECDB_TORCH_THREADS",
                                                         help="CPU threads per model call (default: torch's)")] = None,
    log_level: Annotated[str, typer.Option("--log-level", help="uvicorn log level")] = "info",
) -> None:
    """Serve the database over HTTP (REST API, OpenAI-compatible /v1/embeddings, /docs, /metrics)."""
    import uvicorn

    from vecdb.server import Settings, create_app
    from vecdb.paths import default_db_path

    if not 0 <= port <= 65535:
        raise InvalidArgument(f"--port: must be between 0 and 65535, got {port}", argument="port")
    if api_key is not None and not api_key.strip():
        raise InvalidArgument("--api-key: must not be empty", argument="api_key")
    for name, value in (("--batch-wait-ms", batch_wait_ms), ("--batch-tokens", batch_tokens),
                        ("--max-body-mb", max_body_mb), ("--max-batch", max_batch)):
        if value <= 0:
            raise InvalidArgument(f"{name}: must be positive, got {value}", argument=name.lstrip("-"))
    if torch_threads is not None:
        if torch_threads <= 0:
            raise InvalidArgument(f"--torch-threads: must be positive, got {torch_threads}", argument="torch_threads")
        import torch

        torch.set_num_threads(torch_threads)
    settings = Settings(db_path=db or default_db_path(), api_key=api_key, device=device, batching=batching,
                        batch_wait_ms=batch_wait_ms, batch_tokens=batch_tokens,
                        max_body_bytes=int(max_body_mb * 1024 * 1024), max_batch=max_batch, truncate=truncate,
                        models=tuple(model) if model else None)
    app = create_app(settings)
    uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=log_level == "debug")
