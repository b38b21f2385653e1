"""Every error is a JSON body {"error": {"message", "type", "param", "code"}}, OpenAI's shape.

`type` is one of OpenAI's (ERROR_TYPES) and follows the status; `code` is a short string naming the
case (or null), so the openai client raises BadRequestError, AuthenticationError, NotFoundError, ...
with the message intact. `declare(...)` gives a route's `responses` for the statuses it can return."""
from __future__ import annotations

import logging
from typing import Literal

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException

from vecdb.errors import (CollectionExists, CollectionNotFound, InvalidArgument, InvalidFilter, LimitExceeded,
                          ModelNotAvailable, NotFound, SpecMismatch, StorageError, Unsupported, UpstreamError, VecdbError)

log = logging.getLogger("vecdb.server")

ErrorType = Literal["invalid_request_error", "authentication_error", "permission_error", "not_found_error",
                    "server_error"]
TYPES: dict[int, ErrorType] = {401: "authentication_error", 403: "permission_error", 404: "not_found_error"}

# Library errors, most specific first: (class, status, code).
LIBRARY = [(SpecMismatch, 409, "spec_mismatch"), (CollectionExists, 409, "already_exists"),
           (ModelNotAvailable, 404, "model_not_found"), (CollectionNotFound, 404, "collection_not_found"),
           (NotFound, 404, "not_found"), (Unsupported, 400, "unsupported"), (LimitExceeded, 400, "limit_exceeded"),
           (InvalidFilter, 400, "invalid_filter"),
           (InvalidArgument, 400, "invalid_value"), (StorageError, 503, "storage_unavailable"),
           (UpstreamError, 502, "upstream_error"), (VecdbError, 400, "invalid_request")]

DESCRIPTIONS = {
    400: "Bad argument (the message names it)", 401: "Missing or wrong API key",
    404: "No such collection, document or model", 409: "Already exists, or a different embedding spec",
    413: "Request body too large", 415: "Content-Type is not application/json",
    422: "Body or parameters do not match the schema", 502: "The chat model failed",
    503: "Storage busy or unavailable; retry",
}


class ErrorDetail(BaseModel):
    message: str = Field(description="What is wrong, naming the argument")
    type: ErrorType
    param: str | None = Field(description="The argument at fault, if one is")
    code: str | None = Field(description="A short name for the case, e.g. model_not_found, "
                                         "context_length_exceeded, invalid_api_key")


class ErrorResponse(BaseModel):
    error: ErrorDetail


class ApiError(Exception):
    """An error the server itself raises (the library raises VecdbError subclasses)."""

    def __init__(self, status: int, message: str, code: str | None, param: str | None = None,
                 headers: dict | None = None):
        super().__init__(message)
        self.status, self.message, self.code, self.param, self.headers = status, message, code, param, headers


def error_type(status: int) -> ErrorType:
    return TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")


def error_body(status: int, message: str, code: str | None, param: str | None = None) -> dict:
    return {"error": {"message": message, "type": error_type(status), "param": param, "code": code}}


def error_response(status: int, message: str, code: str | None, param: str | None = None,
                   headers: dict | None = None) -> JSONResponse:
    return JSONResponse(error_body(status, message, code, param), status_code=status, headers=headers)


def declare(*statuses: int) -> dict:
    """`responses` for a route: each status with the error model."""
    return {s: {"model": ErrorResponse, "description": DESCRIPTIONS.get(s, "Error")} for s in statuses}


def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
    return error_response(exc.status, exc.message, exc.code, exc.param, exc.headers)


def _vecdb_error(_request: Request, exc: VecdbError) -> JSONResponse:
    for cls, status, code in LIBRARY:
        if isinstance(exc, cls):
            return error_response(status, str(exc), code, exc.argument)
    return error_response(400, str(exc), "invalid_request", exc.argument)


def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = exc.errors()
    parts, param = [], None
    for e in errors[:5]:
        loc = [str(x) for x in e.get("loc", ()) if x not in ("body", "query", "path")]
        where = ".".join(loc) or "body"
        param = param or (loc[0] if loc else "body")
        parts.append(f"{where}: {e.get('msg', 'invalid')}")
    more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
    return error_response(422, "; ".join(parts) + more, "invalid_request_body", param)


def _http_error(request: Request, exc: HTTPException) -> JSONResponse:
    headers = dict(getattr(exc, "headers", None) or {})
    if exc.status_code == 405:  # Allow: the methods of the most specific paths that match (fewest parameters)
        path = request.url.path
        matches = [(n, ms) for regex, n, ms in request.app.state.route_methods if regex.match(path)]
        fewest = min((n for n, _ in matches), default=0)
        headers["Allow"] = ", ".join(sorted({m for n, ms in matches if n == fewest for m in ms}))
        return error_response(405, f"method {request.method} is not allowed here; allowed: {headers['Allow']}",
                              "method_not_allowed", None, headers)
    code = {404: "not_found"}.get(exc.status_code, "http_error")
    return error_response(exc.status_code, str(exc.detail), code, None, headers or None)


def _operational_error(_request: Request, exc: OperationalError) -> JSONResponse:
    log.error("storage error: %s", exc)
    busy = any(w in str(exc.orig).lower() for w in ("locked", "busy"))
    if busy:  # only a busy database invites a retry
        return error_response(503, "storage busy; retry the request", "storage_busy", None, {"Retry-After": "1"})
    return error_response(503, "storage unavailable", "storage_unavailable", None)


def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error")
    return error_response(500, f"internal error: {type(exc).__name__}", "internal_error", None)


def install(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(VecdbError, _vecdb_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(OperationalError, _operational_error)
    app.add_exception_handler(Exception, _unexpected)
