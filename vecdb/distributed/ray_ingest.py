"""Corpus-scale embedding on a Ray cluster: Ray Data reads the input, a pool of embedding actors
(each loads the collection's model once, one GPU each where there are GPUs) embeds it, and the
driver writes the rows to the collection's backend (local or Milvus) in batches with add(vectors=).

Resumable: before anything is embedded, ids already stored with the same content hash are dropped
(a changed metadata value is written without embedding). JSONL is read line by line (read_text +
json.loads) so metadata objects keep exactly their keys; .json arrays go through read_json and
Parquet through read_parquet.
"""
from __future__ import annotations

import json
import logging
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np

from ..errors import InvalidArgument
from ..records import content_hash, dumps_metadata

SUFFIXES = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".parquet": "parquet"}


@dataclass
class IngestResult:
    read: int = 0
    skipped: int = 0            # already stored with the same hash and metadata
    metadata_updated: int = 0   # same text, new metadata: written without embedding
    embedded: int = 0
    written: int = 0            # added or replaced
    failed: int = 0
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)

    @property
    def docs_per_s(self) -> float:
        return self.embedded / self.seconds if self.seconds else 0.0

    def to_dict(self) -> dict:
        return {"read": self.read, "skipped": self.skipped, "metadata_updated": self.metadata_updated,
                "embedded": self.embedded, "written": self.written, "failed": self.failed,
                "seconds": round(self.seconds, 2), "docs_per_s": round(self.docs_per_s, 1), "errors": self.errors[:5]}


def input_files(paths: Sequence[str | Path]) -> dict[str, list[str]]:
    """{'jsonl'|'json'|'parquet': [files]} from files and folders (searched recursively)."""
    out: dict[str, list[str]] = {}
    for p in map(Path, paths):
        if p.is_dir():
            files = sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in SUFFIXES)
        elif p.is_file():
            if p.suffix.lower() not in SUFFIXES:
                raise InvalidArgument(f"paths: {str(p)!r} is not .jsonl, .json or .parquet", argument="paths")
            files = [p]
        else:
            raise InvalidArgument(f"paths: {str(p)!r} does not exist", argument="paths")
        for f in files:
            out.setdefault(SUFFIXES[f.suffix.lower()], []).append(str(f.resolve()))
    if not out:
        raise InvalidArgument("paths: no .jsonl, .json or .parquet files found", argument="paths")
    return out


def _prepare(batch, text_field: str, id_field: str, metadata_field: str) -> dict:
    """Raw records -> id, text, metadata (canonical JSON), hash, error. Bad records get an error."""
    import pandas as pd

    records = batch.to_dict("records")
    out = {"id": [], "text": [], "metadata": [], "hash": [], "error": []}
    for rec in records:
        err = ""
        if "_line" in rec:
            try:  # a JSONL line read as text
                rec = json.loads(rec["_line"])
                if not isinstance(rec, dict):
                    raise ValueError("not a JSON object")
            except ValueError as e:
                rec, err = {}, f"bad JSON line: {e}"
        text = rec.get(text_field)
        if not err and (not isinstance(text, str) or not text.strip()):
            err = f"no non-empty string field {text_field!r}"
        meta = rec.get(metadata_field)
        if isinstance(meta, str):
            try:
                meta = json.loads(meta)
            except ValueError:
                meta = None
        if meta is not None and not isinstance(meta, dict):
            meta = None
        if isinstance(meta, dict):
            meta = {k: v for k, v in meta.items() if v is not None}  # Parquet structs fill missing keys
        text = text if isinstance(text, str) else ""
        h = content_hash(text)
        doc_id = rec.get(id_field)
        out["id"].append(str(doc_id) if doc_id is not None and not (isinstance(doc_id, float) and doc_id != doc_id)
                         else h[:16])
        out["text"].append(text)
        out["metadata"].append(dumps_metadata(meta) if meta else None)
        out["hash"].append(h)
        out["error"].append(err)
    return pd.DataFrame(out)


class Embed:
    """A Ray actor: loads the collection's embedder once, then embeds batches."""

    def __init__(self, spec_json: str, device: str | None, pooler_path: str | None):
        from ..embed import embedder_for_spec
        from ..spec import EmbeddingSpec

        spec = EmbeddingSpec.from_json(spec_json)
        self.embedder = embedder_for_spec(spec, device=device, pooler_path=pooler_path)
        diffs = spec.diff(self.embedder.spec)
        if diffs:
            raise RuntimeError(f"embedder on this worker differs from the collection spec: {diffs}")
        self.dim = spec.dim

    def __call__(self, batch):
        texts = list(batch["text"])
        errors = list(batch["error"])
        vecs = np.zeros((len(texts), self.dim), np.float32)
        ok = [i for i, e in enumerate(errors) if not e]
        try:
            if ok:
                vecs[ok] = self.embedder.embed_documents([texts[i] for i in ok])
        except Exception:  # find the documents that fail, keep the rest
            for i in ok:
                try:
                    vecs[i] = self.embedder.embed_documents([texts[i]])[0]
                except Exception as e:
                    errors[i] = f"embedding failed: {type(e).__name__}: {e}"
        batch = batch.copy()
        batch["vector"] = list(vecs)
        batch["error"] = errors
        return batch


def _clean(b):
    """Missing metadata comes back from Arrow as NA: make it None."""
    import pandas as pd

    b = b.copy()
    b["metadata"] = pd.Series([m if isinstance(m, str) else None for m in b["metadata"]], dtype=object, index=b.index)
    return b


def _dataset(paths=None, items=None):
    import ray.data

    if items is not None:
        return ray.data.from_items([{"_line": json.dumps(r)} for r in items])
    parts = []
    for kind, files in input_files(paths).items():
        if kind == "jsonl":
            parts.append(ray.data.read_text(files).rename_columns({"text": "_line"}))
        elif kind == "json":
            parts.append(ray.data.read_json(files))
        else:
            parts.append(ray.data.read_parquet(files))
    return parts[0] if len(parts) == 1 else parts[0].union(*parts[1:])


def ingest(coll, paths: Sequence[str | Path] | None = None, *, items: Iterable[dict] | None = None,
           address: str | None = None, text_field: str = "text", id_field: str = "id",
           metadata_field: str = "metadata", batch_size: int = 256, concurrency: int | None = None,
           num_cpus: float = 1, progress: Callable[[int], None] | None = None) -> IngestResult:
    """Embed `paths` (files/folders) or `items` (dicts) on Ray and write them into `coll`."""
    import ray
    import ray.data

    t0 = time.perf_counter()
    if not ray.is_initialized():
        ray.init(address=address, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    ray.data.DataContext.get_current().enable_progress_bars = False  # vecdb shows its own progress
    logging.getLogger("ray.data").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", message="Use 'expr' instead of 'fn'")
    gpus = int(ray.cluster_resources().get("GPU", 0))
    if concurrency is None:
        concurrency = gpus or max(1, int(ray.cluster_resources().get("CPU", 1) // max(num_cpus, 1)))
    res = IngestResult()
    # Read and prepare once, kept in the object store (spilled to disk when large): the actor pool
    # below may then hold every CPU without starving the read tasks.
    prepared = _dataset(paths, items).map_batches(
        _prepare, batch_format="pandas", fn_kwargs=dict(text_field=text_field, id_field=id_field,
                                                        metadata_field=metadata_field)).materialize()

    # Pass 1 (driver): what is already stored; metadata-only changes are written here, unembedded.
    skip: set[str] = set()
    for b in prepared.iter_batches(batch_size=2000, batch_format="pandas"):
        b = _clean(b)
        res.read += len(b)
        bad = b[b["error"] != ""]
        res.failed += len(bad)
        res.errors += [f"{i}: {e}" for i, e in zip(bad["id"], bad["error"])][:5 - len(res.errors)]
        good = b[b["error"] == ""]
        have = coll.lookup(list(good["id"])) if len(good) else {}
        meta_only = [r for r in good.itertuples() if r.id in have and have[r.id].content_hash == r.hash]
        skip.update(r.id for r in meta_only)
        changed = [r for r in meta_only if have[r.id].metadata != r.metadata]
        res.skipped += len(meta_only) - len(changed)
        if changed:
            coll.add([r.text for r in changed], ids=[r.id for r in changed],
                     metadata=[None if r.metadata is None else json.loads(r.metadata) for r in changed])
            res.metadata_updated += len(changed)
        if progress:
            progress(len(b) - len(good) + len(meta_only))

    # Pass 2: embed what is left on the actor pool, write in batches as results stream back.
    pooler = coll.db.pooler_path(coll.spec)
    todo = prepared.filter(lambda r: r["error"] == "" and r["id"] not in skip).materialize()
    if todo.count() == 0:
        res.seconds = time.perf_counter() - t0
        return res
    embedded = todo.map_batches(
        Embed, batch_format="pandas", batch_size=batch_size,
        compute=ray.data.ActorPoolStrategy(size=min(concurrency, todo.num_blocks() or 1)),
        num_gpus=1 if gpus else 0, num_cpus=num_cpus,
        fn_constructor_kwargs=dict(spec_json=coll.spec.to_json(), device="cuda" if gpus else None,
                                   pooler_path=pooler))
    for b in embedded.iter_batches(batch_size=batch_size, batch_format="pandas"):
        b = _clean(b)
        bad = b[b["error"] != ""]
        res.failed += len(bad)
        res.errors += [f"{i}: {e}" for i, e in zip(bad["id"], bad["error"])][:max(0, 5 - len(res.errors))]
        good = b[b["error"] == ""]
        if len(good):
            out = coll.add(list(good["text"]), ids=list(good["id"]),
                           metadata=[None if m is None else json.loads(m) for m in good["metadata"]],
                           vectors=np.stack(good["vector"].to_list()), batch_size=len(good))
            res.written += out.added + out.updated
            res.metadata_updated += out.metadata_updated
            res.skipped += out.unchanged
            res.embedded += len(good)
        if progress:
            progress(len(b))
    res.seconds = time.perf_counter() - t0
    return res
