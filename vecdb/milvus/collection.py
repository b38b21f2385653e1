"""MilvusCollection: the Collection interface stored in one Milvus collection.

Upserts skip unchanged content by hash as locally; a metadata-only change rewrites the row with its
stored vector (nothing is re-embedded). Milvus has no multi-row transactions: a batch is one upsert,
then one delete of the rows it replaces, so a kill in between can leave stale chunks that the next
add of the same document removes. Fields are never null (Milvus 2.3 rejects null JSON): no metadata
is stored as {} with has_metadata false, no parent as "" and no span as -1.
"""
from __future__ import annotations

import json
from typing import Iterator, Sequence

import numpy as np

from ..collection import Collection
from ..records import Document, DocWrite, Hit, ParentWrite, Stored, WriteCounts, dumps_metadata
from .filters import compile_where, id_filter
from .names import to_milvus

ROW_FIELDS = ["id", "text", "metadata", "has_metadata", "hash", "parent_id", "span_start", "span_end", "source",
              "parent_hash"]
PAGE = 1000            # ids per query expression
MAX_WINDOW = 16384     # Milvus caps limit + offset of one query


class MilvusCollection(Collection):
    backend = "milvus"
    capabilities = frozenset()
    max_text_bytes = 65535  # the VARCHAR field's limit

    def __init__(self, db, name: str, spec, index_config: dict, embedder=None):
        super().__init__(db, name, spec, index_config, embedder)
        self.mname = to_milvus(name)  # the Milvus collection's own name

    # ---- storage ---------------------------------------------------------------
    def _rows(self, ids: list[str], fields: list[str]) -> dict[str, dict]:
        out = {}
        uniq = list(dict.fromkeys(ids))
        for start in range(0, len(uniq), PAGE):
            for r in self.db.call("query", self.mname, filter=id_filter("id", uniq[start:start + PAGE]),
                                  output_fields=fields):
                out[r["id"]] = r
        return out

    def _lookup(self, ids: list[str]) -> dict[str, Stored]:
        return {i: Stored(r["hash"], _meta_json(r)) for i, r in self._rows(ids, ["id", "hash", "metadata",
                                                                                   "has_metadata"]).items()}

    def _write(self, writes: Sequence[DocWrite], deletes: Sequence[str], replace: Sequence[str],
               parents: Sequence[ParentWrite]) -> WriteCounts:
        counts = WriteCounts()
        last = {w.doc_id: w for w in writes}  # a repeated id: the last one wins, as locally
        known = self._rows(list(last), ROW_FIELDS)
        missing = [i for i, w in last.items() if w.vector is None and
                   (i not in known or known[i]["hash"] != w.content_hash)]
        if missing:
            return WriteCounts(missing_vectors=missing)
        phash = {p.parent_id: p.content_hash for p in parents}
        rows, keep_vector = [], []
        for i, w in last.items():
            row = _row(w, phash.get(w.parent_id or "", ""))
            old = known.get(i)
            if old is not None and old["hash"] == w.content_hash:
                if all(old[f] == row[f] for f in ROW_FIELDS[2:]):
                    counts.unchanged += 1
                    continue
                counts.metadata_only += 1
                keep_vector.append(row)
            else:
                counts.inserted += old is None
                counts.replaced += old is not None
                row["vector"] = np.asarray(w.vector, dtype=np.float32).tolist()
            rows.append(row)
        if keep_vector:
            stored = self._rows([r["id"] for r in keep_vector], ["id", "vector"])
            for r in keep_vector:
                r["vector"] = list(stored[r["id"]]["vector"])
        if rows:
            self.db.call("upsert", self.mname, rows)
        gone = set(self._rows(list(deletes), ["id"])) if deletes else set()
        if replace:
            for start in range(0, len(replace), PAGE):
                part = list(replace[start:start + PAGE])
                expr = f"({id_filter('parent_id', part)}) or ({id_filter('id', part)})"
                gone.update(r["id"] for r in self.db.call("query", self.mname, filter=expr, output_fields=["id"])
                            if r["id"] not in last)
        gone = sorted(gone - set(last))
        for start in range(0, len(gone), PAGE):
            self.db.call("delete", self.mname, filter=id_filter("id", gone[start:start + PAGE]))
        counts.deleted = len(gone)
        return counts

    def _fetch(self, ids: list[str], vectors: bool) -> dict[str, Document]:
        fields = ROW_FIELDS + (["vector"] if vectors else [])
        return {i: _document(r, vectors) for i, r in self._rows(ids, fields).items()}

    def _list(self, where: dict | None, limit: int | None, offset: int, vectors: bool) -> list[Document]:
        fields = ROW_FIELDS + (["vector"] if vectors else [])
        expr = compile_where(where)
        if limit is not None and limit + offset <= MAX_WINDOW:
            rows = self.db.call("query", self.mname, filter=expr, output_fields=fields, limit=limit, offset=offset)
            return [_document(r, vectors) for r in sorted(rows, key=lambda r: r["id"])]
        rows = sorted((r for part in self._scan(expr, fields) for r in part), key=lambda r: r["id"])
        rows = rows[offset:] if limit is None else rows[offset:offset + limit]
        return [_document(r, vectors) for r in rows]

    def _scan(self, expr: str, fields: list[str], batch: int = 1000) -> Iterator[list[dict]]:
        it = self.db.call("query_iterator", self.mname, batch_size=batch, filter=expr, output_fields=fields)
        try:
            while True:
                rows = it.next()
                if not rows:
                    break
                yield rows
        finally:
            it.close()

    def _count(self) -> int:
        res = self.db.call("query", self.mname, filter="", output_fields=["count(*)"])
        return int(res[0]["count(*)"])

    def _iter(self, batch_size: int, vectors: bool) -> Iterator[list[Document]]:
        fields = ROW_FIELDS + (["vector"] if vectors else [])
        for rows in self._scan("", fields, batch_size):
            yield [_document(r, vectors) for r in rows]

    def _search(self, vectors: np.ndarray, k: int, where: dict | None) -> list[list[Hit]]:
        expr = compile_where(where)
        params = {"metric_type": "IP"}
        kind = self.index_config.get("type")
        if kind == "hnsw":
            params["params"] = {"ef": max(k, int(self.db.target.options.get("ef", 64)))}
        elif kind == "ivf":
            params["params"] = {"nprobe": int(self.db.target.options.get("nprobe", 16))}
        out = []
        for start in range(0, len(vectors), 256):
            res = self.db.call("search", self.mname, data=[v.tolist() for v in vectors[start:start + 256]], limit=k,
                               filter=expr, output_fields=ROW_FIELDS[1:], search_params=params)
            for hits in res:
                out.append([_hit(h) for h in hits])
        return out

    def _parents(self, parent_ids: list[str]) -> dict[str, str]:
        out = {}
        uniq = list(dict.fromkeys(parent_ids))
        for start in range(0, len(uniq), PAGE):
            for r in self.db.call("query", self.mname, filter=id_filter("parent_id", uniq[start:start + PAGE]),
                                  output_fields=["parent_id", "parent_hash"]):
                out[r["parent_id"]] = r["parent_hash"]
        return out

    def _info(self) -> dict:
        desc = self.db.call("describe_collection", self.mname)
        return {"type": self.index_config.get("type"), "backend": "milvus",
                "consistency": desc.get("consistency_level_name", self.db.consistency),
                "server_version": self.db.server_version}

    def _check(self) -> dict:
        n = self.count()
        return {"ok": True, "index": n, "stored": n, "missing_from_index": 0, "extra_in_index": 0}


def _row(w: DocWrite, parent_hash: str) -> dict:
    meta = json.loads(w.metadata) if w.metadata is not None else None
    return {"id": w.doc_id, "text": w.text, "metadata": meta if meta is not None else {},
            "has_metadata": meta is not None, "hash": w.content_hash, "parent_id": w.parent_id or "",
            "span_start": w.span[0] if w.span else -1, "span_end": w.span[1] if w.span else -1,
            "source": w.source or "", "parent_hash": parent_hash if w.parent_id else ""}


def _meta(r: dict) -> dict | None:
    return r.get("metadata") if r.get("has_metadata") else None


def _meta_json(r: dict) -> str | None:
    return dumps_metadata(_meta(r))


def _chunk(r: dict) -> tuple:
    span = (r["span_start"], r["span_end"]) if r.get("span_start", -1) >= 0 else None
    return r.get("parent_id") or None, span, r.get("source") or None


def _document(r: dict, vectors: bool) -> Document:
    vec = np.asarray(r["vector"], dtype=np.float32) if vectors else None
    return Document(r["id"], r["text"], _meta(r), vec, *_chunk(r))


def _hit(h: dict) -> Hit:
    e = h["entity"]
    return Hit(h["id"], float(h["distance"]), e["text"], _meta(e), *_chunk(e))
