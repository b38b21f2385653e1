"""create_app(settings): the FastAPI app. Adding a router is one entry in ROUTERS (a module with build(bodies))."""
from __future__ import annotations

import time
from contextlib import asynccontextmanager

from fastapi import FastAPI

import vecdb
from vecdb.embed import DEFAULT_MODEL, known_dim
from vecdb.embed.batcher import Batcher

from . import bodies, contract, errors
from .deps import served_models
from .metrics import Metrics
from .middleware import AuthMiddleware, BodyLimitMiddleware, MetricsMiddleware
from .routers import collections, documents, embeddings, health, models, rag, search
from .settings import Settings

ROUTERS = [health, collections, documents, search, embeddings, models, rag]


def create_app(settings: Settings) -> FastAPI:
    db = vecdb.open(settings.db_path, device=settings.device)
    metrics = Metrics()
    served = served_models(settings)
    dims = [known_dim(m) for m in served]
    max_dim = max(dims) if dims and None not in dims else None  # unknown for a folder: no schema maximum
    default = DEFAULT_MODEL if DEFAULT_MODEL in served or not served else served[0]
    req = bodies.build(settings, served, default, max_dim)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        if app.state.batcher is not None:
            app.state.batcher.close()
        app.state.db.close()

    app = FastAPI(title="vecdb", version=vecdb.__version__, lifespan=lifespan, redirect_slashes=False,
                  description="Vector search over HTTP: collections, documents, search and OpenAI-compatible "
                              "embeddings and models. Request bodies are JSON (`Content-Type: application/json`). "
                              "Errors are `{\"error\": {\"message\", \"type\", \"param\", \"code\"}}`. With an "
                              "API key set, every path but /health needs `Authorization: Bearer <key>`.")
    app.state.settings = settings
    app.state.db = db
    app.state.metrics = metrics
    app.state.models = served
    app.state.started = int(time.time())
    app.state.embedders = {}  # model name -> loaded embedder
    app.state.batcher = Batcher(settings.batch_wait_ms, settings.batch_tokens, settings.batch_max_items,
                                on_batch=metrics.on_batch) if settings.batching else None
    app.state.route_methods = []  # (path regex, parameters, methods): the Allow header of a 405
    for module in ROUTERS:
        built = module.build(req)
        for router in built if isinstance(built, list) else [built]:
            app.include_router(router)
            app.state.route_methods += [(r.path_regex, len(r.param_convertors), r.methods) for r in router.routes
                                        if getattr(r, "methods", None)]
    errors.install(app)
    contract.finish_schema(app, health.PUBLIC, secured=bool(settings.api_key))
    # Added innermost first: metrics see every answer, auth runs before the body is read.
    app.add_middleware(BodyLimitMiddleware, limit=settings.max_body_bytes)
    if settings.api_key:
        app.add_middleware(AuthMiddleware, api_key=settings.api_key, public=health.PUBLIC)
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    return app
