"""What the OpenAPI schema promises beyond field types: patterns, the `where` grammar, JSON-only
bodies (415) and the statuses every route can return.

Patterns are written so that ECMA/Rust regex (what schema validators use) and Python's `re` read them
the same way: explicit character classes, no \\s or \\w, no `$` before a possible trailing newline.
They state what vecdb.validate and vecdb.filters accept; the library enforces them (400)."""
from __future__ import annotations

import sys
from email.message import Message
from typing import Any, Callable

from fastapi import FastAPI, Request
from fastapi.routing import APIRoute

from vecdb import validate

from .errors import ApiError, declare


def _char_class(chars: str) -> str:
    """A regex character-class body listing `chars`, as \\uXXXX ranges."""
    codes, out, i = sorted(map(ord, chars)), [], 0
    while i < len(codes):
        j = i
        while j + 1 < len(codes) and codes[j + 1] == codes[j] + 1:
            j += 1
        out.append(f"\\u{codes[i]:04x}" + (f"-\\u{codes[j]:04x}" if j > i else ""))
        i = j + 1
    return "".join(out)


# What str.strip() removes: a text is blank when it holds nothing else.
WHITESPACE = _char_class("".join(c for c in map(chr, range(sys.maxunicode + 1)) if c.isspace()))
NONBLANK = f"[^{WHITESPACE}]"                                 # question: any non-blank string
TEXT = f"^[^\\u0000]*[^\\u0000{WHITESPACE}][^\\u0000]*$"    # texts, queries, ids: non-blank, no NUL
NAME = r"^[A-Za-z0-9](?:\.?[A-Za-z0-9_\-])*\.?$"            # collection names (with maxLength 128)
STAGING = validate.STAGING_PREFIX                           # a reembed's staging collection: visible, droppable
NAME_IN_PATH = {"anyOf": [{"pattern": NAME, "maxLength": 128},
                          {"pattern": f"^{STAGING}" + NAME[1:], "maxLength": 128 + len(STAGING)}]}
FIELD = r"^[A-Za-z0-9_\-](?:\.?[A-Za-z0-9_\- ])*$"          # metadata field names in `where`
TEMPLATE = r"\{context\}[\s\S]*\{question\}|\{question\}[\s\S]*\{context\}"

_REF = "#/components/schemas/"
WHERE_SCHEMAS: dict[str, dict] = {
    "Where": {
        "type": "object", "minProperties": 1, "additionalProperties": False,
        "description": 'A metadata filter: {"field": value}, {"field": {"$gt": 3}}, {"$and": [...]}, '
                       '{"$or": [...]}; several keys are ANDed; a dotted field reads a nested value.',
        "properties": {"$and": {"type": "array", "minItems": 1, "items": {"$ref": _REF + "Where"}},
                       "$or": {"type": "array", "minItems": 1, "items": {"$ref": _REF + "Where"}}},
        "patternProperties": {FIELD: {"anyOf": [{"$ref": _REF + "WhereValue"},
                                                {"$ref": _REF + "WhereOperators"}]}}},
    "WhereValue": {"type": ["string", "number", "boolean"]},
    "WhereOperators": {
        "type": "object", "minProperties": 1, "additionalProperties": False,
        "properties": {
            **{op: {"$ref": _REF + "WhereValue"} for op in ("$eq", "$ne")},
            **{op: {"type": ["string", "number"]} for op in ("$gt", "$gte", "$lt", "$lte")},
            **{op: {"type": "array", "minItems": 1, "items": {"$ref": _REF + "WhereValue"}}
               for op in ("$in", "$nin")}}},
}
WHERE = {"anyOf": [{"$ref": _REF + "Where"}, {"type": "null"}], "default": None}
WHERE_GIVEN = {"allOf": [{"$ref": _REF + "Where"}]}  # a filter that must be there (not null)


def check_json(request: Request) -> None:
    """415 unless the body is declared as JSON."""
    given = request.headers.get("content-type")
    if given:
        msg = Message()
        msg["content-type"] = given
        kind = msg.get_content_type()
        if kind == "application/json" or (kind.startswith("application/") and kind.endswith("+json")):
            return
    raise ApiError(415, f"Content-Type must be application/json, got {given!r}; send the body as JSON "
                        "(curl: -H 'Content-Type: application/json')" if given else
                   "Content-Type is missing; the body must be JSON with Content-Type: application/json "
                   "(curl: -H 'Content-Type: application/json')", "unsupported_media_type", "Content-Type")


class JsonRoute(APIRoute):
    """A route whose body is JSON gets 415 before anything else for another Content-Type; 413, 415
    and 422 are declared for it (422 for any route with parameters). Routes declare the rest."""

    def __init__(self, path: str, endpoint: Callable, **kwargs: Any):
        responses = dict(kwargs.pop("responses", None) or {})
        super().__init__(path, endpoint, responses=responses, **kwargs)
        d = self.dependant
        params = d.path_params or d.query_params or d.header_params or d.cookie_params
        extra = ([422] if params or self.body_field is not None else []) + \
            ([413, 415] if self.body_field is not None else [])
        for status, spec in declare(*extra).items():
            self.responses.setdefault(status, spec)

    def get_route_handler(self) -> Callable:
        handler = super().get_route_handler()
        if self.body_field is None:
            return handler

        async def json_only(request: Request):
            check_json(request)
            return await handler(request)

        return json_only


def finish_schema(app: FastAPI, public: frozenset[str], secured: bool) -> None:
    """The where grammar's components; with an API key, the bearer scheme and 401 on every path but
    the public ones (which say they need no key)."""
    base = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is None:
            schema = base()
            schema.setdefault("components", {}).setdefault("schemas", {}).update(WHERE_SCHEMAS)
            if secured:
                schema["components"]["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
                for path, ops in schema["paths"].items():
                    for op in ops.values():
                        if path in public:
                            op["security"] = []
                        else:
                            op["security"] = [{"bearer": []}]
                            op["responses"].setdefault("401", {
                                "description": "Missing or wrong API key",
                                "content": {"application/json": {"schema": {"$ref": _REF + "ErrorResponse"}}}})
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi
