"""Copy a collection between databases of any backends, with its spec. Vectors are copied, never
re-embedded. Streams in batches; resumable: rows already stored with the same content and metadata
are skipped, so an interrupted copy is finished by running it again. Uses only the public interface."""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .errors import SpecMismatch, Unsupported


@dataclass
class TransferResult:
    source: int = 0      # documents read
    copied: int = 0      # written (new, changed text or changed metadata)
    skipped: int = 0     # already there with the same content and metadata
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return {"source": self.source, "copied": self.copied, "skipped": self.skipped,
                "seconds": round(self.seconds, 3)}


def open_target(db, name: str, spec, index=None):
    """The collection `name` in db, created with `spec` if missing; an existing one must match it."""
    if spec.pooling_weights_hash:
        raise Unsupported("collection: collections with a trainable pooling layer cannot be moved between "
                          "databases", argument="collection")
    if db.has_collection(name):
        coll = db.get_collection(name)
        diffs = coll.spec.diff(spec)
        if diffs:
            raise SpecMismatch(name, diffs)
        return coll
    return db.create_collection(name, spec=spec, index=index)


def copy_collection(src, dst_db, name: str | None = None, *, batch_size: int = 1000, index=None,
                    progress: Callable[[int], None] | None = None) -> TransferResult:
    """Copy collection `src` into database `dst_db` (under `name`, default the same)."""
    t0 = time.perf_counter()
    dst = open_target(dst_db, name or src.name, src.spec, index)
    res = TransferResult()
    for docs in src.iter_documents(batch_size=batch_size, include_vectors=True):
        res.source += len(docs)
        out = dst.add([d.text for d in docs], ids=[d.id for d in docs], metadata=[d.metadata for d in docs],
                      vectors=np.stack([d.vector for d in docs]), batch_size=batch_size,
                      chunk_info=[(d.parent_id, d.span, d.source) if d.parent_id else None for d in docs])
        res.copied += out.added + out.updated + out.metadata_updated
        res.skipped += out.unchanged
        if progress:
            progress(len(docs))
    dst_db.save()
    res.seconds = time.perf_counter() - t0
    return res
