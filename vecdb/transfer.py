"""Copy a collection between backends (local <-> Milvus) with its spec. Vectors are copied, never
re-embedded. Streams in batches; resumable: ids already stored with the same content hash and
metadata are skipped, so an interrupted copy is finished by running it again."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Callable, Iterator

import numpy as np

from .errors import SpecMismatch, Unsupported


@dataclass
class TransferResult:
    source: int = 0      # documents read
    copied: int = 0      # written (new, changed text or changed metadata)
    skipped: int = 0     # already there with the same hash and metadata
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return {"source": self.source, "copied": self.copied, "skipped": self.skipped,
                "seconds": round(self.seconds, 3)}


class _SpecOnly:
    """Stands in for an embedder when a collection is created from a stored spec (no model loaded)."""

    def __init__(self, spec):
        self.spec = spec


def is_milvus(coll) -> bool:
    return type(coll).__name__ == "MilvusCollection"


def iter_rows(coll, chunk: int = 1000) -> Iterator[list[tuple]]:
    """Chunks of (id, text, metadata JSON, content hash, float32 vector) over a whole collection."""
    if is_milvus(coll):
        yield from coll.iter_documents(chunk=chunk, with_vectors=True)
        return
    for part in coll.store.iter_documents(coll.id, chunk=chunk, with_vectors=True):
        yield [(i, t, m, h, np.frombuffer(v, dtype="<f4")) for i, t, m, h, v in part]


def stored(coll, ids: list[str]) -> dict[str, tuple[str, str | None]]:
    """{id: (content hash, metadata JSON)} for the ids the collection holds."""
    if is_milvus(coll):
        return coll._lookup(ids)
    return {i: (v[1], v[2]) for i, v in coll.store.lookup(coll.id, ids).items()}


def open_target(db, name: str, spec, index=None):
    """The collection `name` in db, created with `spec` if missing; an existing one must match it."""
    if spec.pooling_weights_hash:
        raise Unsupported("collection: collections with a trainable pooling layer cannot be moved between "
                          "backends", argument="collection")
    if db.has_collection(name):
        coll = db.get_collection(name)
        diffs = coll.spec.diff(spec)
        if diffs:
            raise SpecMismatch(name, diffs)
        return coll
    kwargs = {} if index is None else {"index": index}
    coll = db.create_collection(name, embedder=_SpecOnly(spec), **kwargs)
    coll._embedder = None  # loaded from the spec when a query first needs it
    return coll


def copy_collection(src, dst_db, name: str | None = None, *, batch_size: int = 1000, index=None,
                    progress: Callable[[int], None] | None = None) -> TransferResult:
    """Copy collection `src` into database `dst_db` (under `name`, default the same)."""
    import time

    t0 = time.perf_counter()
    dst = open_target(dst_db, name or src.name, src.spec, index)
    res = TransferResult()
    for rows in iter_rows(src, batch_size):
        res.source += len(rows)
        have = stored(dst, [r[0] for r in rows])
        todo = [r for r in rows if have.get(r[0]) != (r[3], r[2])]
        res.skipped += len(rows) - len(todo)
        if todo:
            dst.add([r[1] for r in todo], ids=[r[0] for r in todo],
                    metadata=[None if r[2] is None else json.loads(r[2]) for r in todo],
                    vectors=np.stack([r[4] for r in todo]), batch_size=batch_size)
            res.copied += len(todo)
        if progress:
            progress(len(rows))
    dst_db.save()
    res.seconds = time.perf_counter() - t0
    return res
