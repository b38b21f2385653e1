"""MilvusDatabase: the Database interface over one Milvus (Lite, Standalone or Distributed).

Each vecdb collection is one Milvus collection with fields id (VARCHAR primary key), vector
(FLOAT_VECTOR, inner product), text (VARCHAR), metadata (nullable JSON) and hash (the content hash).
The embedding spec and the index settings are stored in the collection's properties
(`vecdb.spec`, `vecdb.index`), so every client enforces the same spec.
"""
from __future__ import annotations

import json
import logging
import threading

from .. import validate
from ..embed import DEFAULT_MODEL, Embedder, EmbedderOptions, load_embedder
from ..errors import CollectionExists, CollectionNotFound, StorageError, Unsupported
from .collection import MilvusCollection
from .uri import MilvusTarget, parse

SPEC_KEY, INDEX_KEY = "vecdb.spec", "vecdb.index"
ID_LEN, TEXT_LEN, HASH_LEN = validate.MAX_ID_LEN * 4, 65535, 64
# vecdb index name -> Milvus index type. Lite builds FLAT/IVF_FLAT/AUTOINDEX; servers also HNSW etc.
INDEX_TYPES = {"flat": "FLAT", "ivf": "IVF_FLAT", "hnsw": "HNSW", "autoindex": "AUTOINDEX"}
INDEX_PARAMS = {"nlist": int, "M": int, "efConstruction": int}


class MilvusDatabase:
    def __init__(self, target: MilvusTarget | str, device: str | None = None):
        from pymilvus import MilvusClient

        logging.getLogger("pymilvus").setLevel(logging.CRITICAL)  # errors are raised, not logged
        self.target = parse(target) if isinstance(target, str) else target
        self.device = device
        self.directory = self.target.display()  # shown by `vecdb info`
        self.consistency = self.target.options.get("consistency", "Strong")
        try:
            kwargs = {"uri": self.target.uri}
            if self.target.token:
                kwargs["token"] = self.target.token
            if self.target.db_name:
                kwargs["db_name"] = self.target.db_name
            self.client = MilvusClient(**kwargs)
        except Exception as e:
            raise StorageError(f"uri: cannot connect to Milvus at {self.directory!r}: {_msg(e)}", argument="uri") from None
        self._collections: dict[str, MilvusCollection] = {}
        self._lock = threading.RLock()
        self._closed = False

    def __enter__(self) -> "MilvusDatabase":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"MilvusDatabase({self.directory!r})"

    # ---- collections -----------------------------------------------------
    def create_collection(self, name: str, model: str = DEFAULT_MODEL, *, pooling: str | None = None,
                          embedder: Embedder | None = None, index: str | dict | None = None, exist_ok: bool = False,
                          **embedder_options) -> MilvusCollection:
        from pymilvus import DataType

        validate.collection_name(name)
        with self._lock:
            if self.client.has_collection(name):
                if exist_ok:
                    return self.get_collection(name, model=model if model != DEFAULT_MODEL else None,
                                               pooling=pooling, embedder=embedder, **embedder_options)
                raise CollectionExists(f"name: collection {name!r} already exists", argument="name")
            if embedder is None:
                embedder = load_embedder(EmbedderOptions(model=model, pooling=pooling).merged(**embedder_options),
                                         device=self.device)
            if embedder.spec.pooling_weights_hash:
                raise Unsupported("pooling: trainable pooling layers are kept in a local database folder; "
                                  "use a local database for them", argument="pooling")
            config = self._index_config(index)
            schema = self.client.create_schema(auto_id=False, enable_dynamic_field=False)
            schema.add_field("id", DataType.VARCHAR, is_primary=True, max_length=ID_LEN)
            schema.add_field("vector", DataType.FLOAT_VECTOR, dim=embedder.spec.dim)
            schema.add_field("text", DataType.VARCHAR, max_length=TEXT_LEN)
            schema.add_field("metadata", DataType.JSON, nullable=True)
            schema.add_field("hash", DataType.VARCHAR, max_length=HASH_LEN)
            params = self.client.prepare_index_params()
            params.add_index("vector", index_type=INDEX_TYPES[config["type"]], metric_type="IP",
                             params={k: v for k, v in config.items() if k != "type"})
            try:
                self.client.create_collection(name, schema=schema, index_params=params,
                                              consistency_level=self.consistency,
                                              properties={SPEC_KEY: embedder.spec.to_json(),
                                                          INDEX_KEY: json.dumps(config, sort_keys=True)})
            except Exception as e:
                raise StorageError(f"collection: Milvus refused to create {name!r}: {_msg(e)}",
                                   argument="collection") from None
            coll = MilvusCollection(self, name, embedder.spec.to_json(), config, embedder)
            self._collections[name] = coll
            return coll

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

    def get_collection(self, name: str, model: str | None = None, *, pooling: str | None = None,
                       embedder: Embedder | None = None, **embedder_options) -> MilvusCollection:
        validate.collection_name(name)
        with self._lock:
            props = self._properties(name)
            coll = self._collections.get(name)
            if coll is None or coll.spec.to_json() != props[SPEC_KEY]:
                coll = MilvusCollection(self, name, props[SPEC_KEY], json.loads(props.get(INDEX_KEY, '{"type":"flat"}')))
                self._collections[name] = coll
        explicit = {k: v for k, v in dict(model=model, pooling=pooling, **embedder_options).items() if v is not None}
        if embedder is not None:
            coll.check_embedder(embedder)
        elif explicit:
            emb = load_embedder(EmbedderOptions.from_spec(coll.spec).merged(**explicit), device=self.device)
            coll.check_embedder(emb)
        return coll

    def _properties(self, name: str) -> dict:
        if not self.client.has_collection(name):
            self._collections.pop(name, None)
            names = [c["name"] for c in self.list_collections()]
            raise CollectionNotFound(f"collection: no collection named {name!r}"
                                     + (f"; existing: {', '.join(names)}" if names else ""), argument="collection")
        props = self.client.describe_collection(name).get("properties", {})
        if SPEC_KEY not in props:
            raise CollectionNotFound(f"collection: Milvus collection {name!r} was not made by vecdb (no {SPEC_KEY} "
                                     "property)", argument="collection")
        state = self.client.get_load_state(name).get("state")
        if getattr(state, "name", str(state)) != "Loaded":
            self.client.load_collection(name)
        return props

    def get_or_create_collection(self, name: str, model: str = DEFAULT_MODEL, **kwargs) -> MilvusCollection:
        return self.create_collection(name, model, exist_ok=True, **kwargs)

    def has_collection(self, name: str) -> bool:
        validate.collection_name(name)
        return self.client.has_collection(name) and SPEC_KEY in self.client.describe_collection(name).get(
            "properties", {})

    def list_collections(self) -> list[dict]:
        out = []
        for name in sorted(self.client.list_collections()):
            props = self.client.describe_collection(name).get("properties", {})
            if SPEC_KEY not in props:
                continue
            spec = json.loads(props[SPEC_KEY])
            coll = self.get_collection(name)
            out.append({"name": name, "count": coll.count(), "model": spec["model"], "pooling": spec["pooling"],
                        "dim": spec["dim"], "index": coll.index_config.get("type", "flat"), "created_at": None})
        return out

    def drop_collection(self, name: str) -> None:
        validate.collection_name(name)
        with self._lock:
            self._properties(name)
            self.client.drop_collection(name)
            self._collections.pop(name, None)

    def reembed(self, name: str, *args, **kwargs):
        raise Unsupported("backend: reembed runs on local databases; export to local, reembed, import back",
                          argument="backend")

    def pooler_dir(self, weights_hash):
        return None

    # ---- lifecycle -------------------------------------------------------
    def save(self) -> None:
        """Milvus persists on its own; flush makes sealed segments durable on a server."""
        if not self._closed and not self.target.lite:
            for name in list(self._collections):
                self.client.flush(name)

    def close(self) -> None:
        if self._closed:
            return
        self.save()
        self.client.close()
        self._closed = True

    def disk_usage(self) -> int:
        if not self.target.lite:
            return 0
        from pathlib import Path

        p = Path(self.target.uri)
        return sum(f.stat().st_size for f in p.rglob("*") if f.is_file()) if p.is_dir() else (
            p.stat().st_size if p.exists() else 0)


def _msg(e: Exception) -> str:
    return " ".join(str(getattr(e, "message", None) or e).split())[:300]
