"""Database: a directory holding vecdb.sqlite and the index cache files."""
from __future__ import annotations

import atexit
import json
import os
import shutil
import tempfile
import threading
import weakref
from pathlib import Path

from . import validate
from .collection import Collection
from .embed import DEFAULT_MODEL, Embedder, EmbedderOptions, load_embedder
from .errors import CollectionNotFound, StorageError
from .index import create_index, parse_config
from .store import Store

_open: "weakref.WeakSet[Database]" = weakref.WeakSet()


class Database:
    def __init__(self, path: str | os.PathLike, device: str | None = None):
        self.directory = _prepare_dir(path)
        self.device = device
        try:
            self.store = Store(self.directory)
        except Exception as e:
            raise StorageError(f"path: cannot open database in {str(self.directory)!r}: {e}", argument="path") from None
        self._collections: dict[str, Collection] = {}
        self._lock = threading.RLock()
        self._closed = False
        _open.add(self)

    def __enter__(self) -> "Database":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Database({str(self.directory)!r})"

    # ---- collections -----------------------------------------------------
    def create_collection(self, name: str, model: str = DEFAULT_MODEL, *, pooling: str | None = None,
                          embedder: Embedder | None = None, index: str | dict = "flat", exist_ok: bool = False,
                          **embedder_options) -> Collection:
        """Create a collection; its embedding spec is recorded now and enforced from then on."""
        validate.collection_name(name)
        index_config = _index_config(index)
        with self._lock:
            if exist_ok and self.store.get_collection(name) is not None:
                return self.get_collection(name, model=model if model != DEFAULT_MODEL else None, pooling=pooling,
                                           embedder=embedder, **embedder_options)
            if embedder is None:
                embedder = load_embedder(EmbedderOptions(model=model, pooling=pooling).merged(**embedder_options),
                                         device=self.device)
            create_index(index_config, embedder.spec.dim)  # parameters that depend on the dimension
            self._keep_pooler(embedder)
            row = self.store.create_collection(name, embedder.spec.to_json(), json.dumps(index_config, sort_keys=True))
            coll = Collection(self, row, embedder)
            self._collections[name] = coll
            return coll

    def get_collection(self, name: str, model: str | None = None, *, pooling: str | None = None,
                       embedder: Embedder | None = None, **embedder_options) -> Collection:
        """An existing collection. Giving a model, pooling or other options checks them against its spec."""
        validate.collection_name(name)
        with self._lock:
            coll = self._collections.get(name)
            row = self.store.get_collection(name)
            if row is None:
                self._collections.pop(name, None)
                names = [c.name for c in self.store.list_collections()]
                raise CollectionNotFound(f"collection: no collection named {name!r}"
                                         + (f"; existing: {', '.join(names)}" if names else ""), argument="collection")
            if coll is None or coll.id != row.id or coll.spec.to_json() != row.spec \
                    or coll.index_config != json.loads(row.index_config):
                coll = Collection(self, row)
                self._collections[name] = coll
        explicit = {k: v for k, v in dict(model=model, pooling=pooling, **embedder_options).items() if v is not None}
        if embedder is not None:
            coll.check_embedder(embedder)
        elif explicit:
            pooler = self.pooler_dir(coll.spec.pooling_weights_hash)
            emb = load_embedder(EmbedderOptions.from_spec(coll.spec, str(pooler) if pooler else None).merged(**explicit),
                                device=self.device)
            coll.check_embedder(emb)
        return coll

    def pooler_dir(self, weights_hash: str | None) -> Path | None:
        """Where a collection's trainable pooling layer is kept (saved with the database)."""
        if not weights_hash:
            return None
        return self.directory / "poolers" / weights_hash.split(":")[-1][:32]

    def _keep_pooler(self, embedder: Embedder) -> None:
        pooler = getattr(embedder, "pooler", None)
        folder = self.pooler_dir(embedder.spec.pooling_weights_hash)
        if pooler is not None and folder is not None and not (folder / "vecdb_pooler.safetensors").exists():
            tmp = folder.with_name(folder.name + f".tmp{os.getpid()}")
            pooler.save(tmp)
            os.replace(tmp, folder)

    def get_or_create_collection(self, name: str, model: str = DEFAULT_MODEL, **kwargs) -> Collection:
        return self.create_collection(name, model, exist_ok=True, **kwargs)

    def has_collection(self, name: str) -> bool:
        return self.store.get_collection(validate.collection_name(name)) is not None

    def list_collections(self) -> list[dict]:
        counts = self.store.counts()
        out = []
        for row in self.store.list_collections():
            spec = json.loads(row.spec)
            out.append({"name": row.name, "count": counts.get(row.id, 0), "model": spec["model"],
                        "pooling": spec["pooling"], "dim": spec["dim"],
                        "index": json.loads(row.index_config).get("type", "flat"), "created_at": row.created_at})
        return out

    def drop_collection(self, name: str) -> None:
        validate.collection_name(name)
        with self._lock:
            row = self.store.get_collection(name)
            if row is None:
                raise CollectionNotFound(f"collection: no collection named {name!r}", argument="collection")
            self.store.drop_collection(row.id)
            coll = self._collections.pop(name, None)
            path = self.directory / "indexes" / f"{row.id}.faiss"
            if coll is not None:
                with coll._lock:
                    coll._index, coll._unsaved = None, 0
            path.unlink(missing_ok=True)

    def reembed(self, name: str, model: str | None = None, *, pooling: str | None = None,
                embedder: Embedder | None = None, batch_size: int = 256, progress=None, **embedder_options):
        """Move a collection to a new embedding spec; see vecdb.reembed."""
        from .reembed import reembed

        return reembed(self, name, model=model, pooling=pooling, embedder=embedder, batch_size=batch_size,
                       progress=progress, **embedder_options)

    def reindex(self, name: str, index: str | dict) -> Collection:
        """Change a collection's index type or parameters; the index is rebuilt from the vectors in SQLite."""
        coll = self.get_collection(name)
        config = _index_config(index)
        create_index(config, coll.spec.dim)
        with coll._lock:
            self.store.update_collection(coll.id, index_config=json.dumps(config, sort_keys=True))
            coll.index_config = config
            coll.index_path.unlink(missing_ok=True)
            coll.rebuild_index()
        return coll

    def _forget(self, name: str) -> None:
        with self._lock:
            self._collections.pop(name, None)

    # ---- lifecycle -------------------------------------------------------
    def save(self) -> None:
        with self._lock:
            for c in list(self._collections.values()):
                c.save()

    def close(self, save: bool = True) -> None:
        """Save the index caches (unless `save` is False: the files on disk are no longer this database's)."""
        if self._closed:
            return
        if save:
            self.save()
        self.store.close()
        self._closed = True

    def disk_usage(self) -> int:
        return sum(p.stat().st_size for p in self.directory.rglob("*") if p.is_file())


def _index_config(index: str | dict) -> dict:
    return parse_config(index)


def _prepare_dir(path) -> Path:
    if not isinstance(path, (str, os.PathLike)) or not str(path).strip():
        raise StorageError("path: must be a directory path", argument="path")
    p = Path(path).expanduser()
    if p.exists() and not p.is_dir():
        raise StorageError(f"path: {str(p)!r} exists and is not a directory", argument="path")
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
