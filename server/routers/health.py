"""GET /health (no auth) and GET /metrics (Prometheus text)."""
from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse

from ..contract import JsonRoute
from ..errors import declare
from ..bodies import Bodies
from ..responses import Health

PUBLIC = frozenset({"/health"})


def build(req: Bodies) -> APIRouter:
    router = APIRouter(tags=["health"], route_class=JsonRoute)

    @router.get("/health", response_model=Health, summary="Liveness: answers without an API key")
    def health(request: Request) -> dict:
        return {"status": "ok", "version": request.app.version}

    @router.get("/metrics", response_class=PlainTextResponse, responses=declare(503),
                summary="Prometheus metrics: requests, latencies, documents, embedding batch sizes")
    def metrics(request: Request) -> PlainTextResponse:
        docs = {c["name"]: c["count"] for c in request.app.state.db.list_collections()}
        return PlainTextResponse(request.app.state.metrics.render(docs),
                                 media_type="text/plain; version=0.0.4; charset=utf-8")

    return router
