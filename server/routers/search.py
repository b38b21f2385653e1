"""Search: one query or many, with k, a where filter, hybrid (BM25 fused) or grouped by document."""
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from vecdb import validate

from ..contract import JsonRoute
from ..deps import CollectionDep, embed
from ..errors import declare
from ..bodies import Bodies
from ..responses import SearchHits, SearchResults


def _hit(h, include: list[str]) -> dict:
    d = {"id": h.id, "score": h.score}
    if "text" in include:
        d["text"] = h.text
    if "metadata" in include:
        d["metadata"] = h.metadata
    if h.parent_id is not None or h.source is not None:
        d.update(document_id=h.document_id, span=list(h.span) if h.span else None, source=h.source)
    return d


def build(req: Bodies) -> APIRouter:
    router = APIRouter(prefix="/v1/collections/{name}", tags=["search"], route_class=JsonRoute)

    @router.post("/search", response_model=SearchHits | SearchResults, responses=declare(400, 404, 503),
                 summary="Nearest documents by cosine similarity; `query` gives hits, `queries` results")
    async def search(body: req.SearchBody, coll: CollectionDep, request: Request) -> JSONResponse:
        single = body.query is not None
        queries = [body.query] if single else body.queries
        if request.app.state.batcher is not None and not (body.hybrid or body.group_by_document):
            # Dense search with the query vectors from the shared batcher (merged with other requests').
            validate.queries(queries, "query" if single else "queries")
            embedder = await run_in_threadpool(lambda: coll.embedder)
            vectors = await embed(request, embedder, queries, "query", body.task)
            results = await run_in_threadpool(coll.search_vectors, vectors, body.k, body.where)
        elif single or body.hybrid or body.group_by_document:
            results = await run_in_threadpool(lambda: [
                coll.search(q, k=body.k, where=body.where, task=body.task, hybrid=body.hybrid,
                            group_by_document=body.group_by_document) for q in queries])
        else:
            results = await run_in_threadpool(lambda: coll.search_batch(queries, k=body.k, where=body.where,
                                                                        task=body.task))
        out = [[_hit(h, body.include) for h in hits] for hits in results]
        if single:
            return JSONResponse({"hits": out[0]})
        return JSONResponse({"results": [{"query": q, "hits": hits} for q, hits in zip(queries, out)]})

    return router
