"""Pure ASGI middleware: request metrics, bearer-key auth, request body limit."""
from __future__ import annotations

import hmac
import json
import time

from .errors import error_body
from .metrics import Metrics

async def _send_error(send, status: int, message: str, code: str, headers: list | None = None) -> None:
    body = json.dumps(error_body(status, message, code)).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
                + (headers or [])})
    await send({"type": "http.response.body", "body": body})


class MetricsMiddleware:
    def __init__(self, app, metrics: Metrics):
        self.app, self.metrics = app, metrics

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        start = time.perf_counter()
        status = [500]

        async def send_wrapper(message):
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = scope.get("route")
            name = getattr(route, "path", None) or "unmatched"
            self.metrics.requests.inc(scope["method"], name, str(status[0]))
            self.metrics.latency.observe(time.perf_counter() - start, scope["method"], name)


class AuthMiddleware:
    """Every path but the public ones needs `Authorization: Bearer <key>` (compared in constant time)."""

    def __init__(self, app, api_key: str, public: frozenset[str] = frozenset()):
        self.app = app
        self.key = api_key.encode()
        self.public = public

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["path"] in self.public:
            return await self.app(scope, receive, send)
        given = b""
        for k, v in scope.get("headers", ()):
            if k == b"authorization":
                given = v
                break
        scheme, _, token = given.partition(b" ")
        ok = scheme.lower() == b"bearer" and hmac.compare_digest(token.strip(), self.key)
        if not ok:
            msg, code = (("missing API key (Authorization: Bearer <key>)", "missing_api_key") if not given else
                         ("invalid API key", "invalid_api_key"))
            return await _send_error(send, 401, msg, code, [(b"www-authenticate", b"Bearer")])
        return await self.app(scope, receive, send)


class BodyLimitMiddleware:
    """Reject bodies over `limit` bytes with 413 before the app sees them (declared or streamed)."""

    def __init__(self, app, limit: int):
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        for k, v in scope.get("headers", ()):
            if k == b"content-length":
                try:
                    declared = int(v)
                except ValueError:
                    return await _send_error(send, 400, "invalid Content-Length", "invalid_content_length")
                if declared > self.limit:
                    return await _send_error(send, 413, f"request body over {self.limit} bytes", "request_too_large")
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.limit:
                return await _send_error(send, 413, f"request body over {self.limit} bytes", "request_too_large")
            if not message.get("more_body"):
                break
        body = b"".join(chunks)
        sent = [False]

        async def replay():
            if not sent[0]:
                sent[0] = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return await self.app(scope, replay, send)
