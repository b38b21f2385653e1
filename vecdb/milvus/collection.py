"""MilvusCollection: the Collection interface (add/get/delete/count/search) stored in Milvus.

Upserts skip unchanged content by hash as locally; a metadata-only change rewrites the row with its
stored vector (nothing is re-embedded). Milvus has no multi-row transactions: a batch is one upsert.
"""
from __future__ import annotations

import json
from typing import TYPE_CHECKING, Callable, Sequence

import numpy as np

from .. import validate
from ..collection import AddResult, Document, Hit, _auto_ids, content_hash
from ..embed import Embedder, embedder_for_spec
from ..errors import SpecMismatch, StorageError, Unsupported
from ..filters import validate as validate_where
from ..spec import EmbeddingSpec
from ..store import dumps_metadata
from .filters import _quote, compile_where

if TYPE_CHECKING:
    from .store import MilvusDatabase

FIELDS = ["id", "text", "metadata", "hash"]
LOCAL_ONLY = {"rebuild_index", "index_path", "changes_since", "hybrid_search", "search_hybrid", "keyword_search"}


class MilvusCollection:
    def __init__(self, db: "MilvusDatabase", name: str, spec_json: str, index_config: dict,
                 embedder: Embedder | None = None):
        self.db = db
        self.client = db.client
        self.name = name
        self.spec = EmbeddingSpec.from_json(spec_json)
        self.index_config = index_config
        self._embedder = embedder

    def __repr__(self) -> str:
        return f"MilvusCollection({self.name!r}, model={self.spec.model!r}, pooling={self.spec.pooling!r})"

    def __getattr__(self, name: str):
        if name in LOCAL_ONLY:
            raise Unsupported(f"backend: {name} exists only for local collections, not on Milvus", argument="backend")
        raise AttributeError(name)

    # ---- embedder -------------------------------------------------------
    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            emb = embedder_for_spec(self.spec, device=self.db.device)
            self.check_embedder(emb)
            self._embedder = emb
        return self._embedder

    def check_embedder(self, embedder: Embedder) -> None:
        diffs = self.spec.diff(embedder.spec)
        if diffs:
            raise SpecMismatch(self.name, diffs)

    # ---- writes -----------------------------------------------------------
    def add(self, texts: Sequence[str] | str, ids: Sequence[str] | None = None,
            metadata: Sequence[dict | None] | dict | None = None, *, vectors: np.ndarray | None = None,
            batch_size: int = 256, progress: Callable[[int], None] | None = None) -> AddResult:
        """Upsert documents; same contract as Collection.add (vectors= stores precomputed embeddings)."""
        texts = validate.texts(texts)
        for i, t in enumerate(texts):
            if len(t.encode("utf-8")) > 65535:
                raise validate.InvalidArgument(f"texts[{i}]: Milvus stores at most 65535 bytes of text per document",
                                               argument="texts")
        hashes = [content_hash(t) for t in texts]
        auto = _auto_ids(hashes)
        ids = [a if i is None else i for i, a in zip(validate.ids(ids, len(texts), allow_none=True), auto)] \
            if ids is not None else auto
        validate.ids(ids)
        metas = [dumps_metadata(m) for m in validate.metadata(metadata, len(texts))]
        if batch_size <= 0:
            raise validate.InvalidArgument("batch_size: must be positive", argument="batch_size")
        if vectors is not None:
            vectors = np.asarray(vectors, dtype=np.float32)
            if vectors.shape != (len(texts), self.spec.dim) or not np.isfinite(vectors).all():
                raise validate.InvalidArgument(f"vectors: expected a finite array of shape ({len(texts)}, "
                                               f"{self.spec.dim}), got {vectors.shape}", argument="vectors")
        result = AddResult(ids=list(ids))
        for start in range(0, len(texts), batch_size):
            sl = slice(start, start + batch_size)
            b_ids, b_texts, b_metas, b_hashes = ids[sl], texts[sl], metas[sl], hashes[sl]
            last = {i: n for n, i in enumerate(b_ids)}  # a repeated id: the last one wins, as locally
            order = sorted(last.values())
            known = self._lookup([b_ids[n] for n in order])
            rows, need, keep_vec = [], [], []
            for n in order:
                old = known.get(b_ids[n])
                row = {"id": b_ids[n], "text": b_texts[n], "hash": b_hashes[n],
                       "metadata": None if b_metas[n] is None else json.loads(b_metas[n])}
                if old is not None and old[0] == b_hashes[n]:
                    if old[1] == b_metas[n]:
                        result.unchanged += 1
                        continue
                    result.metadata_updated += 1
                    keep_vec.append(row)
                else:
                    result.added += old is None
                    result.updated += old is not None
                    need.append((row, n))
                rows.append(row)
            if vectors is not None:
                for row, n in need:
                    row["vector"] = vectors[start + n].tolist()
            else:
                result.embedded += self._embed_into(need, b_texts)
            if keep_vec:
                stored = self._vectors([r["id"] for r in keep_vec])
                for r in keep_vec:
                    r["vector"] = stored[r["id"]]
            if rows:
                self._call("upsert", self.name, rows)
            if progress:
                progress(len(b_ids))
        return result

    def _embed_into(self, need: list, texts: list[str]) -> int:
        if not need:
            return 0
        unique: dict[str, int] = {}
        for row, _ in need:
            unique.setdefault(row["hash"], len(unique))
        batch = [None] * len(unique)
        for row, n in need:
            batch[unique[row["hash"]]] = texts[n]
        vecs = self.embedder.embed_documents(batch)
        for row, _ in need:
            row["vector"] = np.asarray(vecs[unique[row["hash"]]], dtype=np.float32).tolist()
        return len(batch)

    def delete(self, ids: Sequence[str] | str) -> int:
        ids = validate.ids(ids)
        deleted = 0
        for start in range(0, len(ids), 1000):
            chunk = list(dict.fromkeys(ids[start:start + 1000]))
            present = self._lookup(chunk)
            if present:
                self._call("delete", self.name, filter=_id_filter(list(present)))
            deleted += len(present)
        return deleted

    # ---- reads --------------------------------------------------------------
    def _lookup(self, ids: list[str]) -> dict[str, tuple[str, str | None]]:
        """{id: (hash, metadata JSON as stored locally)} for the ids that exist."""
        out = {}
        for start in range(0, len(ids), 1000):
            chunk = ids[start:start + 1000]
            for r in self._call("query", self.name, filter=_id_filter(chunk), output_fields=["id", "hash", "metadata"]):
                out[r["id"]] = (r["hash"], dumps_metadata(r.get("metadata")))
        return out

    def _vectors(self, ids: list[str]) -> dict[str, list[float]]:
        rows = self._call("query", self.name, filter=_id_filter(ids), output_fields=["id", "vector"])
        return {r["id"]: list(r["vector"]) for r in rows}

    def lookup_hashes(self, ids: Sequence[str]) -> dict[str, str]:
        """{id: content hash} for stored ids (used by import and Ray ingest to resume)."""
        return {i: v[0] for i, v in self._lookup(list(ids)).items()}

    def get(self, ids: Sequence[str] | str, include_vectors: bool = False) -> list[Document]:
        ids = validate.ids(ids)
        found = {}
        fields = FIELDS + (["vector"] if include_vectors else [])
        uniq = list(dict.fromkeys(ids))
        for start in range(0, len(uniq), 1000):
            for r in self._call("query", self.name, filter=_id_filter(uniq[start:start + 1000]), output_fields=fields):
                found[r["id"]] = r
        return [Document(i, found[i]["text"], found[i].get("metadata"),
                         np.asarray(found[i]["vector"], dtype=np.float32) if include_vectors else None)
                for i in ids if i in found]

    def iter_documents(self, chunk: int = 1000, with_vectors: bool = True):
        """Chunks of (id, text, metadata JSON, content hash, vector) over the whole collection."""
        fields = FIELDS + (["vector"] if with_vectors else [])
        it = self._call("query_iterator", self.name, batch_size=chunk, filter="", output_fields=fields)
        try:
            while True:
                rows = it.next()
                if not rows:
                    break
                yield [(r["id"], r["text"], dumps_metadata(r.get("metadata")), r["hash"],
                        np.asarray(r["vector"], dtype=np.float32) if with_vectors else None) for r in rows]
        finally:
            it.close()

    def count(self) -> int:
        res = self._call("query", self.name, filter="", output_fields=["count(*)"])
        return int(res[0]["count(*)"])

    def search(self, query: str, k: int = 10, where: dict | None = None, task: str | None = None) -> list[Hit]:
        if not isinstance(query, str):
            raise validate.InvalidArgument(f"query: must be a string, got {type(query).__name__}", argument="query")
        validate.queries([query], "query")
        return self.search_batch([query], k=k, where=where, task=task)[0]

    def search_batch(self, queries: Sequence[str], k: int = 10, where: dict | None = None,
                     task: str | None = None) -> list[list[Hit]]:
        queries = validate.queries(queries, "queries")
        validate.k(k)
        validate_where(where)
        return self.search_vectors(self.embedder.embed_queries(queries, task=task), k=k, where=where)

    def search_vectors(self, vectors: np.ndarray, k: int = 10, where: dict | None = None) -> list[list[Hit]]:
        validate.k(k)
        expr = compile_where(where)
        vectors = np.atleast_2d(np.asarray(vectors, dtype=np.float32))
        if vectors.shape[1] != self.spec.dim:
            raise validate.InvalidArgument(f"vectors: expected dimension {self.spec.dim}, got {vectors.shape[1]}",
                                           argument="vectors")
        params = {"metric_type": "IP"}
        if self.index_config.get("type") == "hnsw":
            params["params"] = {"ef": max(k, int(self.db.target.options.get("ef", 64)))}
        elif self.index_config.get("type") == "ivf":
            params["params"] = {"nprobe": int(self.db.target.options.get("nprobe", 16))}
        out = []
        for start in range(0, len(vectors), 256):
            res = self._call("search", self.name, data=[v.tolist() for v in vectors[start:start + 256]], limit=k,
                             filter=expr, output_fields=["text", "metadata"], search_params=params)
            for hits in res:
                out.append([Hit(h["id"], float(h["distance"]), h["entity"]["text"], h["entity"].get("metadata"))
                            for h in hits])
        return out

    def info(self) -> dict:
        desc = self.client.describe_collection(self.name)
        return {"name": self.name, "count": self.count(), "spec": json.loads(self.spec.to_json()),
                "index": {"type": self.index_config.get("type"), "backend": "milvus",
                          "consistency": desc.get("consistency_level_name", self.db.consistency)},
                "index_config": self.index_config}

    def check(self) -> dict:
        n = self.count()
        return {"ok": True, "index": n, "stored": n, "missing_from_index": 0, "extra_in_index": 0}

    def save(self) -> None:
        pass

    def _call(self, method: str, *args, **kwargs):
        try:
            return getattr(self.client, method)(*args, **kwargs)
        except Exception as e:
            from .store import _msg

            raise StorageError(f"collection: Milvus {method} on {self.name!r} failed: {_msg(e)}",
                               argument="collection") from None


def _id_filter(ids: list[str]) -> str:
    return f"id in [{', '.join(_quote(i) for i in ids)}]"
