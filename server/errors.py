"""Every error becomes a JSON body {"error": {"message", "type", "param", "code"}} (OpenAI's shape)."""
from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException

from vecdb.errors import (CollectionExists, InvalidArgument, NotFound, SpecMismatch, StorageError, VecdbError)

log = logging.getLogger("vecdb.server")

# Most specific first.
STATUS = [(SpecMismatch, 409, "spec_mismatch"), (CollectionExists, 409, "conflict"),
          (NotFound, 404, "not_found"), (InvalidArgument, 400, "invalid_argument"),
          (StorageError, 503, "storage_error"), (VecdbError, 400, "invalid_request")]


def error_response(status: int, message: str, type_: str, param: str | None = None,
                   headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"error": {"message": message, "type": type_, "param": param, "code": status}},
                        status_code=status, headers=headers)


def _vecdb_error(_request: Request, exc: VecdbError) -> JSONResponse:
    for cls, status, type_ in STATUS:
        if isinstance(exc, cls):
            return error_response(status, str(exc), type_, exc.argument)
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
    return error_response(422, "; ".join(parts) + more, "invalid_request", param)


def _http_error(_request: Request, exc: HTTPException) -> JSONResponse:
    return error_response(exc.status_code, str(exc.detail), "http_error", None, getattr(exc, "headers", None))


def _operational_error(_request: Request, exc: OperationalError) -> JSONResponse:
    log.error("storage error: %s", exc)
    return error_response(503, "storage busy or unavailable; retry the request", "storage_error", None,
                          {"Retry-After": "1"})


def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error")
    return error_response(500, f"internal error: {type(exc).__name__}", "internal_error", None)


def install(app: FastAPI) -> None:
    app.add_exception_handler(VecdbError, _vecdb_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(OperationalError, _operational_error)
    app.add_exception_handler(Exception, _unexpected)
