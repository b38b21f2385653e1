"""The small records every layer shares: hits, documents, add results, writes; ids and content hashes."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

import numpy as np

FIELDS = ("text", "metadata", "vector")  # what `include=` may name


@dataclass
class Hit:
    id: str
    score: float
    text: str | None
    metadata: dict | None
    parent_id: str | None = None          # set on chunks
    span: tuple[int, int] | None = None   # chunk's character span in its parent
    source: str | None = None
    row_id: int | None = None             # the backend's own row key, when it has one
    vector: np.ndarray | None = None      # only with include=["vector"]

    @property
    def document_id(self) -> str:
        return self.parent_id or self.id

    def to_dict(self, include=("text", "metadata")) -> dict:
        return _fields({"id": self.id, "score": self.score}, self, include,
                       chunk=self.parent_id is not None or self.source is not None)


@dataclass
class Document:
    id: str
    text: str | None
    metadata: dict | None
    vector: np.ndarray | None = None
    parent_id: str | None = None
    span: tuple[int, int] | None = None
    source: str | None = None

    def to_dict(self, include=("text", "metadata")) -> dict:
        return _fields({"id": self.id}, self, include, chunk=self.parent_id is not None)


def _fields(out: dict, rec: Hit | Document, include, chunk: bool) -> dict:
    """`out` with the fields `include` names, and a chunk's parent, span and source."""
    if "text" in include:
        out["text"] = rec.text
    if "metadata" in include:
        out["metadata"] = rec.metadata
    if "vector" in include and rec.vector is not None:
        out["vector"] = [float(x) for x in rec.vector]
    if chunk:
        out.update(document_id=rec.parent_id or rec.id, span=list(rec.span) if rec.span else None, source=rec.source)
    return out


@dataclass
class AddResult:
    ids: list[str] = field(default_factory=list)
    added: int = 0       # new ids
    updated: int = 0     # content changed (re-embedded)
    metadata_updated: int = 0
    unchanged: int = 0   # skipped by content hash
    embedded: int = 0    # texts that went through the model
    chunked: bool = False
    documents: int = 0            # chunked add: parent documents written
    documents_unchanged: int = 0  # chunked add: skipped by the parent's content hash

    def to_dict(self) -> dict:
        keys = ["added", "updated", "metadata_updated", "unchanged", "embedded"]
        return {k: getattr(self, k) for k in keys + (["documents", "documents_unchanged"] if self.chunked else [])}


@dataclass
class DocWrite:
    """One row to upsert: a document or a chunk of one."""
    doc_id: str
    text: str
    metadata: str | None      # JSON text (dumps_metadata)
    content_hash: str
    vector: np.ndarray | None  # None: content unchanged, only metadata may change
    parent_id: str | None = None   # chunks: the document they were cut from
    span: tuple[int, int] | None = None
    source: str | None = None


@dataclass
class ParentWrite:
    """A chunked document: its hash covers text, metadata, source and chunking settings."""
    parent_id: str
    content_hash: str
    chunking: str
    source: str | None = None


@dataclass
class WriteCounts:
    """What one storage write did (the backend's answer to Collection's write call)."""
    inserted: int = 0
    replaced: int = 0
    metadata_only: int = 0
    unchanged: int = 0
    deleted: int = 0
    missing_vectors: list[str] | None = None  # content changed under us: embed these and write again


@dataclass(frozen=True)
class Stored:
    """What a backend knows of a stored row, for skipping by hash: content hash and metadata JSON."""
    content_hash: str
    metadata: str | None


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def auto_ids(hashes: list[str]) -> list[str]:
    """Ids derived from content, so adding the same text twice is idempotent."""
    out, seen = [], {}
    for h in hashes:
        i = h[:16]
        seen[i] = seen.get(i, 0) + 1
        out.append(i if seen[i] == 1 else f"{i}-{seen[i]}")
    return out


def dumps_metadata(meta: dict | None) -> str | None:
    return None if meta is None else json.dumps(meta, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def loads_metadata(meta: str | None) -> dict | None:
    return None if meta is None else json.loads(meta)
