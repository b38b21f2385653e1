"""A deterministic fake embedder: a signed, hashed bag of words and word pairs (no model, no torch).

Registered as the model `hash`. Texts that share words get similar vectors, so search, filters,
chunking and RAG behave sensibly; use it wherever embedding quality is not what is being tested."""
from __future__ import annotations

import hashlib
import re
from typing import Sequence

import numpy as np

from ..errors import InvalidArgument, Unsupported
from ..spec import EmbeddingSpec
from .base import Embedder, Progress

WORD = re.compile(r"\w+", re.UNICODE)
DIM = 256
VOCAB = 2 ** 31  # token ids: a word's id is its hash bucket below this (0-2 are special)


class WordTokenizer:
    """The subset of a Hugging Face tokenizer's call that vecdb uses: word ids and character offsets."""

    bos, eos = 1, 2

    def __call__(self, text, add_special_tokens: bool = True, return_offsets_mapping: bool = False, **_):
        if isinstance(text, (list, tuple)):
            parts = [self(t, add_special_tokens, return_offsets_mapping) for t in text]
            return {key: [p[key] for p in parts] for key in parts[0]} if parts else {"input_ids": []}
        spans = [(m.start(), m.end()) for m in WORD.finditer(text)]
        ids = [_bucket(text[s:e].lower()) % (VOCAB - 3) + 3 for s, e in spans]
        if add_special_tokens:
            ids, spans = [self.bos, *ids, self.eos], [(0, 0), *spans, (0, 0)]
        out = {"input_ids": ids}
        if return_offsets_mapping:
            out["offset_mapping"] = spans
        return out


def _bucket(token: str) -> int:
    return int.from_bytes(hashlib.blake2b(token.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "little")


class HashEmbedder(Embedder):
    def __init__(self, max_length: int = 512, query_template: str = "{query}", document_template: str = "{text}"):
        self.tokenizer = WordTokenizer()
        self.spec = EmbeddingSpec(model="hash", weights_hash="hash:blake2b-v1", pooling="mean", dim=DIM,
                                  max_length=max_length, query_template=query_template,
                                  document_template=document_template)

    def _vector(self, text: str) -> np.ndarray:
        return self._features([w.lower() for w in WORD.findall(text)][: self.spec.max_length - 2])

    def _features(self, words: list[str]) -> np.ndarray:
        v = np.zeros(DIM, dtype=np.float32)
        for feat in words + [a + " " + b for a, b in zip(words, words[1:])]:
            h = _bucket(feat)
            v[h % DIM] += 1.0 if (h >> 32) & 1 else -1.0
        n = float(np.linalg.norm(v))
        if n == 0.0:
            v[0] = 1.0
            return v
        return v / n

    def embed_documents(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        out = np.stack([self._vector(self.spec.format_document(t)) for t in texts]) if texts else \
            np.zeros((0, DIM), np.float32)
        if progress:
            progress(len(texts))
        return out

    def embed_queries(self, queries: Sequence[str], task: str | None = None) -> np.ndarray:
        if not queries:
            return np.zeros((0, DIM), np.float32)
        return np.stack([self._vector(self.spec.format_query(q, task)) for q in queries])

    def count_tokens(self, texts: Sequence[str], *, truncate: bool = True) -> list[int]:
        return self._cut([len(WORD.findall(t)) + 2 for t in texts], truncate)

    def _cut(self, counts: list[int], truncate: bool) -> list[int]:
        return [min(n, self.spec.max_length) for n in counts] if truncate else counts

    # Token ids: each id is a feature of its own (a text's ids do not give the text's vector: the
    # vector is built from words, and a word's id is only a bucket of it).
    vocab_size = VOCAB

    def count_token_ids(self, ids: Sequence[Sequence[int]], *, truncate: bool = True) -> list[int]:
        return self._cut([len(x) + 2 for x in ids], truncate)

    def embed_token_ids(self, ids: Sequence[Sequence[int]], kind: str = "document") -> np.ndarray:
        template = self.spec.query_template if kind == "query" else self.spec.document_template
        if template not in ("{query}", "{text}"):
            raise Unsupported(f"input: model 'hash' wraps each {kind} in a template ({template!r}), which token "
                              "ids cannot carry; send text", argument="input")
        for i, row in enumerate(ids):
            for j, t in enumerate(row):
                if isinstance(t, bool) or not isinstance(t, int) or not 0 <= t < VOCAB:
                    raise InvalidArgument(f"input[{i}][{j}]: token id {t!r} is outside the vocabulary of model "
                                          f"'hash' (ids 0 to {VOCAB - 1})", argument="input")
        if not ids:
            return np.zeros((0, DIM), np.float32)
        return np.stack([self._features([f"#{t}" for t in row][: self.spec.max_length - 2]) for row in ids])
