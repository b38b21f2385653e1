"""Request bodies, built per app from its Settings: lengths, item counts and ranges come from the
settings (defaults: vecdb.limits) and are enforced here (422); patterns and the `where` grammar are
declared here (server/contract.py) and enforced by the library (400). So the schema states exactly
what the server accepts."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema, model_validator

from vecdb.embed import Pooling
from vecdb.limits import MAX_ID_CHARS
from vecdb.records import FIELDS

from . import contract
from .settings import Settings

MAX_NEW_TOKENS = 1024
TOKEN_ID_MAX = 2 ** 31 - 1   # a model's own vocabulary is smaller: see GET /v1/models/{model}


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


def _integral(v: Any) -> Any:
    """JSON Schema's integer includes 2.0: take an integral float as the int (strict mode refuses the rest)."""
    return int(v) if isinstance(v, float) and v.is_integer() else v


def Int(**constraints: Any) -> Any:  # noqa: N802 (a type)
    return Annotated[int, Field(**constraints), BeforeValidator(_integral)]


class Body(BaseModel):
    """Strict JSON types (no "5" for 5), no unknown fields."""
    model_config = ConfigDict(extra="forbid", strict=True, regex_engine="python-re", allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _unicode(cls, data: Any) -> Any:
        _check_strings(data)
        return data


def _one_of(*names: str):
    """Schema: exactly one of these properties is given (and not null: their type has no null)."""
    def edit(schema: dict) -> None:
        schema["oneOf"] = [{"required": [n]} for n in names]
        for n in names:
            schema["properties"][n].pop("default", None)
    return edit


Where = Annotated[dict[str, Any] | None, WithJsonSchema(contract.WHERE)]
WhereGiven = Annotated[dict[str, Any], WithJsonSchema(contract.WHERE_GIVEN)]
Metadata = dict[str, Any] | None
Id = Annotated[str, Field(min_length=1, max_length=MAX_ID_CHARS, json_schema_extra={"pattern": contract.TEXT})]
Include = list[Literal[FIELDS]]  # type: ignore[valid-type]
PoolingName = Literal[tuple(p.value for p in Pooling)]  # type: ignore[valid-type]


@dataclass(frozen=True)
class Bodies:
    CollectionCreate: type[Body]
    DocumentsAdd: type[Body]
    IdsBody: type[Body]
    GetBody: type[Body]
    ListBody: type[Body]
    DeleteBody: type[Body]
    SearchBody: type[Body]
    SimilarBody: type[Body]
    ContextBody: type[Body]
    AskBody: type[Body]
    EmbeddingsBody: type[BaseModel]


def build(s: Settings, models: tuple[str, ...], default_model: str, max_dim: int | None) -> Bodies:
    """The request models of an app serving `models` (max_dim: the largest of their dimensions, if known)."""
    Text = Annotated[str, Field(max_length=s.max_text_chars, json_schema_extra={"pattern": contract.TEXT})]
    Question = Annotated[str, Field(max_length=s.max_text_chars, json_schema_extra={"pattern": contract.NONBLANK})]
    K = Annotated[Int(ge=1, le=s.max_k), Field(description="Hits per query")]
    Ids = Annotated[list[Id], Field(min_length=1, max_length=s.max_batch, json_schema_extra={"uniqueItems": True})]

    class CollectionCreate(Body):
        name: str = Field(max_length=128, json_schema_extra={"pattern": contract.NAME},
                          description="Letters, digits, '_', '-', '.'; starts with a letter or digit; no '..'")
        model: str = Field(default_model, max_length=512, json_schema_extra={"enum": list(models)},
                           description="A model served here (GET /v1/models)")
        pooling: PoolingName | None = Field(None, description="Default: the model's")
        exist_ok: bool = False

    class DocumentIn(Body):
        id: Id | None = Field(None, description="Default: derived from the text. Unique within a request.")
        text: Text
        metadata: Metadata = None

    class DocumentsAdd(Body):
        documents: list[DocumentIn] = Field(min_length=1, max_length=s.max_batch)

    class IdsBody(Body):
        ids: Ids

    class GetBody(IdsBody):
        include: Include = ["text", "metadata"]

    class ListBody(Body):
        where: Where = None
        limit: K | None = Field(None, description="At most this many documents (default: all)")
        offset: Int(ge=0) = Field(0, description="Skip this many documents first (insertion order)")
        include: Include = ["text", "metadata"]

    class DeleteBody(Body):
        model_config = ConfigDict(json_schema_extra=_one_of("ids", "where"))
        ids: Ids = Field(None, description="Documents by id (those that do not exist are ignored)")
        where: WhereGiven = Field(None, description="Or every document matching this filter")
        dry_run: bool = Field(False, description="Only count what would be deleted")

        @model_validator(mode="after")
        def _exactly_one(self) -> "DeleteBody":
            if (self.ids is None) == (self.where is None):
                raise ValueError("give exactly one of ids or where")
            return self

    class SearchBody(Body):
        model_config = ConfigDict(json_schema_extra=_one_of("query", "queries"))
        query: Text = Field(None, description="One query (answer: hits)")
        queries: list[Text] = Field(None, min_length=1, max_length=s.max_queries,
                                    description="Many queries (answer: results)")
        k: K = 10
        where: Where = None
        include: Include = ["text", "metadata"]
        min_score: float | None = Field(None, description="Leave out hits scoring below it")
        task: str | None = Field(None, max_length=1000, description="Task for an instruction query template")
        hybrid: bool = Field(False, description="Fuse with BM25 keyword ranks (reciprocal rank fusion)")
        group_by_document: bool = Field(False, description="Best chunk per parent document")

        @model_validator(mode="after")
        def _exactly_one(self) -> "SearchBody":
            if (self.query is None) == (self.queries is None):
                raise ValueError("give exactly one of query or queries")
            return self

    class SimilarBody(Body):
        id: Id = Field(description="A stored document: its nearest neighbours are returned, itself left out")
        k: K = 10
        where: Where = None
        include: Include = ["text", "metadata"]
        min_score: float | None = Field(None, description="Leave out hits scoring below it")

    class ContextBody(Body):
        question: Question
        k: K = 5
        max_tokens: Int(ge=1) = Field(1024, description="Token budget (at least the shortest passage's tokens)")
        mmr: float | None = Field(None, ge=0, le=1, description="MMR lambda from 0 (diversity) to 1 (relevance)")
        hybrid: bool = False
        dedupe: bool = True
        where: Where = None

    class AskBody(ContextBody):
        max_new_tokens: Int(ge=1, le=MAX_NEW_TOKENS) = 256
        temperature: float = Field(0.0, ge=0)
        template: str | None = Field(None, max_length=20_000, pattern=contract.TEMPLATE,
                                     description="Prompt with {context} and {question}")

    TokenIds = Annotated[list[Int(ge=0, le=TOKEN_ID_MAX)],
                         Field(min_length=1, max_length=s.max_text_chars)]

    class EmbeddingsBody(Body):
        """OpenAI's embeddings request, plus `input_type` and `truncate` (vecdb's)."""
        model_config = ConfigDict(extra="ignore")

        input: (Text | Annotated[list[Text], Field(min_length=1, max_length=s.max_batch)] | TokenIds
                | Annotated[list[TokenIds], Field(min_length=1, max_length=s.max_batch)]) = Field(
            description="A text, texts, one text's token ids, or several texts' token ids. Token ids are in "
                        "the model's own vocabulary, without special tokens (the model's are added as for text).")
        model: str = Field(min_length=1, max_length=512, description="A served model or a collection's name")
        encoding_format: Literal["float", "base64"] = "float"
        dimensions: Int(ge=1, le=max_dim) | None = Field(None,
                                       description="Keep the first n values, re-normalised (at most the model's "
                                                   "dimension)")
        user: str | None = Field(None, max_length=256)
        input_type: Literal["document", "query"] = "document"
        truncate: bool | None = Field(None, description="Cut inputs longer than the model's limit (the response's "
                                                        "`truncated` counts them) instead of a 400; default: the "
                                                        "server's")

    return Bodies(CollectionCreate, DocumentsAdd, IdsBody, GetBody, ListBody, DeleteBody, SearchBody, SimilarBody,
                  ContextBody, AskBody, EmbeddingsBody)
