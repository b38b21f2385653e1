"""Global options: which backend the commands use (`vecdb --backend milvus --uri URI ...`), and whether
they may use the warm worker (`vecdb --no-daemon ...`)."""
from __future__ import annotations

import os
from typing import Annotated, Optional

import typer

from vecdb.errors import InvalidArgument

from .runner import settings


def choose(
    backend: Annotated[Optional[str], typer.Option("--backend", envvar="VECDB_BACKEND",
                                                   help="local (default) or milvus (see vecdb/backends.py)")] = None,
    uri: Annotated[Optional[str], typer.Option("--uri", envvar="VECDB_URI",
                                               help="Where the backend is: milvus://host:19530, "
                                                    "milvus+https://..., or a Milvus Lite .db path")] = None,
    no_daemon: Annotated[bool, typer.Option("--no-daemon", envvar="VECDB_NO_DAEMON",
                                            help="Run in this process, without the warm worker that keeps "
                                                 "models loaded between commands")] = False,
) -> None:
    """A vector search database with a built-in LLM embedder."""
    from vecdb.backends import BACKENDS

    settings.no_daemon = no_daemon
    if backend is not None and backend not in BACKENDS:
        raise InvalidArgument(f"--backend: unknown backend {backend!r}; valid: {', '.join(BACKENDS)}",
                              argument="--backend")
    if backend:
        os.environ["VECDB_BACKEND"] = backend
    if uri:
        os.environ["VECDB_URI"] = uri
