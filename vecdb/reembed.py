"""Move a collection to a new embedding spec: resumable, and switched over atomically.

The new vectors are written to a staging collection (`__reembed__<name>`) that survives a kill; running
the same command again resumes it, skipping documents already embedded (by id and content hash).
Readers keep searching the old vectors until the final step renames both collections in one
transaction; the old one is then dropped."""
from __future__ import annotations

import json
from typing import TYPE_CHECKING, Callable

from .collection import Collection
from .embed import Embedder, EmbedderOptions, load_embedder
from .errors import CollectionNotFound

if TYPE_CHECKING:
    from .database import Database

STAGING = "__reembed__{}"


def reembed(db: "Database", name: str, model: str | None = None, *, pooling: str | None = None,
            embedder: Embedder | None = None, batch_size: int = 256,
            progress: Callable[[int], None] | None = None, **options) -> Collection:
    old = db.get_collection(name)
    if embedder is None:
        explicit = {k: v for k, v in dict(model=model, pooling=pooling, **options).items() if v is not None}
        base = EmbedderOptions.from_spec(old.spec)
        if "model" in explicit or "pooling" in explicit:  # a new model or pooling starts from its own defaults
            base = EmbedderOptions(dtype=old.spec.dtype)
        embedder = load_embedder(base.merged(**explicit), device=db.device)
    staging = _staging(db, name, embedder, old.index_config)
    store = db.store
    # Copy passes without the writer lock, so writers to the old collection carry on.
    for _ in range(3):
        if _sync_pass(old, staging, batch_size, progress) == 0:
            break
        progress = None  # only the first pass reports progress
    # Final pass and switch-over under the writer lock: nothing can change in between.
    with store.lock:
        _sync_pass(old, staging, batch_size, None)
        retired = f"__retired__{old.id}"
        store.swap_names(old.id, staging.id, name, retired)
        db._forget(name)
        db._forget(STAGING.format(name))
        coll = Collection(db, store.get_collection(name), embedder)
        coll._index, coll._stamp, coll._unsaved = staging._index, staging._stamp, max(staging._unsaved, 1)
        db._collections[name] = coll
    coll.save()
    store.drop_collection(old.id)
    old.index_path.unlink(missing_ok=True)
    return coll


def _staging(db: "Database", name: str, embedder: Embedder, index_config: dict) -> Collection:
    sname = STAGING.format(name)
    row = db.store.get_collection(sname)
    if row is not None and json.loads(row.spec) != json.loads(embedder.spec.to_json()):
        db.store.drop_collection(row.id)  # an interrupted run towards another spec: start over
        row = None
    if row is None:
        db._keep_pooler(embedder)
        row = db.store.create_collection(sname, embedder.spec.to_json(), json.dumps(index_config, sort_keys=True))
    return Collection(db, row, embedder)


def _sync_pass(old: Collection, new: Collection, batch_size: int, progress) -> int:
    """Make `new` hold the same documents as `old`; returns how many changed."""
    if old.store.get_collection_by_id(old.id) is None:
        raise CollectionNotFound(f"collection: {old.name!r} was dropped during re-embedding", argument="collection")
    changed = 0
    seen: set[str] = set()
    for chunk in old.store.iter_documents(old.id, chunk=batch_size, with_vectors=False, with_chunks=True):
        ids = [r[0] for r in chunk]
        seen.update(ids)
        res = new.add([r[1] for r in chunk], ids=ids, metadata=[json.loads(r[2]) if r[2] else None for r in chunk],
                      batch_size=batch_size, chunk_info=[(r[4], (r[5], r[6]) if r[5] is not None else None, r[7])
                                                         for r in chunk])
        changed += res.added + res.updated + res.metadata_updated
        if progress:
            progress(len(chunk))
    stale = []
    for chunk in new.store.iter_documents(new.id, chunk=5000, with_vectors=False):
        stale += [r[0] for r in chunk if r[0] not in seen]
    if stale:
        changed += new.delete(stale)
    return changed


__all__ = ["reembed"]
