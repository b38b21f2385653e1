"""RAG: numbered context passages, and answers streamed as server-sent events."""
from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from pydantic import Field
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool

from vecdb.errors import InvalidArgument, UpstreamError
from vecdb.rag.generate import Generator, generator_for

from ..deps import CollectionDep, SettingsDep, check_lengths
from ..errors import error_response
from ..schemas import Body

router = APIRouter(prefix="/v1/collections/{name}", tags=["rag"])
MAX_NEW_TOKENS = 1024


class ContextBody(Body):
    question: str
    k: int = 5
    max_tokens: int = 1024
    mmr: float | None = Field(None, description="MMR lambda from 0 (diversity) to 1 (relevance)")
    hybrid: bool = False
    dedupe: bool = True
    where: dict[str, Any] | None = None


class AskBody(ContextBody):
    max_new_tokens: int = 256
    temperature: float = 0.0
    template: str | None = Field(None, max_length=20_000, description="Prompt with {context} and {question}")


def _check(body: ContextBody, settings) -> None:
    check_lengths([body.question], settings.max_text_chars, "question")
    if body.k > settings.max_k:
        raise InvalidArgument(f"k: at most {settings.max_k}, got {body.k}", argument="k")


def chat_generator(request: Request) -> Generator:
    """The app's generator (app.state.chat_generator), else VECDB_API_BASE's endpoint, else the local model."""
    gen = getattr(request.app.state, "chat_generator", None)
    if gen is None:
        gen = generator_for(device=request.app.state.settings.device)
        request.app.state.chat_generator = gen
    return gen


@router.post("/context", summary="Numbered passages for a prompt, with sources and spans, within a token budget")
async def context(body: ContextBody, coll: CollectionDep, settings: SettingsDep) -> dict:
    _check(body, settings)
    ctx = await run_in_threadpool(lambda: coll.context(body.question, k=body.k, max_tokens=body.max_tokens,
                                                       mmr=body.mmr, hybrid=body.hybrid, dedupe=body.dedupe,
                                                       where=body.where))
    return ctx.to_dict()


@router.post("/ask", summary="Answer from the collection with [n] citations, streamed as server-sent events "
                             "(context, token..., done); 502 when the chat model fails",
             response_class=StreamingResponse, responses={200: {"content": {"text/event-stream": {}}}})
async def ask(body: AskBody, coll: CollectionDep, settings: SettingsDep, request: Request):
    _check(body, settings)
    if body.template is not None and ("{context}" not in body.template or "{question}" not in body.template):
        raise InvalidArgument("template: must contain {context} and {question}", argument="template")
    if body.max_new_tokens > MAX_NEW_TOKENS:
        raise InvalidArgument(f"max_new_tokens: at most {MAX_NEW_TOKENS}, got {body.max_new_tokens}",
                              argument="max_new_tokens")
    gen = chat_generator(request)
    answer = await run_in_threadpool(lambda: coll.ask(
        body.question, k=body.k, max_tokens=body.max_tokens, mmr=body.mmr, hybrid=body.hybrid, dedupe=body.dedupe,
        where=body.where, template=body.template, generator=gen, max_new_tokens=body.max_new_tokens,
        temperature=body.temperature))
    events = answer.events()
    try:  # the context and the first piece of the answer: an upstream failure is still a plain 502
        first = await run_in_threadpool(lambda: [next(events), next(events, None)])
    except UpstreamError as e:
        return error_response(502, str(e), "upstream_error", e.argument)

    async def stream():
        for ev in first:
            if ev is not None:
                yield _sse(ev)
        try:
            async for ev in iterate_in_threadpool(events):
                yield _sse(ev)
        except UpstreamError as e:
            yield _sse({"event": "error", "message": str(e), "param": e.argument})

    return StreamingResponse(stream(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})


def _sse(event: dict) -> str:
    return f"event: {event['event']}\ndata: {json.dumps(event, ensure_ascii=False)}\n\n"


# The same endpoints at the paths the RAG docs name (/collections/{name}/context and /ask), kept out of the schema.
alias = APIRouter(prefix="/collections/{name}", tags=["rag"], include_in_schema=False)
alias.add_api_route("/context", context, methods=["POST"])
alias.add_api_route("/ask", ask, methods=["POST"], response_class=StreamingResponse)
