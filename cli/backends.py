"""Global options: which backend the commands use (`vecdb --backend milvus --uri URI ...`)."""
from __future__ import annotations

import os
from typing import Annotated, Optional

import typer

from vecdb.errors import InvalidArgument


def choose(
    backend: Annotated[Optional[str], typer.Option("--backend", envvar="VECDB_BACKEND",
                                                   help="local (default) or milvus (see vecdb/backends.py)")] = None,
    uri: Annotated[Optional[str], typer.Option("--uri", envvar="VECDB_URI",
                                               help="Where the backend is: milvus://host:19530, "
                                                    "milvus+https://..., or a Milvus Lite .db path")] = None,
) -> None:
    """A vector search database with a built-in LLM embedder."""
    from vecdb.backends import BACKENDS

    if backend is not None and backend not in BACKENDS:
        raise InvalidArgument(f"--backend: unknown backend {backend!r}; valid: {', '.join(BACKENDS)}",
                              argument="--backend")
    if backend:
        os.environ["VECDB_BACKEND"] = backend
    if uri:
        os.environ["VECDB_URI"] = uri
