"""MCP: a Model Context Protocol server over a vecdb database (`vecdb mcp`), on the official `mcp` SDK.

Tools: search, context, get (read) and add, delete (writes, refused unless allow_writes).
Resources: vecdb://collections (the list) and vecdb://collections/{name} (a collection's info).
With `collection` set, the server serves that collection only; otherwise each tool takes a
`collection` argument (default "default").
"""
from __future__ import annotations

import functools
import json
from typing import Any, Callable

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import ToolAnnotations

import vecdb

DEFAULT_COLLECTION = "default"
READ = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False)
WRITE = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=False)
DELETE = ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=False)
INSTRUCTIONS = ("Search a vecdb vector database by meaning. Use `search` for ranked documents, `context` for "
                "numbered passages to cite in an answer, `get` to read or page documents. `where` filters "
                "metadata: {\"field\": value}, $eq $ne $gt $gte $lt $lte $in $nin, $and/$or, dotted fields.")


class Tools:
    """The tools' logic, one public vecdb call each; errors come back as tool errors."""

    def __init__(self, db: vecdb.Database, collection: str | None = None, allow_writes: bool = False):
        self.db = db
        self.pinned = collection
        self.allow_writes = allow_writes

    def collection(self, name: str | None) -> vecdb.Collection:
        if self.pinned is not None and name not in (None, self.pinned):
            raise ToolError(f"collection: this server serves collection {self.pinned!r} only")
        return self.db.get_collection(self.pinned or name or DEFAULT_COLLECTION)

    def writable(self, tool: str) -> None:
        if not self.allow_writes:
            raise ToolError(f"{tool}: this server is read-only; start it with `vecdb mcp --allow-writes` to change data")

    def search(self, query: str, k: int = 10, where: dict | None = None, min_score: float | None = None,
               collection: str | None = None) -> dict[str, Any]:
        """The k documents closest in meaning to `query` (cosine score, best first)."""
        hits = self.collection(collection).search(query, k=k, where=where, min_score=min_score)
        return {"hits": [h.to_dict() for h in hits]}

    def context(self, question: str, k: int = 5, max_tokens: int = 1024, mmr: float | None = None,
                where: dict | None = None, collection: str | None = None) -> dict[str, Any]:
        """Numbered passages for answering `question` with citations [n], within `max_tokens`;
        `mmr` (0-1) trades relevance for diversity."""
        ctx = self.collection(collection).context(question, k=k, max_tokens=max_tokens, mmr=mmr, where=where)
        return {**ctx.to_dict(), "prompt": ctx.render()}

    def get(self, ids: list[str] | None = None, where: dict | None = None, limit: int | None = 20, offset: int = 0,
            collection: str | None = None) -> dict[str, Any]:
        """Documents by id, or (without ids) a page of the collection in insertion order."""
        coll = self.collection(collection)
        docs = coll.get(ids) if ids is not None else coll.get(where=where, limit=limit, offset=offset)
        return {"documents": [d.to_dict() for d in docs]}

    def add(self, texts: list[str], ids: list[str] | None = None, metadata: list[dict] | None = None,
            collection: str | None = None) -> dict[str, Any]:
        """Add or update documents (upsert by id; without ids, ids derive from the text). Needs --allow-writes."""
        self.writable("add")
        result = self.collection(collection).add(texts, ids=ids, metadata=metadata)
        return {"ids": result.ids, **result.to_dict()}

    def delete(self, ids: list[str] | None = None, where: dict | None = None, dry_run: bool = False,
               collection: str | None = None) -> dict[str, Any]:
        """Delete documents by id or by a where filter; returns how many (dry_run: would be). Needs --allow-writes."""
        self.writable("delete")
        return {"deleted": self.collection(collection).delete(ids, where=where, dry_run=dry_run), "dry_run": dry_run}


def _tool(fn: Callable) -> Callable:
    @functools.wraps(fn)
    def run(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except vecdb.VecdbError as e:
            raise ToolError(str(e)) from None
    return run


def build_server(db: vecdb.Database, collection: str | None = None, allow_writes: bool = False) -> MCPServer:
    """An MCP server (not yet running) over `db`."""
    tools = Tools(db, collection, allow_writes)
    server = MCPServer("vecdb", instructions=INSTRUCTIONS, version=vecdb.__version__)
    for fn, hints in ((tools.search, READ), (tools.context, READ), (tools.get, READ), (tools.add, WRITE),
                      (tools.delete, DELETE)):
        server.add_tool(_tool(fn), annotations=hints, structured_output=True)

    def collections() -> str:
        return json.dumps(_visible(db, collection), default=str)

    def info(name: str) -> str:
        try:
            return json.dumps(tools.collection(name).info(), default=str)
        except vecdb.VecdbError as e:
            raise ValueError(str(e)) from None

    server.resource("vecdb://collections", name="collections", mime_type="application/json",
                    description="The collections: name, count, model, dimension")(collections)
    server.resource("vecdb://collections/{name}", name="collection", mime_type="application/json",
                    description="A collection's spec, count and index")(info)
    for c in _visible(db, collection):  # listed by name, so a client sees them without the template
        server.resource(f"vecdb://collections/{c['name']}", name=c["name"], mime_type="application/json",
                        description=f"Collection {c['name']}: {c['count']} documents, model {c['model']}")(
            functools.partial(info, c["name"]))
    return server


def _visible(db: vecdb.Database, collection: str | None) -> list[dict[str, Any]]:
    return [c for c in db.list_collections() if not c.get("staging") and collection in (None, c["name"])]


def serve(db: vecdb.Database, collection: str | None = None, allow_writes: bool = False) -> None:
    """Serve MCP over stdio until the client closes the connection."""
    if collection is not None:
        db.get_collection(collection)  # fail at start, not on the first call
    build_server(db, collection, allow_writes).run("stdio")
