"""What a caller may choose for an embedder (no torch here: importing vecdb stays light)."""
from __future__ import annotations

from dataclasses import dataclass, replace
from enum import Enum

from ..errors import InvalidArgument
from ..spec import INSTRUCT_TEMPLATE, EmbeddingSpec


class Pooling(str, Enum):
    MEAN = "mean"
    CLS = "cls"
    LAST_TOKEN = "last-token"
    WEIGHTED_MEAN = "weighted-mean"
    MAX = "max"
    ATTENTION = "attention"  # trainable: see trainable.py
    LINEAR = "linear"        # trainable: mean + learned projection
    LAST_LINEAR = "last-linear"  # trainable: last token + learned projection

    @property
    def trainable(self) -> bool:
        return self in (Pooling.ATTENTION, Pooling.LINEAR, Pooling.LAST_LINEAR)

    @classmethod
    def parse(cls, value: "str | Pooling") -> "Pooling":
        if isinstance(value, Pooling):
            return value
        aliases = {"eos": "last-token", "last": "last-token", "lasttoken": "last-token",
                   "last_token": "last-token", "weighted_mean": "weighted-mean", "sgpt": "weighted-mean"}
        key = str(value).strip().lower()
        key = aliases.get(key, key)
        for p in cls:
            if p.value == key:
                return p
        valid = ", ".join(p.value for p in cls)
        raise InvalidArgument(f"pooling: unknown value {value!r}; valid values: {valid}", argument="pooling")



# Named templates: `--document-template prompteol` etc.
TEMPLATES = {
    "query": {"prompteol": 'This sentence : "{query}" means in one word:"', "instruct": INSTRUCT_TEMPLATE,
              "plain": "{query}"},
    "document": {"prompteol": 'This sentence : "{text}" means in one word:"', "plain": "{text}"},
}


@dataclass(frozen=True)
class EmbedderOptions:
    """What a caller may choose. None means the folder's, the preset's or the model's default."""
    model: str = "minilm"
    pooling: str | None = None
    max_length: int | None = None
    padding_side: str | None = None
    append_eos: bool | None = None
    layer: int = -1
    query_template: str | None = None
    document_template: str | None = None
    dtype: str | None = "auto"
    normalize: bool = True
    exclude_instruction: bool = False
    pooler_path: str | None = None  # folder with trainable pooler weights (a collection's copy)

    @classmethod
    def from_spec(cls, spec: EmbeddingSpec, pooler_path: str | None = None) -> "EmbedderOptions":
        return cls(model=spec.model, pooling=spec.pooling, max_length=spec.max_length,
                   padding_side=spec.padding_side, append_eos=spec.append_eos, layer=spec.layer,
                   query_template=spec.query_template, document_template=spec.document_template,
                   dtype=spec.dtype, normalize=spec.normalize, exclude_instruction=spec.exclude_instruction,
                   pooler_path=pooler_path)

    def merged(self, **explicit) -> "EmbedderOptions":
        return replace(self, **{k: v for k, v in explicit.items() if v is not None})


def template(value: str, kind: str, required: str) -> str:
    value = TEMPLATES[kind].get(value, value)
    field = f"{kind}_template"
    if required not in value:
        raise InvalidArgument(f"{field}: template must contain {required} (or be one of "
                              f"{', '.join(TEMPLATES[kind])})", argument=field)
    try:
        value.format(query="q", text="t", task="x")
    except (KeyError, IndexError, ValueError) as e:
        raise InvalidArgument(f"{field}: invalid template ({e}); allowed fields: {{task}}, {{query}}, {{text}}",
                              argument=field) from None
    return value


