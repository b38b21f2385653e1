"""Move a collection to a new embedding spec: resumable, and switched over in one step.

The new vectors are written to a staging collection (`__reembed__<name>`) that survives a kill;
running the same command again resumes it, skipping documents already embedded (by id and content
hash). `vecdb reembed --abort NAME` (or `vecdb drop __reembed__NAME`) removes a staging collection.
Readers keep searching the old vectors until `Database.replace_collection` gives the staging
collection the name (one transaction on the local backend). Uses only the public interface.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from .errors import CollectionNotFound
from .validate import STAGING_PREFIX

if TYPE_CHECKING:
    from .collection import Collection
    from .database import Database
    from .embed import Embedder


def staging_name(name: str) -> str:
    return STAGING_PREFIX + name


def reembed(db: "Database", name: str, model: str | None = None, *, pooling: str | None = None,
            embedder: "Embedder | None" = None, batch_size: int = 256,
            progress: Callable[[int], None] | None = None, **options) -> "Collection":
    from .embed import EmbedderOptions, load_embedder

    old = db.get_collection(name)
    if embedder is None:
        explicit = {k: v for k, v in dict(model=model, pooling=pooling, **options).items() if v is not None}
        base = EmbedderOptions.from_spec(old.spec)
        if "model" in explicit or "pooling" in explicit:  # a new model or pooling starts from its own defaults
            base = EmbedderOptions(dtype=old.spec.dtype)
        embedder = load_embedder(base.merged(**explicit), device=db.device)
    staging = _staging(db, name, embedder, old.index_config)
    # Copy passes while writers to the old collection carry on; each pass copies what changed.
    for _ in range(4):
        if _sync_pass(db, old, staging, batch_size, progress) == 0:
            break
        progress = None  # only the first pass reports progress
    return db.replace_collection(name, staging.name, sync=lambda: _sync_pass(db, old, staging, batch_size, None))


def abort(db: "Database", name: str) -> bool:
    """Remove the staging collection of an interrupted reembed of `name`; False if there was none."""
    sname = staging_name(name)
    if not db.has_collection(sname):
        return False
    db.drop_collection(sname)
    return True


def _staging(db: "Database", name: str, embedder: "Embedder", index_config: dict) -> "Collection":
    sname = staging_name(name)
    if db.has_collection(sname):
        staging = db.get_collection(sname)
        if not staging.spec.diff(embedder.spec):
            return db.get_collection(sname, embedder=embedder)
        db.drop_collection(sname)  # an interrupted run towards another spec: start over
    return db.create_collection(sname, embedder=embedder, index=index_config)


def _sync_pass(db: "Database", old: "Collection", new: "Collection", batch_size: int, progress) -> int:
    """Make `new` hold the same documents as `old`; returns how many rows changed."""
    if not db.has_collection(old.name):
        raise CollectionNotFound(f"collection: {old.name!r} was dropped during re-embedding", argument="collection")
    changed = 0
    seen: set[str] = set()
    for docs in old.iter_documents(batch_size=batch_size, include_vectors=False):
        seen.update(d.id for d in docs)
        res = new.add([d.text for d in docs], ids=[d.id for d in docs], metadata=[d.metadata for d in docs],
                      batch_size=batch_size,
                      chunk_info=[(d.parent_id, d.span, d.source) if d.parent_id else None for d in docs])
        changed += res.added + res.updated + res.metadata_updated
        if progress:
            progress(len(docs))
    stale = [d.id for docs in new.iter_documents(batch_size=5000, include_vectors=False) for d in docs
             if d.id not in seen]
    if stale:
        changed += new.delete(stale)
    return changed


__all__ = ["reembed", "abort", "staging_name"]
