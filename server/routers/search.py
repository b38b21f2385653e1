"""Search: one query or many, with k, a where filter and the fields to include."""
from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from vecdb import validate
from vecdb.filters import validate as validate_where

from ..deps import CollectionDep, SettingsDep, check_count, check_lengths, embed
from ..schemas import SearchBody

router = APIRouter(prefix="/v1/collections/{name}", tags=["search"])


@router.post("/search", summary="Nearest documents by cosine similarity; `query` gives hits, `queries` results")
async def search(body: SearchBody, coll: CollectionDep, settings: SettingsDep, request: Request) -> dict:
    queries = [body.query] if body.query is not None else body.queries
    check_count(len(queries), settings.max_queries, "queries")
    validate.queries(queries, "query" if body.query is not None else "queries")
    check_lengths(queries, settings.max_text_chars, "queries")
    if body.k > settings.max_k:
        raise validate.InvalidArgument(f"k: at most {settings.max_k}, got {body.k}", argument="k")
    validate_where(body.where)
    # loaded already: no thread hop; else load it off the event loop
    embedder = coll.embedder if coll.embedder_loaded else await run_in_threadpool(lambda: coll.embedder)
    vectors = await embed(request, embedder, queries, "query", body.task)
    results = await run_in_threadpool(coll.search_vectors, vectors, body.k, body.where)
    out = [[_hit(h, body.include) for h in hits] for hits in results]
    if body.query is not None:
        return JSONResponse({"hits": out[0]})
    return JSONResponse({"results": [{"query": q, "hits": hits} for q, hits in zip(queries, out)]})


def _hit(h, include: list[str]) -> dict:
    d = {"id": h.id, "score": h.score}
    if "text" in include:
        d["text"] = h.text
    if "metadata" in include:
        d["metadata"] = h.metadata
    return d
