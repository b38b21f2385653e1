"""POST /v1/embeddings, compatible with OpenAI's embeddings API (every `input` form it documents)."""
import base64

import numpy as np
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from vecdb import validate
from vecdb.embed import Embedder

from ..contract import JsonRoute
from ..deps import SettingsDep, embed, embedder_for
from ..errors import ApiError, declare
from ..bodies import Bodies
from ..responses import EmbeddingsOut

SMALL_CHARS = 20_000  # below this many characters, count tokens on the event loop (cheaper than a thread hop)


def shorten(vectors: np.ndarray, dimensions: int | None) -> np.ndarray:
    """Matryoshka-style: keep the first `dimensions` values, then L2-normalise again."""
    if dimensions is None or dimensions == vectors.shape[1]:
        return vectors
    v = vectors[:, :dimensions]
    norms = np.linalg.norm(v, axis=1, keepdims=True)
    return (v / np.maximum(norms, 1e-12)).astype(np.float32)


def check_length(counts: list[int], embedder: Embedder, model: str, truncate: bool) -> list[int]:
    """Tokens used per input (cut to the model's limit); over it without truncate: a 400 naming the limit."""
    limit = embedder.spec.max_length
    if not truncate:
        for i, n in enumerate(counts):
            if n > limit:
                raise ApiError(400, f"input[{i}]: {n} tokens, over the limit of model {model!r} ({limit} tokens); "
                                    f"shorten it, or send \"truncate\": true to cut it to {limit} tokens",
                               "context_length_exceeded", "input")
    return [min(n, limit) for n in counts]


def build(req: Bodies) -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["embeddings"], route_class=JsonRoute)

    @router.post("/embeddings", response_model=EmbeddingsOut, responses=declare(400, 404, 503),
                 summary="Embed texts or token ids (OpenAI-compatible); model is a served model or a collection")
    async def embeddings(body: req.EmbeddingsBody, settings: SettingsDep, request: Request) -> JSONResponse:
        inp = body.input
        ids = None
        if isinstance(inp, list) and isinstance(inp[0], int):
            ids = [inp]
        elif isinstance(inp, list) and isinstance(inp[0], list):
            ids = inp
        texts = None if ids is not None else validate.texts(inp, "input")
        embedder = await embedder_for(request, body.model)
        if body.dimensions is not None and body.dimensions > embedder.dim:
            raise ApiError(400, f"dimensions: at most {embedder.dim} for model {body.model!r}, got {body.dimensions}",
                           "invalid_value", "dimensions")
        truncate = settings.truncate if body.truncate is None else body.truncate
        kind = body.input_type
        if ids is not None:
            counts = await run_in_threadpool(lambda: embedder.count_token_ids(ids, truncate=False))
            used = check_length(counts, embedder, body.model, truncate)
            vectors = await run_in_threadpool(embedder.embed_token_ids, ids, kind)
        else:
            spec = embedder.spec
            formatted = [spec.format_query(t) if kind == "query" else spec.format_document(t) for t in texts]
            if sum(map(len, formatted)) < SMALL_CHARS:
                counts = embedder.count_tokens(formatted, truncate=False)
            else:
                counts = await run_in_threadpool(lambda: embedder.count_tokens(formatted, truncate=False))
            used = check_length(counts, embedder, body.model, truncate)
            vectors = await embed(request, embedder, texts, kind)
        vectors = shorten(vectors, body.dimensions)
        data = []
        for i, v in enumerate(vectors):
            v = np.ascontiguousarray(v, dtype="<f4")
            emb = base64.b64encode(v.tobytes()).decode() if body.encoding_format == "base64" else v.tolist()
            data.append({"object": "embedding", "index": i, "embedding": emb})
        tokens = sum(used)
        return JSONResponse({"object": "list", "data": data, "model": body.model,  # plain json.dumps: fast
                             "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
                             "truncated": sum(n > u for n, u in zip(counts, used))})

    return router
