"""Search: one query or many; k, where, include, min_score, hybrid (BM25 fused) or grouped by document."""
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from vecdb import validate

from ..contract import JsonRoute
from ..deps import CollectionDep, embed
from ..errors import declare
from ..bodies import Bodies
from ..responses import SearchHits, SearchResults


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
            # loaded already: no thread hop; else load it off the event loop
            embedder = coll.embedder if coll.embedder_loaded else await run_in_threadpool(lambda: coll.embedder)
            vectors = await embed(request, embedder, queries, "query", body.task)
            results = await run_in_threadpool(lambda: coll.search_vectors(
                vectors, body.k, body.where, min_score=body.min_score, include=body.include))
        elif single or body.hybrid or body.group_by_document:
            results = await run_in_threadpool(lambda: [
                coll.search(q, k=body.k, where=body.where, task=body.task, hybrid=body.hybrid,
                            group_by_document=body.group_by_document, min_score=body.min_score,
                            include=body.include) for q in queries])
        else:
            results = await run_in_threadpool(lambda: coll.search_batch(
                queries, k=body.k, where=body.where, task=body.task, min_score=body.min_score, include=body.include))
        out = [[h.to_dict(body.include) for h in hits] for hits in results]
        if single:
            return JSONResponse({"hits": out[0]})
        return JSONResponse({"results": [{"query": q, "hits": hits} for q, hits in zip(queries, out)]})

    @router.post("/similar", response_model=SearchHits, responses=declare(400, 404, 503),
                 summary="The documents nearest to a stored document (itself left out); no model runs")
    def similar(body: req.SimilarBody, coll: CollectionDep) -> JSONResponse:
        hits = coll.similar(body.id, k=body.k, where=body.where, min_score=body.min_score, include=body.include)
        return JSONResponse({"hits": [h.to_dict(body.include) for h in hits]})

    return router
