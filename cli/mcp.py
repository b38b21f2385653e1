"""vecdb mcp: serve the database to AI agents over the Model Context Protocol (stdio)."""
from __future__ import annotations

from typing import Annotated, Optional

import typer

from .common import DbOpt, open_db


def mcp(
    db: DbOpt = None,
    collection: Annotated[Optional[str], typer.Option("--collection", "-c", help="Serve this collection only (default: every collection; tools take a collection argument)")] = None,
    allow_writes: Annotated[bool, typer.Option("--allow-writes", help="Let clients add and delete documents (read-only otherwise)")] = False,
) -> None:
    """Serve MCP over stdio: tools search, context, get, add, delete; collections as resources."""
    try:
        from vecdb.integrations.mcp import serve
    except ImportError as e:
        raise typer.BadParameter(f"the MCP server needs the mcp extra: pip install 'vecdb[mcp]' ({e})") from None
    with open_db(db, create=allow_writes) as database:  # read-only: a missing database is an error
        serve(database, collection, allow_writes)
