"""create_app(settings): the FastAPI app. Adding a router is one entry in ROUTERS."""
from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import FastAPI

import vecdb
from vecdb.embed.batcher import Batcher

from . import errors
from .metrics import Metrics
from .middleware import AuthMiddleware, BodyLimitMiddleware, MetricsMiddleware
from .routers import collections, documents, embeddings, health, rag, search
from .settings import Settings

ROUTERS = [health.router, collections.router, documents.router, search.router, embeddings.router, rag.router,
           rag.alias]


def create_app(settings: Settings) -> FastAPI:
    db = vecdb.open(settings.db_path, device=settings.device)
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        if app.state.batcher is not None:
            app.state.batcher.close()
        app.state.db.close()

    app = FastAPI(title="vecdb", version=vecdb.__version__, lifespan=lifespan,
                  description="Vector search over HTTP: collections, documents, search and OpenAI-compatible "
                              "embeddings. With an API key set, every path but /health needs "
                              "`Authorization: Bearer <key>`.")
    app.state.settings = settings
    app.state.db = db
    app.state.metrics = metrics
    app.state.models = None  # resolved on first use (see deps.allowed_models)
    app.state.embedders = {}  # model name -> loaded embedder
    app.state.batcher = Batcher(settings.batch_wait_ms, settings.batch_tokens, settings.batch_max_items,
                                on_batch=metrics.on_batch) if settings.batching else None
    for router in ROUTERS:
        app.include_router(router)
    errors.install(app)
    # Added innermost first: metrics see every answer, auth runs before the body is read.
    app.add_middleware(BodyLimitMiddleware, limit=settings.max_body_bytes)
    if settings.api_key:
        app.add_middleware(AuthMiddleware, api_key=settings.api_key)
        _declare_bearer(app)
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    return app


def _declare_bearer(app: FastAPI) -> None:
    """Show the bearer scheme in the OpenAPI schema (the check itself is AuthMiddleware)."""
    base = app.openapi

    def openapi():
        if app.openapi_schema is None:
            schema = base()
            schema.setdefault("components", {}).setdefault("securitySchemes", {})["bearer"] = {
                "type": "http", "scheme": "bearer"}
            schema["security"] = [{"bearer": []}]
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi
