"""Request and response bodies."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


def _check_strings(v: Any, at: str = "", depth: int = 0) -> None:
    """Reject strings that cannot be stored as UTF-8 (lone surrogates) and absurd nesting."""
    if depth > 64:
        raise ValueError(f"{at or 'body'}: nested too deeply")
    if isinstance(v, str):
        try:
            v.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError(f"{at or 'body'}: strings must be valid Unicode (no lone surrogates)") from None
    elif isinstance(v, dict):
        for k, x in v.items():
            _check_strings(k, at, depth + 1)
            _check_strings(x, f"{at}.{k}" if at else str(k), depth + 1)
    elif isinstance(v, (list, tuple)):
        for i, x in enumerate(v):
            _check_strings(x, f"{at}[{i}]", depth + 1)


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _unicode(cls, data: Any) -> Any:
        _check_strings(data)
        return data


class CollectionCreate(Body):
    name: str = Field(max_length=128, description="Letters, digits, '_', '-', '.'")
    model: str = Field("minilm", max_length=512, description="A model preset served here")
    pooling: str | None = Field(None, max_length=32, description="mean, cls, last-token, weighted-mean, max")
    exist_ok: bool = False


class DocumentIn(Body):
    id: str | None = Field(None, max_length=1024)
    text: str
    metadata: dict[str, Any] | None = None


class DocumentsAdd(Body):
    documents: list[DocumentIn] = Field(min_length=1)


class IdsBody(Body):
    ids: list[str] = Field(min_length=1)


class GetBody(IdsBody):
    include: list[Literal["text", "metadata", "vector"]] = ["text", "metadata"]


HitField = Literal["text", "metadata"]


class SearchBody(Body):
    query: str | None = Field(None, description="One query (answer: hits)")
    queries: list[str] | None = Field(None, min_length=1, description="Many queries (answer: results)")
    k: int = Field(10, ge=1, strict=True)  # JSON true is not 1
    where: dict[str, Any] | None = None
    include: list[HitField] = ["text", "metadata"]
    task: str | None = Field(None, max_length=1000, description="Task for an instruction query template")

    @model_validator(mode="after")
    def _one_of(self) -> "SearchBody":
        if (self.query is None) == (self.queries is None):
            raise ValueError("give exactly one of query or queries")
        return self


class EmbeddingsBody(BaseModel):
    """OpenAI's embeddings request (plus input_type, a vecdb extension)."""
    model_config = ConfigDict(extra="ignore")

    input: str | list[str]
    model: str = Field(max_length=512)
    encoding_format: Literal["float", "base64"] = "float"
    dimensions: int | None = Field(None, ge=1)
    user: str | None = None
    input_type: Literal["document", "query"] = "document"

    @model_validator(mode="before")
    @classmethod
    def _unicode(cls, data: Any) -> Any:
        _check_strings(data)
        return data
