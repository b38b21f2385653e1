"""Response bodies: the schema of every 2xx answer (objects marked open may carry more fields)."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class Health(BaseModel):
    status: Literal["ok"]
    version: str


class Spec(Open):
    """The embedding spec recorded with a collection (vecdb.spec.EmbeddingSpec)."""
    model: str
    weights_hash: str
    pooling: str
    dim: int
    max_length: int


class CollectionInfo(Open):
    name: str
    backend: str = Field(description="local or milvus")
    count: int
    spec: Spec
    index: dict[str, Any] = Field(description="Index statistics (depend on the index type)")
    index_config: dict[str, Any]
    capabilities: list[str] = Field(description="Optional features this backend has (e.g. keyword_search)")


class CollectionSummary(Open):
    name: str
    count: int
    model: str
    pooling: str
    dim: int
    index: str
    created_at: str
    staging: bool = Field(description="A reembed's staging collection")


class CollectionList(BaseModel):
    collections: list[CollectionSummary]


class CollectionDeleted(BaseModel):
    deleted: str = Field(description="The collection's name")


class AddResult(BaseModel):
    ids: list[str] = Field(description="The documents' ids, in the order given (derived ones included)")
    added: int
    updated: int = Field(description="Text changed (re-embedded)")
    metadata_updated: int
    unchanged: int = Field(description="Same text and metadata: nothing written")
    embedded: int = Field(description="Texts that went through the model")


class DocumentOut(BaseModel):
    id: str
    text: str | None = Field(None, description="With include text")
    metadata: dict[str, Any] | None = Field(None, description="With include metadata")
    vector: list[float] | None = Field(None, description="With include vector")
    document_id: str | None = Field(None, description="A chunk's parent document")
    span: list[int] | None = Field(None, description="A chunk's character span in its parent")
    source: str | None = None


class DocumentsOut(BaseModel):
    documents: list[DocumentOut] = Field(description="Those that exist, in the order asked")
    missing: list[str]


class DocumentList(BaseModel):
    documents: list[DocumentOut] = Field(description="In insertion order")


class DocumentsDeleted(BaseModel):
    deleted: int = Field(description="Rows removed (ids that did not exist are not counted)")


class Hit(DocumentOut):
    score: float = Field(description="Cosine similarity; with hybrid, the reciprocal-rank-fusion score")


class SearchHits(BaseModel):
    hits: list[Hit]


class QueryHits(BaseModel):
    query: str
    hits: list[Hit]


class SearchResults(BaseModel):
    results: list[QueryHits]


class Passage(BaseModel):
    citation: int
    id: str
    document_id: str
    source: str | None
    span: list[int] | None
    score: float
    tokens: int
    text: str
    metadata: dict[str, Any] | None


class ContextOut(BaseModel):
    question: str
    max_tokens: int
    tokens: int
    passages: list[Passage]


class Embedding(BaseModel):
    object: Literal["embedding"]
    index: int
    embedding: list[float] | str = Field(description="Floats, or base64 of little-endian float32")


class Usage(BaseModel):
    prompt_tokens: int
    total_tokens: int


class EmbeddingsOut(BaseModel):
    object: Literal["list"]
    data: list[Embedding]
    model: str
    usage: Usage
    truncated: int = Field(description="Inputs cut to the model's token limit (vecdb's; 0 unless truncate)")


class ModelOut(BaseModel):
    id: str
    object: Literal["model"]
    created: int = Field(description="Unix time: when the collection was created, or the server started")
    owned_by: str
    kind: Literal["model", "collection"] = Field(description="vecdb's: a served model, or a collection whose "
                                                            "embedder answers for `model`")


class ModelList(BaseModel):
    object: Literal["list"]
    data: list[ModelOut]
