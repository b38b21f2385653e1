"""LocalDatabase: a directory holding vecdb.sqlite (the truth) and the FAISS index cache files.

    DIR/vecdb.sqlite          collections, documents (vectors included), tombstones, migrations
    DIR/indexes/<id>.faiss    each collection's index, a rebuildable cache
    DIR/poolers/<hash>/       trainable pooling layers the collections use
    DIR/.write.lock           serialises writers across processes
"""
from __future__ import annotations

import atexit
import json
import os
import tempfile
import weakref
from pathlib import Path

from ..database import Database
from ..errors import StorageError
from ..index import create_index, parse_config
from ..spec import EmbeddingSpec
from ..validate import STAGING_PREFIX
from ..store import Store
from ..store.store import DB_FILE
from .collection import LocalCollection

_open: "weakref.WeakSet[LocalDatabase]" = weakref.WeakSet()


class LocalDatabase(Database):
    backend = "local"

    def __init__(self, location: str, device: str | None = None, create: bool = True):
        self.directory = _prepare_dir(location, create)
        super().__init__(str(self.directory), device)
        try:
            self.store = Store(self.directory)
        except StorageError:
            raise
        except Exception as e:
            raise StorageError(f"path: cannot open database in {str(self.directory)!r}: {e}", argument="path") from None
        _open.add(self)

    def index_path(self, collection_id: int) -> Path:
        return self.directory / "indexes" / f"{collection_id}.faiss"

    # ---- storage ---------------------------------------------------------------
    def _exists(self, name: str) -> bool:
        return self.store.get_collection(name) is not None

    def _create(self, name: str, spec: EmbeddingSpec, index, embedder) -> LocalCollection:
        config = parse_config("flat" if index is None else index)
        create_index(config, spec.dim)  # parameters that depend on the dimension
        if embedder is not None:
            self._keep_pooler(embedder)
        row = self.store.create_collection(name, spec.to_json(), json.dumps(config, sort_keys=True))
        return LocalCollection(self, self.store, row, config, embedder)

    def _open(self, name: str, cached: LocalCollection | None) -> LocalCollection | None:
        row = self.store.get_collection(name)
        if row is None:
            return None
        config = json.loads(row.index_config)
        if cached is not None and cached.id == row.id and cached.spec.to_json() == row.spec \
                and cached.index_config == config:
            return cached
        return LocalCollection(self, self.store, row, config)

    def _list(self) -> list[dict]:
        counts = self.store.counts()
        out = []
        for row in self.store.list_collections():
            spec = json.loads(row.spec)
            out.append({"name": row.name, "count": counts.get(row.id, 0), "model": spec["model"],
                        "pooling": spec["pooling"], "dim": spec["dim"],
                        "index": json.loads(row.index_config).get("type", "flat"), "created_at": row.created_at,
                        "staging": row.name.startswith(STAGING_PREFIX)})
        return out

    def _drop(self, name: str) -> None:
        row = self.store.get_collection(name)
        self.store.drop_collection(row.id)
        cached = self._collections.get(name)
        if cached is not None:
            cached.index.forget()
        self.index_path(row.id).unlink(missing_ok=True)

    def _replace(self, name: str, replacement: str, sync) -> None:
        with self.store.lock:  # no writer can slip in between the last sync and the switch
            if sync is not None:
                sync()
            old, new = self.store.get_collection(name), self.store.get_collection(replacement)
            self.store.replace_collection(old.id, new.id, name)
        self.index_path(old.id).unlink(missing_ok=True)

    def _reindex(self, coll: LocalCollection, index) -> None:
        config = parse_config(index)
        create_index(config, coll.spec.dim)
        self.store.update_collection(coll.id, index_config=json.dumps(config, sort_keys=True))
        coll.use_index(config)

    def _close(self) -> None:
        self.store.close()

    # ---- poolers -----------------------------------------------------------------
    def pooler_path(self, spec: EmbeddingSpec) -> str | None:
        folder = self.pooler_dir(spec.pooling_weights_hash)
        return str(folder) if folder is not None else None

    def pooler_dir(self, weights_hash: str | None) -> Path | None:
        """Where a collection's trainable pooling layer is kept (saved with the database)."""
        if not weights_hash:
            return None
        return self.directory / "poolers" / weights_hash.split(":")[-1][:32]

    def _keep_pooler(self, embedder) -> None:
        pooler = getattr(embedder, "pooler", None)
        folder = self.pooler_dir(embedder.spec.pooling_weights_hash)
        if pooler is not None and folder is not None and not (folder / "vecdb_pooler.safetensors").exists():
            tmp = folder.with_name(folder.name + f".tmp{os.getpid()}")
            pooler.save(tmp)
            os.replace(tmp, folder)

    def disk_usage(self) -> int:
        return sum(p.stat().st_size for p in self.directory.rglob("*") if p.is_file())


def _prepare_dir(path, create: bool) -> Path:
    p = Path(path).expanduser()
    if p.exists() and not p.is_dir():
        raise StorageError(f"path: {str(p)!r} exists and is not a directory", argument="path")
    if not create:
        if not (p / DB_FILE).is_file():
            raise StorageError(f"db: no database at {str(p)}", argument="db")
        return p.resolve()
    try:
        p.mkdir(parents=True, exist_ok=True)
        (p / "indexes").mkdir(exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".probe", dir=p)
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise StorageError(f"path: database directory {str(p)!r} is not writable ({e.strerror or e})",
                           argument="path") from None
    return p.resolve()


@atexit.register
def _close_all() -> None:
    for db in list(_open):
        try:
            db.close()
        except Exception:
            pass
