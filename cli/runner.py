"""Run one library operation (vecdb.daemon.ops) on a database: in the warm worker when it is on and can take
it, else in this process. Commands parse their arguments, call run() and format what it returns; the
data is the same either way, and so are errors (the worker's exception is raised here as the same class)."""
from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any, Callable

from .common import open_db


class Settings:
    no_daemon = False  # set by `vecdb --no-daemon` / VECDB_NO_DAEMON for this invocation


settings = Settings()


def run(op: str, db: str | Path | None, emit: Callable[[dict], None] | None = None, *, warm: bool = True,
        create: bool = True, **args) -> Any:
    """vecdb.daemon.ops.<op>(database, emit, **args); `warm=False` always runs it here; `create=False`
    (read commands) makes a path without a database an error instead of a new database."""
    emit = emit or (lambda event: None)
    path = worker_path(db) if warm else None
    if path is not None:
        from vecdb.daemon import client

        result = client.call(op, path, args, emit, create=create)
        if result is not client.UNAVAILABLE:
            return result
    from vecdb.daemon.ops import OPS

    with open_db(db, create=create) as database:
        return OPS[op](database, emit, **args)


def worker_path(db: str | Path | None) -> str | None:
    """The absolute database folder, when the warm worker may serve it (a local database, the worker on)."""
    if settings.no_daemon or os.environ.get("VECDB_NO_DAEMON", "").lower() in ("1", "true", "yes", "on"):
        return None
    if not hasattr(socket, "AF_UNIX"):
        return None
    from vecdb.backends import choose
    from vecdb.paths import default_db_path

    where = str(db or os.environ.get("VECDB_URI") or default_db_path())
    if choose(where, os.environ.get("VECDB_BACKEND") or None).name != "local":
        return None
    try:
        return os.path.abspath(os.path.expanduser(where))
    except OSError:  # the working folder is gone
        return None
