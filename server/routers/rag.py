"""RAG: numbered context passages, and answers streamed as server-sent events."""
import json

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool

from vecdb.errors import UpstreamError
from vecdb.rag.generate import Generator, generator_for

from ..contract import JsonRoute
from ..deps import CollectionDep
from ..errors import declare, error_response
from ..bodies import Bodies
from ..responses import ContextOut


def _event(name: str, **fields: dict) -> dict:
    """One server-sent event: `event: name`, `data:` a JSON object with these fields (and "event")."""
    data = {"type": "object", "required": ["event", *fields],
            "properties": {"event": {"const": name}, **fields}}
    return {"type": "object", "required": ["event", "data"],
            "properties": {"event": {"const": name},
                           "data": {"type": "string", "contentMediaType": "application/json", "contentSchema": data}}}


_STR, _NSTR = {"type": "string"}, {"type": ["string", "null"]}
_CITATION = {"type": "object", "required": ["citation", "id", "document_id", "source", "span"],
             "properties": {"citation": {"type": "integer"}, "id": _STR, "document_id": _STR, "source": _NSTR,
                            "span": {"type": ["array", "null"], "items": {"type": "integer"}}}}
EVENT = {"oneOf": [
    _event("context", question=_STR, passages={"type": "array", "items": {"$ref": "#/components/schemas/Passage"}}),
    _event("token", text=_STR),
    _event("done", answer=_STR, raw_answer=_STR, citations={"type": "array", "items": _CITATION},
           invalid_citations={"type": "array", "items": {"type": "integer"}}),
    _event("error", message=_STR, param=_NSTR)]}
STREAM = {200: {"description": "Server-sent events: context, token..., done (or error)",
                "content": {"text/event-stream": {"schema": EVENT}}}}


def chat_generator(request: Request) -> Generator:
    """The app's generator (app.state.chat_generator), else VECDB_API_BASE's endpoint, else the local model."""
    gen = getattr(request.app.state, "chat_generator", None)
    if gen is None:
        gen = generator_for(device=request.app.state.settings.device)
        request.app.state.chat_generator = gen
    return gen


def _sse(event: dict) -> str:
    return f"event: {event['event']}\ndata: {json.dumps(event, ensure_ascii=False)}\n\n"


def build(req: Bodies) -> list[APIRouter]:
    router = APIRouter(prefix="/v1/collections/{name}", tags=["rag"], route_class=JsonRoute)

    @router.post("/context", response_model=ContextOut, responses=declare(400, 404, 503),
                 summary="Numbered passages for a prompt, with sources and spans, within a token budget")
    async def context(body: req.ContextBody, coll: CollectionDep) -> dict:
        ctx = await run_in_threadpool(lambda: coll.context(body.question, k=body.k, max_tokens=body.max_tokens,
                                                           mmr=body.mmr, hybrid=body.hybrid, dedupe=body.dedupe,
                                                           where=body.where))
        return ctx.to_dict()

    @router.post("/ask", response_class=StreamingResponse, responses={**STREAM, **declare(400, 404, 502, 503)},
                 summary="Answer from the collection with [n] citations, streamed as server-sent events "
                         "(context, token..., done); 502 when the chat model fails")
    async def ask(body: req.AskBody, coll: CollectionDep, request: Request):
        gen = chat_generator(request)
        answer = await run_in_threadpool(lambda: coll.ask(
            body.question, k=body.k, max_tokens=body.max_tokens, mmr=body.mmr, hybrid=body.hybrid,
            dedupe=body.dedupe, where=body.where, template=body.template, generator=gen,
            max_new_tokens=body.max_new_tokens, temperature=body.temperature))
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

    # The same endpoints at the paths the RAG docs name (/collections/{name}/context and /ask), not in the schema.
    alias = APIRouter(prefix="/collections/{name}", tags=["rag"], include_in_schema=False, route_class=JsonRoute)
    alias.add_api_route("/context", context, methods=["POST"])
    alias.add_api_route("/ask", ask, methods=["POST"], response_class=StreamingResponse)
    return [router, alias]
