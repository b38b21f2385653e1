"""What a caller may choose for an embedder (no torch here: importing vecdb stays light)."""
from __future__ import annotations

from dataclasses import dataclass, replace

from ..errors import InvalidArgument
from ..spec import INSTRUCT_TEMPLATE, EmbeddingSpec
from .registry import Pooling  # noqa: F401  (re-exported: vecdb.embed.options.Pooling)


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
    runtime: str | None = "auto"     # torch or onnx (ONNX Runtime on the CPU: float32 or int8); auto: device.py
    normalize: bool = True
    exclude_instruction: bool = False
    pooler_path: str | None = None  # folder with trainable pooler weights (a collection's copy)

    @classmethod
    def from_spec(cls, spec: EmbeddingSpec, pooler_path: str | None = None) -> "EmbedderOptions":
        return cls(model=spec.model, pooling=spec.pooling, max_length=spec.max_length,
                   padding_side=spec.padding_side, append_eos=spec.append_eos, layer=spec.layer,
                   query_template=spec.query_template, document_template=spec.document_template,
                   dtype=spec.dtype, runtime=spec.runtime, normalize=spec.normalize,
                   exclude_instruction=spec.exclude_instruction, pooler_path=pooler_path)

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


