"""FastAPI dependencies and helpers: settings, the Database, collections, models, embedding work."""
from __future__ import annotations

import asyncio
from typing import Annotated

import numpy as np
from fastapi import Depends, Path, Request
from starlette.concurrency import run_in_threadpool

from vecdb import Collection, Database
from vecdb.embed import PRESETS, Embedder, load_embedder
from vecdb.errors import InvalidArgument, ModelNotAvailable

from . import contract
from .settings import Settings


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_db(request: Request) -> Database:
    return request.app.state.db


SettingsDep = Annotated[Settings, Depends(get_settings)]
DbDep = Annotated[Database, Depends(get_db)]
NamePath = Annotated[str, Path(description="Collection name: letters, digits, '_', '-', '.' (a reembed's staging "
                                           f"collection: {contract.STAGING}<name>)",
                               max_length=128 + len(contract.STAGING),
                               json_schema_extra=contract.NAME_IN_PATH)]


async def get_collection(name: NamePath, db: DbDep) -> Collection:
    return await run_in_threadpool(db.get_collection, name)


CollectionDep = Annotated[Collection, Depends(get_collection)]


def served_models(settings: Settings) -> tuple[str, ...]:
    """The models clients may name: the settings' list, else every preset available offline."""
    if settings.models is not None:
        return settings.models
    return tuple(n for n, p in PRESETS.items() if p.available_offline())


def check_model(request: Request, model: str, argument: str = "model") -> str:
    models = request.app.state.models
    if model not in models:
        raise ModelNotAvailable(f"{argument}: model {model!r} is not served here; available: "
                                f"{', '.join(models) or 'none'}", argument=argument)
    return model


async def embedder_for(request: Request, model: str) -> Embedder:
    """A served model's embedder, or the embedder of the collection named `model`; else 404."""
    state = request.app.state
    if model in state.models:
        if model not in state.embedders:
            device = state.settings.device
            state.embedders[model] = await run_in_threadpool(lambda: load_embedder(model=model, device=device))
        return state.embedders[model]
    db = state.db

    def collection_embedder() -> Embedder | None:
        try:
            if not db.has_collection(model):
                return None
        except InvalidArgument:  # not a collection name
            return None
        return db.get_collection(model).embedder

    embedder = await run_in_threadpool(collection_embedder)
    if embedder is None:
        raise ModelNotAvailable(f"model: {model!r} is neither a model served here ({', '.join(state.models)}) "
                                "nor a collection", argument="model")
    return embedder


async def embed(request: Request, embedder: Embedder, texts: list[str], kind: str = "document",
                task: str | None = None) -> np.ndarray:
    """Embed off the event loop: through the shared batcher, or one model call per request."""
    state = request.app.state
    if state.batcher is not None:
        return await asyncio.wrap_future(state.batcher.submit(embedder, texts, kind, task))
    if kind == "query":
        vecs = await run_in_threadpool(lambda: embedder.embed_queries(texts, task=task))
    else:
        vecs = await run_in_threadpool(lambda: embedder.embed_documents(texts))
    state.metrics.on_batch(len(texts), 1)
    return vecs
