"""RemoteCollection: a collection on a `vecdb serve` server, through its HTTP API.

It offers the subset of vecdb.Collection the integrations use (add, get, delete, search, similar,
count; search_vectors is Unsupported) with the same arguments and records (vecdb.Hit, vecdb.Document),
and raises the same error classes, rebuilt from the server's error codes. The server embeds with
the collection's own model.
"""
from __future__ import annotations

from typing import Sequence

import httpx
import numpy as np

import vecdb
from vecdb.limits import MAX_BATCH

ERRORS = {"spec_mismatch": vecdb.VecdbError, "already_exists": vecdb.CollectionExists,
          "model_not_found": vecdb.ModelNotAvailable, "collection_not_found": vecdb.CollectionNotFound,
          "not_found": vecdb.NotFound, "unsupported": vecdb.Unsupported, "invalid_filter": vecdb.InvalidFilter,
          "invalid_value": vecdb.InvalidArgument, "storage_unavailable": vecdb.StorageError}
FIELDS = ("text", "metadata")


class RemoteCollection:
    def __init__(self, url: str, name: str, *, model: str | None = None, create: bool = False,
                 api_key: str | None = None, timeout: float = 60.0):
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.client = httpx.Client(base_url=url.rstrip("/"), headers=headers, timeout=timeout)
        self.name = name
        self.path = f"/v1/collections/{name}"
        if create:
            body = {"name": name, "exist_ok": True, **({"model": model} if model else {})}
            self.info = self._call("POST", "/v1/collections", body)
        else:
            self.info = self._call("GET", self.path)

    def close(self) -> None:
        self.client.close()

    def drop(self) -> None:
        """Delete the collection on the server."""
        self._call("DELETE", self.path)

    def _call(self, method: str, path: str, body: dict | None = None) -> dict:
        try:
            r = self.client.request(method, path, json=body)
        except httpx.HTTPError as e:
            raise vecdb.StorageError(f"url: cannot reach the vecdb server ({type(e).__name__}: {e})",
                                     argument="url") from None
        if r.is_success:
            return r.json()
        try:
            err = r.json()["error"]
            message, code, param = err["message"], err.get("code"), err.get("param")
        except (ValueError, KeyError, TypeError):
            message, code, param = f"HTTP {r.status_code}: {r.text[:200]}", None, None
        cls = ERRORS.get(code, vecdb.InvalidArgument if r.status_code in (400, 422) else vecdb.VecdbError)
        raise cls(message, argument=param)

    # ---- the Collection subset ------------------------------------------------
    def count(self) -> int:
        return self._call("GET", self.path)["count"]

    def add(self, texts: Sequence[str], ids: Sequence[str | None] | None = None,
            metadata: Sequence[dict | None] | None = None, *, batch_size: int = MAX_BATCH, **_) -> vecdb.AddResult:
        ids = list(ids) if ids is not None else [None] * len(texts)
        metadata = list(metadata) if metadata is not None else [None] * len(texts)
        out = vecdb.AddResult()
        step = min(batch_size, MAX_BATCH)
        for start in range(0, len(texts), step):
            docs = [{"id": i, "text": t, "metadata": m} for i, t, m in
                    zip(ids[start:start + step], texts[start:start + step], metadata[start:start + step])]
            res = self._call("POST", f"{self.path}/documents", {"documents": docs})
            out.ids += res["ids"]
            for key in ("added", "updated", "metadata_updated", "unchanged", "embedded"):
                setattr(out, key, getattr(out, key) + res.get(key, 0))
        return out

    def get(self, ids: Sequence[str] | None = None, *, where: dict | None = None, limit: int | None = None,
            offset: int = 0, include: Sequence[str] = FIELDS) -> list[vecdb.Document]:
        if ids is not None:
            docs = []
            for start in range(0, len(ids), MAX_BATCH):
                docs += self._call("POST", f"{self.path}/documents/get",
                                   {"ids": list(ids[start:start + MAX_BATCH]), "include": list(include)})["documents"]
        else:
            body = {"where": where, "limit": limit, "offset": offset, "include": list(include)}
            docs = self._call("POST", f"{self.path}/documents/list", _given(body))["documents"]
        return [_document(d) for d in docs]

    def delete(self, ids: Sequence[str] | None = None, *, where: dict | None = None, dry_run: bool = False) -> int:
        if ids is None:
            return self._call("POST", f"{self.path}/documents/delete", {"where": where, "dry_run": dry_run})["deleted"]
        deleted = 0
        for start in range(0, len(ids), MAX_BATCH):
            deleted += self._call("POST", f"{self.path}/documents/delete",
                                  {"ids": list(ids[start:start + MAX_BATCH]), "dry_run": dry_run})["deleted"]
        return deleted

    def search(self, query: str, k: int = 10, where: dict | None = None, *, min_score: float | None = None,
               include: Sequence[str] = FIELDS) -> list[vecdb.Hit]:
        body = {"query": query, "k": k, "where": where, "min_score": min_score, "include": list(include)}
        return [_hit(h) for h in self._call("POST", f"{self.path}/search", _given(body))["hits"]]

    def search_vectors(self, vectors, k: int = 10, where: dict | None = None, **_) -> list[list[vecdb.Hit]]:
        raise vecdb.Unsupported("vectors: a vecdb server searches by text (it embeds with the collection's model); "
                                "search by vector with a local database", argument="vectors")

    def similar(self, id: str, k: int = 10, where: dict | None = None, *,  # noqa: A002
                min_score: float | None = None, include: Sequence[str] = FIELDS) -> list[vecdb.Hit]:
        body = {"id": id, "k": k, "where": where, "min_score": min_score, "include": list(include)}
        return [_hit(h) for h in self._call("POST", f"{self.path}/similar", _given(body))["hits"]]


def _given(body: dict) -> dict:
    return {k: v for k, v in body.items() if v is not None}


def _vector(d: dict):
    return np.asarray(d["vector"], dtype=np.float32) if d.get("vector") is not None else None


def _hit(d: dict) -> vecdb.Hit:
    return vecdb.Hit(d["id"], d["score"], d.get("text"), d.get("metadata"), vector=_vector(d))


def _document(d: dict) -> vecdb.Document:
    return vecdb.Document(d["id"], d.get("text"), d.get("metadata"), vector=_vector(d))
