"""POST /v1/embeddings, compatible with OpenAI's embeddings API."""
from __future__ import annotations

import base64

import numpy as np
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from vecdb import validate
from vecdb.errors import InvalidArgument, ModelNotAvailable

from ..deps import SettingsDep, allowed_models, check_count, check_lengths, embed, load_model
from ..schemas import EmbeddingsBody

router = APIRouter(prefix="/v1", tags=["embeddings"])


async def _embedder(request: Request, model: str):
    if model in allowed_models(request):
        cache = request.app.state.embedders
        if model not in cache:
            cache[model] = await load_model(request, model)
        return cache[model]
    db = request.app.state.db
    if validate.NAME_RE.match(model) and ".." not in model and await run_in_threadpool(db.has_collection, model):
        coll = await run_in_threadpool(db.get_collection, model)
        return await run_in_threadpool(lambda: coll.embedder)
    raise ModelNotAvailable(f"model: {model!r} is neither a model served here ({', '.join(allowed_models(request))}) "
                            "nor a collection", argument="model")


def truncate(vectors: np.ndarray, dimensions: int | None) -> np.ndarray:
    """Matryoshka-style: keep the first `dimensions` values, then L2-normalise again."""
    if dimensions is None or dimensions == vectors.shape[1]:
        return vectors
    if dimensions > vectors.shape[1]:
        raise InvalidArgument(f"dimensions: at most {vectors.shape[1]} for this model, got {dimensions}",
                              argument="dimensions")
    v = vectors[:, :dimensions]
    norms = np.linalg.norm(v, axis=1, keepdims=True)
    return (v / np.maximum(norms, 1e-12)).astype(np.float32)


@router.post("/embeddings", summary="Embed texts (OpenAI-compatible); model is a preset or a collection name")
async def embeddings(body: EmbeddingsBody, settings: SettingsDep, request: Request) -> dict:
    texts = [body.input] if isinstance(body.input, str) else body.input
    validate.nonempty_list(texts, "input")
    check_count(len(texts), settings.max_batch, "input")
    validate.texts(texts, "input")
    check_lengths(texts, settings.max_text_chars, "input")
    embedder = await _embedder(request, body.model)
    if body.dimensions is not None and body.dimensions > embedder.dim:
        raise InvalidArgument(f"dimensions: at most {embedder.dim} for this model, got {body.dimensions}",
                              argument="dimensions")
    vectors = truncate(await embed(request, embedder, texts, body.input_type), body.dimensions)
    if body.input_type == "query":
        formatted = [embedder.spec.format_query(t) for t in texts]
    else:
        formatted = [embedder.spec.format_document(t) for t in texts]
    if sum(map(len, formatted)) < 20_000:  # cheap enough to count on the event loop
        tokens = sum(embedder.count_tokens(formatted))
    else:
        tokens = sum(await run_in_threadpool(embedder.count_tokens, formatted))
    data = []
    for i, v in enumerate(vectors):
        v = np.ascontiguousarray(v, dtype="<f4")
        emb = base64.b64encode(v.tobytes()).decode() if body.encoding_format == "base64" else v.tolist()
        data.append({"object": "embedding", "index": i, "embedding": emb})
    return JSONResponse({"object": "list", "data": data, "model": body.model,  # plain json.dumps: fast for floats
                         "usage": {"prompt_tokens": tokens, "total_tokens": tokens}})
