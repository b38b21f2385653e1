"""FastAPI dependencies: settings, the Database, collections, embedding (batched or direct)."""
from __future__ import annotations

import asyncio
from typing import Annotated

import numpy as np
from fastapi import Depends, Path, Request
from starlette.concurrency import run_in_threadpool

from vecdb import Collection, Database
from vecdb.embed import PRESETS, Embedder, load_embedder
from vecdb.errors import InvalidArgument, ModelNotAvailable

from .settings import Settings


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_db(request: Request) -> Database:
    return request.app.state.db


SettingsDep = Annotated[Settings, Depends(get_settings)]
DbDep = Annotated[Database, Depends(get_db)]
NamePath = Annotated[str, Path(description="Collection name: letters, digits, '_', '-', '.'", max_length=128)]


async def get_collection(name: NamePath, db: DbDep) -> Collection:
    return await run_in_threadpool(db.get_collection, name)


CollectionDep = Annotated[Collection, Depends(get_collection)]


def allowed_models(request: Request) -> tuple[str, ...]:
    state = request.app.state
    if state.models is None:
        s: Settings = state.settings
        state.models = s.models if s.models is not None else tuple(
            n for n, p in PRESETS.items() if p.available_offline())
    return state.models


def check_model(request: Request, model: str, argument: str = "model") -> str:
    models = allowed_models(request)
    if model not in models:
        raise ModelNotAvailable(f"{argument}: model {model!r} is not served here; available: "
                                f"{', '.join(models) or 'none'}", argument=argument)
    return model


async def load_model(request: Request, model: str) -> Embedder:
    check_model(request, model)
    device = request.app.state.settings.device
    return await run_in_threadpool(lambda: load_embedder(model=model, device=device))


async def embed(request: Request, embedder: Embedder, texts: list[str], kind: str = "document",
                task: str | None = None) -> np.ndarray:
    """Embed off the event loop: through the shared batcher, or one model call per request."""
    state = request.app.state
    if state.batcher is not None:
        return await asyncio.wrap_future(state.batcher.submit(embedder, texts, kind, task))
    fn = embedder.embed_queries if kind == "query" else embedder.embed_documents
    vecs = await run_in_threadpool(lambda: fn(texts, task=task) if kind == "query" else fn(texts))
    state.metrics.on_batch(len(texts), 1)
    return vecs


def check_count(n: int, limit: int, argument: str) -> None:
    if n > limit:
        raise InvalidArgument(f"{argument}: at most {limit} per request, got {n}", argument=argument)


def check_lengths(texts: list[str], limit: int, argument: str) -> None:
    for i, t in enumerate(texts):
        if len(t) > limit:
            raise InvalidArgument(f"{argument}[{i}]: longer than {limit} characters", argument=argument)
