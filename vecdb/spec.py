"""EmbeddingSpec: everything that determines which vector a text gets."""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass

# Fields that do not change the vectors, so they are not compared.
_UNCOMPARED = frozenset({"version"})


@dataclass(frozen=True)
class EmbeddingSpec:
    model: str                      # preset name, hub id or local path as given
    weights_hash: str               # sha256 over the weight files
    pooling: str                    # a registered pooling mode
    dim: int
    normalize: bool = True
    max_length: int = 256
    padding_side: str = "right"
    append_eos: bool = False        # EOS appended when the tokenizer adds none
    layer: int = -1                 # hidden-state layer that is pooled
    query_template: str = "{query}"
    document_template: str = "{text}"
    dtype: str = "float32"
    pooling_weights_hash: str | None = None  # trainable pooling layer, if any
    exclude_instruction: bool = False        # instruction tokens left out of mean pooling
    runtime: str = "torch"                   # what computes the hidden states: torch or onnx (ONNX Runtime)
    version: int = 1

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict) -> "EmbeddingSpec":
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})

    @classmethod
    def from_json(cls, text: str) -> "EmbeddingSpec":
        return cls.from_dict(json.loads(text))

    def diff(self, other: "EmbeddingSpec") -> dict[str, tuple]:
        """Fields whose values differ, as {name: (self's, other's)}."""
        out = {}
        for f in dataclasses.fields(self):
            if f.name in _UNCOMPARED:
                continue
            a, b = getattr(self, f.name), getattr(other, f.name)
            if a != b:
                out[f.name] = (a, b)
        return out

    def format_query(self, query: str, task: str | None = None) -> str:
        if "{task}" in self.query_template:
            return self.query_template.format(task=task or DEFAULT_TASK, query=query)
        return self.query_template.format(query=query)

    def format_document(self, text: str) -> str:
        return self.document_template.format(text=text)


DEFAULT_TASK = "Given a query, retrieve relevant passages that answer the query"
INSTRUCT_TEMPLATE = "Instruct: {task}\nQuery: {query}"
