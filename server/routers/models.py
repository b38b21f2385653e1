"""GET /v1/models and /v1/models/{model} in OpenAI's shape: the served models, then the collections
(a collection's name is a `model` for /v1/embeddings: its embedder answers)."""
import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Path, Request
from starlette.concurrency import run_in_threadpool

from ..contract import JsonRoute
from ..errors import ApiError, declare
from ..bodies import Bodies
from ..responses import ModelList, ModelOut

OWNER = "vecdb"


def _created(iso: str) -> int:
    try:
        return int(dt.datetime.fromisoformat(iso).timestamp())
    except (TypeError, ValueError):
        return 0


def model_list(request: Request) -> list[dict]:
    state = request.app.state
    out = [{"id": m, "object": "model", "created": state.started, "owned_by": OWNER, "kind": "model"}
           for m in state.models]
    for c in state.db.list_collections():
        if c["name"] not in state.models:  # a served model of the same name answers first
            out.append({"id": c["name"], "object": "model", "created": _created(c["created_at"]),
                        "owned_by": OWNER, "kind": "collection"})
    return out


def build(req: Bodies) -> APIRouter:
    router = APIRouter(prefix="/v1/models", tags=["models"], route_class=JsonRoute)

    @router.get("", response_model=ModelList, responses=declare(503),
                summary="Models usable as `model` in /v1/embeddings: served models, then collections")
    async def list_models(request: Request) -> dict:
        return {"object": "list", "data": await run_in_threadpool(model_list, request)}

    @router.get("/{model:path}", response_model=ModelOut, responses=declare(404, 503), summary="One model")
    async def get_model(model: Annotated[str, Path(description="A model or collection name")],
                        request: Request) -> dict:
        for m in await run_in_threadpool(model_list, request):
            if m["id"] == model:
                return m
        raise ApiError(404, f"model: {model!r} is neither a model served here nor a collection",
                       "model_not_found", "model")

    return router
