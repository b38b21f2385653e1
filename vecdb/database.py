"""Database: the collections of one backend. Shared logic here; storage in the backends.

A backend (vecdb/local, vecdb/milvus) subclasses Database and supplies the storage methods at the
bottom; `vecdb.open()` picks the backend through the registry in vecdb/backends.py.
"""
from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Callable, ClassVar

from . import validate
from .collection import Collection
from .errors import CollectionExists, CollectionNotFound, InvalidArgument
from .spec import EmbeddingSpec

if TYPE_CHECKING:
    from .embed import Embedder

DEFAULT_MODEL = "minilm"  # the same name vecdb.embed.DEFAULT_MODEL holds (checked by a test)


class Database(ABC):
    backend: ClassVar[str] = ""

    def __init__(self, location: str, device: str | None = None, create: bool = True):
        self.location = location     # shown by `vecdb info`
        self.device = device
        self._collections: dict[str, Collection] = {}
        self._lock = threading.RLock()
        self._closed = False

    def __enter__(self) -> "Database":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.location!r})"

    # ---- collections -----------------------------------------------------
    def create_collection(self, name: str, model: str = DEFAULT_MODEL, *, pooling: str | None = None,
                          embedder: "Embedder | None" = None, spec: EmbeddingSpec | None = None,
                          index: str | dict | None = None, exist_ok: bool = False,
                          **embedder_options) -> Collection:
        """Create a collection; its embedding spec is recorded now and enforced from then on.

        `embedder` gives a loaded embedder; `spec` a recorded spec (the model then loads on first use)."""
        validate.collection_name(name, allow_internal=True)
        with self._lock:
            if self._exists(name):
                if exist_ok:
                    return self.get_collection(name, model=model if model != DEFAULT_MODEL else None,
                                               pooling=pooling, embedder=embedder, **embedder_options)
                raise CollectionExists(f"name: collection {name!r} already exists", argument="name")
            if spec is not None and (embedder is not None or embedder_options or pooling):
                raise InvalidArgument("spec: give a spec or embedder options, not both", argument="spec")
            if spec is None:
                if embedder is None:
                    embedder = self._load_embedder(model, pooling, embedder_options)
                spec = embedder.spec
            coll = self._create(name, spec, index, embedder)
            self._collections[name] = coll
            return coll

    def get_collection(self, name: str, model: str | None = None, *, pooling: str | None = None,
                       embedder: "Embedder | None" = None, **embedder_options) -> Collection:
        """An existing collection. Giving a model, pooling or other options checks them against its spec."""
        validate.collection_name(name, allow_internal=True)
        with self._lock:
            coll = self._open(name, self._collections.get(name))
            if coll is None:
                self._collections.pop(name, None)
                names = self.collection_names()
                raise CollectionNotFound(f"collection: no collection named {name!r}"
                                         + (f"; existing: {', '.join(names)}" if names else ""), argument="collection")
            self._collections[name] = coll
        explicit = {k: v for k, v in dict(model=model, pooling=pooling, **embedder_options).items() if v is not None}
        if embedder is not None:
            coll.check_embedder(embedder)
        elif explicit:
            from .embed import EmbedderOptions, load_embedder
            from .embed.external import refuse_loading

            refuse_loading(coll.spec)  # an external embedder's collection takes only that embedder

            options = EmbedderOptions.from_spec(coll.spec, self.pooler_path(coll.spec)).merged(**explicit)
            coll.check_embedder(load_embedder(options, device=self.device))
        return coll

    def get_or_create_collection(self, name: str, model: str = DEFAULT_MODEL, **kwargs) -> Collection:
        return self.create_collection(name, model, exist_ok=True, **kwargs)

    def has_collection(self, name: str) -> bool:
        return self._exists(validate.collection_name(name, allow_internal=True))

    def collection_names(self) -> list[str]:
        return [c["name"] for c in self.list_collections()]

    def list_collections(self) -> list[dict]:
        """{"name", "count", "model", "pooling", "dim", "index", "created_at", "staging"} per collection."""
        return self._list()

    def drop_collection(self, name: str) -> None:
        validate.collection_name(name, allow_internal=True)
        with self._lock:
            if not self._exists(name):
                raise CollectionNotFound(f"collection: no collection named {name!r}", argument="collection")
            self._drop(name)
            self._collections.pop(name, None)

    def replace_collection(self, name: str, replacement: str, sync: Callable[[], object] | None = None) -> Collection:
        """Give collection `replacement`'s contents the name `name` (dropping the old `name`), in one
        step where the backend allows it (local: one transaction; readers see the old or the new
        collection). `sync` runs just before the switch, under the backend's write lock where it has one,
        so that no write to the old collection is missed."""
        validate.collection_name(name)
        validate.collection_name(replacement, allow_internal=True)
        with self._lock:
            for n in (name, replacement):
                if not self._exists(n):
                    raise CollectionNotFound(f"collection: no collection named {n!r}", argument="collection")
            staged = self._collections.pop(replacement, None)
            if staged is not None:
                staged.save()  # the local index file travels with the rows
            self._replace(name, replacement, sync)
            self._collections.pop(name, None)
        return self.get_collection(name)

    def reembed(self, name: str, model: str | None = None, *, pooling: str | None = None,
                embedder: "Embedder | None" = None, batch_size: int = 256, progress=None, **embedder_options):
        """Move a collection to a new embedding spec; see vecdb.reembed."""
        from .reembed import reembed

        return reembed(self, name, model=model, pooling=pooling, embedder=embedder, batch_size=batch_size,
                       progress=progress, **embedder_options)

    def reindex(self, name: str, index: str | dict) -> Collection:
        """Change a collection's index type or parameters (rebuilt from the stored vectors)."""
        coll = self.get_collection(name)
        coll.require("reindex", "index")
        with self._lock:
            self._reindex(coll, index)
        return coll

    # ---- embedders ---------------------------------------------------------
    def embedder_for(self, spec: EmbeddingSpec) -> "Embedder":
        """The embedder a stored spec names (loaded once per process)."""
        from .embed import embedder_for_spec
        from .embed.external import refuse_loading

        refuse_loading(spec)
        return embedder_for_spec(spec, device=self.device, pooler_path=self.pooler_path(spec))

    def pooler_path(self, spec: EmbeddingSpec) -> str | None:
        """Where this database keeps a spec's trainable pooling layer, if it has one."""
        return None

    def _load_embedder(self, model: str, pooling: str | None, options: dict) -> "Embedder":
        from .embed import EmbedderOptions, load_embedder

        return load_embedder(EmbedderOptions(model=model, pooling=pooling).merged(**options), device=self.device)

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
        self._close()
        self._closed = True

    @property
    def closed(self) -> bool:
        return self._closed

    def disk_usage(self) -> int:
        """Bytes this database takes on local disk (0 for a remote server)."""
        return 0

    # ---- storage: what a backend supplies -------------------------------------
    @abstractmethod
    def _exists(self, name: str) -> bool: ...

    @abstractmethod
    def _create(self, name: str, spec: EmbeddingSpec, index: str | dict | None,
                embedder: "Embedder | None") -> Collection: ...

    @abstractmethod
    def _open(self, name: str, cached: Collection | None) -> Collection | None:
        """The collection `name` (the cached object when it is still current), or None."""

    @abstractmethod
    def _list(self) -> list[dict]: ...

    @abstractmethod
    def _drop(self, name: str) -> None: ...

    @abstractmethod
    def _replace(self, name: str, replacement: str, sync: Callable[[], object] | None) -> None: ...

    def _reindex(self, coll: Collection, index: str | dict) -> None:
        raise NotImplementedError

    @abstractmethod
    def _close(self) -> None: ...

