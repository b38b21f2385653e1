"""MilvusDatabase: the Database interface over one Milvus (Lite, Standalone or Distributed).

Each vecdb collection is one Milvus collection (fields: see milvus/collection.py). The embedding
spec, the index settings and the schema version are kept in the collection's properties, so every
client enforces the same spec. Supported: Milvus servers 2.3 and newer (tested on 2.3.5 standalone)
and Milvus Lite (tested on 3.2); an older server is refused with its version named.
"""
from __future__ import annotations

import json
import logging
import re
import threading

from .. import validate
from ..database import Database
from ..errors import StorageError, Unsupported
from ..spec import EmbeddingSpec
from .collection import MilvusCollection
from .names import from_milvus, to_milvus
from .uri import MilvusTarget, parse

SPEC_KEY, INDEX_KEY, SCHEMA_KEY = "vecdb.spec", "vecdb.index", "vecdb.schema"
SCHEMA_VERSION = "2"
MIN_SERVER = (2, 3)
ID_LEN, TEXT_LEN, HASH_LEN, SOURCE_LEN = validate.MAX_ID_LEN * 4, 65535, 64, 4096
# vecdb index name -> Milvus index type. Lite builds FLAT/IVF_FLAT/AUTOINDEX; servers also HNSW etc.
INDEX_TYPES = {"flat": "FLAT", "ivf": "IVF_FLAT", "hnsw": "HNSW", "autoindex": "AUTOINDEX"}
INDEX_PARAMS = {"nlist": int, "M": int, "efConstruction": int}


class MilvusDatabase(Database):
    backend = "milvus"

    def __init__(self, location: str | MilvusTarget, device: str | None = None, create: bool = True):
        from pymilvus import MilvusClient

        logging.getLogger("pymilvus").setLevel(logging.CRITICAL)  # errors are raised, not logged
        self.target = location if isinstance(location, MilvusTarget) else parse(location, "milvus")
        super().__init__(self.target.display(), device)
        self.consistency = self.target.options.get("consistency", "Strong")
        if self.target.lite and not create:
            from pathlib import Path

            if not Path(self.target.uri).exists():
                raise StorageError(f"db: no database at {self.target.uri}", argument="db")
        try:
            kwargs = {"uri": self.target.uri}
            if self.target.token:
                kwargs["token"] = self.target.token
            if self.target.db_name:
                kwargs["db_name"] = self.target.db_name
            if self.target.lite:
                _hold_lite(self.target.uri)
            self.client = MilvusClient(**kwargs)
            self.server_version = str(self.client.get_server_version())
        except Exception as e:
            if self.target.lite:
                _release_lite(self.target.uri)
            raise StorageError(f"uri: cannot connect to Milvus at {self.location!r}: {_msg(e)}", argument="uri") from None
        check_version(self.server_version, self.location)

    def call(self, method: str, *args, **kwargs):
        """A client call; Milvus errors become StorageError naming the call and the collection."""
        try:
            return getattr(self.client, method)(*args, **kwargs)
        except Exception as e:
            target = f" on {args[0]!r}" if args and isinstance(args[0], str) else ""
            raise StorageError(f"collection: Milvus {method}{target} failed: {_msg(e)}", argument="collection") from None

    # ---- storage ---------------------------------------------------------------
    def _props(self, name: str) -> dict | None:
        mname = to_milvus(name)
        if not self.call("has_collection", mname):
            return None
        props = self.call("describe_collection", mname).get("properties", {})
        return props if SPEC_KEY in props else None

    def _exists(self, name: str) -> bool:
        return self._props(name) is not None

    def _create(self, name: str, spec: EmbeddingSpec, index, embedder) -> MilvusCollection:
        from pymilvus import DataType

        if spec.pooling_weights_hash:
            raise Unsupported("pooling: trainable pooling layers are kept in a local database folder; "
                              "use a local database for them", argument="pooling")
        mname = to_milvus(name)
        if self.call("has_collection", mname):
            raise StorageError(f"name: a Milvus collection {mname!r} exists that vecdb did not make", argument="name")
        config = self._index_config(index)
        schema = self.client.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("id", DataType.VARCHAR, is_primary=True, max_length=ID_LEN)
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=spec.dim)
        schema.add_field("text", DataType.VARCHAR, max_length=TEXT_LEN)
        schema.add_field("metadata", DataType.JSON)
        schema.add_field("has_metadata", DataType.BOOL)
        schema.add_field("hash", DataType.VARCHAR, max_length=HASH_LEN)
        schema.add_field("parent_id", DataType.VARCHAR, max_length=ID_LEN)
        schema.add_field("span_start", DataType.INT64)
        schema.add_field("span_end", DataType.INT64)
        schema.add_field("source", DataType.VARCHAR, max_length=SOURCE_LEN)
        schema.add_field("parent_hash", DataType.VARCHAR, max_length=HASH_LEN)
        params = self.client.prepare_index_params()
        params.add_index("vector", index_type=INDEX_TYPES[config["type"]], metric_type="IP",
                         params={k: v for k, v in config.items() if k != "type"})
        self.call("create_collection", mname, schema=schema, index_params=params, consistency_level=self.consistency,
                  properties={SPEC_KEY: spec.to_json(), INDEX_KEY: json.dumps(config, sort_keys=True),
                              SCHEMA_KEY: SCHEMA_VERSION})
        return MilvusCollection(self, name, spec, config, embedder)

    def _index_config(self, index) -> dict:
        opts = self.target.options
        if index is None or index == "flat":
            index = opts.get("index", "flat")
        config = {"type": index} if isinstance(index, str) else dict(index)
        config["type"] = str(config.get("type", "flat")).lower()
        if config["type"] not in INDEX_TYPES:
            raise validate.InvalidArgument(f"index: unknown type {config['type']!r} for Milvus; valid types: "
                                           f"{', '.join(INDEX_TYPES)}", argument="index")
        for key, cast in INDEX_PARAMS.items():
            if key in opts and key not in config:
                config[key] = cast(opts[key])
        if config["type"] == "ivf":
            config.setdefault("nlist", 1024)
        if config["type"] == "hnsw":
            config.setdefault("M", 16)
            config.setdefault("efConstruction", 200)
        return config

    def _open(self, name: str, cached: MilvusCollection | None) -> MilvusCollection | None:
        props = self._props(name)
        if props is None:
            return None
        if props.get(SCHEMA_KEY) != SCHEMA_VERSION:
            raise StorageError(f"collection: Milvus collection {name!r} was made by an older vecdb (schema "
                               f"{props.get(SCHEMA_KEY, '1')}); export it with that version and import it again",
                               argument="collection")
        state = self.call("get_load_state", to_milvus(name)).get("state")
        if getattr(state, "name", str(state)) != "Loaded":
            self.call("load_collection", to_milvus(name))
        if cached is not None and cached.spec.to_json() == props[SPEC_KEY]:
            return cached
        return MilvusCollection(self, name, EmbeddingSpec.from_json(props[SPEC_KEY]),
                                json.loads(props.get(INDEX_KEY, '{"type": "flat"}')))

    def _list(self) -> list[dict]:
        out = []
        for name in sorted(filter(None, map(from_milvus, self.call("list_collections")))):
            props = self._props(name)
            if props is None:
                continue
            spec = json.loads(props[SPEC_KEY])
            coll = self.get_collection(name)
            out.append({"name": name, "count": coll.count(), "model": spec["model"], "pooling": spec["pooling"],
                        "dim": spec["dim"], "index": coll.index_config.get("type", "flat"), "created_at": None,
                        "staging": name.startswith("__")})
        return out

    def _drop(self, name: str) -> None:
        self.call("drop_collection", to_milvus(name))

    def _replace(self, name: str, replacement: str, sync) -> None:
        # Milvus has no transaction across collections: the name is missing between the two renames.
        if sync is not None:
            sync()
        old, new, retired = to_milvus(name), to_milvus(replacement), to_milvus(f"__retired__{name}")
        if self.call("has_collection", retired):
            self.call("drop_collection", retired)
        self.call("rename_collection", old, retired)
        self.call("rename_collection", new, old)
        self.call("drop_collection", retired)  # a kill before this leaves __retired__NAME: `vecdb drop` removes it

    # ---- lifecycle ---------------------------------------------------------------
    def save(self) -> None:
        """Seal the collections' growing segments (a Milvus flush) on a server; nothing for Milvus Lite.

        Not needed for durability: an acknowledged insert is already in Milvus's write-ahead log, and
        Milvus seals segments on its own schedule (its docs advise relying on that). `close()` therefore
        does not flush: a flush per CLI call would cost ~2 s and leave many small segments."""
        if not self._closed and not self.target.lite:
            for name in map(to_milvus, list(self._collections)):
                if self.call("has_collection", name):
                    self.call("flush", name)

    def close(self, save: bool = False) -> None:
        """Close the connection; `save=True` flushes first (see save())."""
        super().close(save=save)

    def _close(self) -> None:
        self.client.close()
        if self.target.lite:
            _release_lite(self.target.uri)

    def disk_usage(self) -> int:
        if not self.target.lite:
            return 0
        from pathlib import Path

        p = Path(self.target.uri)
        return sum(f.stat().st_size for f in p.rglob("*") if f.is_file()) if p.is_dir() else (
            p.stat().st_size if p.exists() else 0)


# Milvus Lite runs in this process and locks its file until released; count our open handles per
# file so that closing the last one lets another process open the database.
_lite_handles: dict[str, int] = {}
_lite_lock = threading.Lock()


def _hold_lite(path: str) -> None:
    with _lite_lock:
        _lite_handles[path] = _lite_handles.get(path, 0) + 1


def _release_lite(path: str) -> None:
    with _lite_lock:
        _lite_handles[path] = _lite_handles.get(path, 1) - 1
        if _lite_handles[path] > 0:
            return
        del _lite_handles[path]
        try:
            from milvus_lite.server_manager import server_manager_instance
        except ImportError:  # an older milvus-lite keeps its own process
            return
        server_manager_instance.release_server(path)


def check_version(version: str, location: str) -> None:
    """Refuse Milvus servers older than MIN_SERVER, naming the version."""
    if version.startswith("milvus_lite"):
        return
    m = re.match(r"v?(\d+)\.(\d+)", version)
    if m is None:
        raise StorageError(f"uri: cannot tell the version of the Milvus server at {location!r} ({version!r})",
                           argument="uri")
    if (int(m.group(1)), int(m.group(2))) < MIN_SERVER:
        raise StorageError(f"uri: the Milvus server at {location!r} runs {version}; vecdb needs Milvus "
                           f"{MIN_SERVER[0]}.{MIN_SERVER[1]} or newer", argument="uri")


def _msg(e: Exception) -> str:
    return " ".join(str(getattr(e, "message", None) or e).split())[:300]
