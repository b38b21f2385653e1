"""GET /health (no auth) and GET /metrics (Prometheus text)."""
from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse

router = APIRouter(tags=["health"])


@router.get("/health", summary="Liveness: answers without an API key")
def health(request: Request) -> dict:
    return {"status": "ok", "version": request.app.version}


@router.get("/metrics", response_class=PlainTextResponse,
            summary="Prometheus metrics: requests, latencies, documents, embedding batch sizes")
def metrics(request: Request) -> PlainTextResponse:
    db = request.app.state.db
    docs = {c["name"]: c["count"] for c in db.list_collections()}
    return PlainTextResponse(request.app.state.metrics.render(docs),
                             media_type="text/plain; version=0.0.4; charset=utf-8")
