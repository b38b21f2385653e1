"""Collection: the one interface every backend implements.

Everything above storage is written once here: input checks, ids and content hashes, the embedder,
chunked adds, search options, context building and `ask`. A backend (vecdb/local, vecdb/milvus)
subclasses it and supplies the storage methods at the bottom (`_lookup`, `_write`, `_fetch`, ...),
and declares in `capabilities` the optional features it has. Asking for a feature a backend lacks
raises `Unsupported`, naming the feature and the backend.
"""
from __future__ import annotations

import json
import threading
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Callable, ClassVar, Iterator, Sequence

import numpy as np

from . import validate
from .errors import InvalidArgument, NotFound, SpecMismatch, Unsupported
from .filters import validate as validate_where
from .records import (FIELDS, AddResult, Document, DocWrite, Hit, ParentWrite, Stored, WriteCounts, auto_ids,
                      content_hash)
from .spec import EmbeddingSpec

if TYPE_CHECKING:
    from .embed import Embedder
    from .rag.answer import Answer
    from .rag.context import Context

# Optional features; a backend lists those it has in `capabilities`.
KEYWORD_SEARCH = "keyword_search"   # BM25 full-text search (and so hybrid search)
ATOMIC_BATCHES = "atomic_batches"   # each batch of an add is one transaction
TRAINABLE_POOLING = "trainable_pooling"
REINDEX = "reindex"

Progress = Callable[[int], None]


class Collection(ABC):
    """A named set of documents with one embedding spec. Subclasses supply storage."""

    backend: ClassVar[str] = ""
    capabilities: ClassVar[frozenset[str]] = frozenset()
    max_text_bytes: ClassVar[int | None] = None  # a backend's own limit on one stored text (UTF-8)

    def __init__(self, db, name: str, spec: EmbeddingSpec, index_config: dict, embedder: "Embedder | None" = None):
        self.db = db
        self.name = name
        self.spec = spec
        self.index_config = index_config
        self._embedder = embedder
        self._embedder_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, model={self.spec.model!r}, pooling={self.spec.pooling!r})"

    def supports(self, feature: str) -> bool:
        return feature in self.capabilities

    def require(self, feature: str, argument: str) -> None:
        """Raise Unsupported unless this backend has `feature`."""
        if feature not in self.capabilities:
            raise Unsupported(f"{argument}: {feature.replace('_', ' ')} is not available on the {self.backend} "
                              f"backend (collection {self.name!r})", argument=argument)

    # ---- embedder -------------------------------------------------------
    @property
    def embedder(self) -> "Embedder":
        """The collection's embedder, loaded from its spec on first use."""
        if self._embedder is None:
            with self._embedder_lock:
                if self._embedder is None:
                    emb = self.db.embedder_for(self.spec)
                    self.check_embedder(emb)
                    self._embedder = emb
        return self._embedder

    @property
    def embedder_loaded(self) -> bool:
        return self._embedder is not None

    def check_embedder(self, embedder: "Embedder") -> None:
        """Raise SpecMismatch if `embedder` would make vectors of another spec."""
        diffs = self.spec.diff(embedder.spec)
        if diffs:
            raise SpecMismatch(self.name, diffs)

    # ---- writes -----------------------------------------------------------
    def add(self, texts: Sequence[str] | str, ids: Sequence[str | None] | None = None,
            metadata: Sequence[dict | None] | dict | None = None, *, vectors: np.ndarray | None = None,
            batch_size: int = 256, progress: Progress | None = None, chunk_size: int | None = None,
            chunk_overlap: int = 32, sources: Sequence[str | None] | None = None,
            chunk_info: Sequence[tuple] | None = None) -> AddResult:
        """Upsert documents. Unchanged content (same id, same hash) is not re-embedded.

        Without an id (None, or no `ids`), a document's id is derived from its text.
        `vectors` (n, dim) are precomputed embeddings of this collection's spec, stored as given.
        `chunk_size` (tokens) splits each text into chunks stored as `<id>#<n>` with the parent id,
        span and source; all rows of a document are replaced together.
        `chunk_info` ((parent_id, span, source) per text) stores rows that are chunks already (copies).
        `progress(n)` is called as documents finish (per forward pass while embedding).
        All input is checked in one pass (vecdb.validate.documents) before anything is written; then
        each batch is written as one unit."""
        docs = validate.documents(texts, ids, metadata, chunked=chunk_size is not None, sources=sources,
                                  max_text_bytes=self.max_text_bytes, backend=self.backend)
        validate.batch_size(batch_size)
        texts, metas = docs.texts, docs.metadata
        hashes = [content_hash(t) for t in texts]
        ids = self._ids(docs.ids, hashes)
        if chunk_size is not None:
            from .chunking import check_sizes

            if vectors is not None or chunk_info is not None:
                raise InvalidArgument("chunk_size: cannot be combined with vectors or chunk_info", argument="chunk_size")
            check_sizes(chunk_size, chunk_overlap, self.spec.max_length)
            return self._add_chunked(texts, ids, metas, docs.sources or [None] * len(texts), chunk_size,
                                     chunk_overlap, batch_size, progress)
        if vectors is not None:
            vectors = self._check_vectors(vectors, len(texts))
        if chunk_info is not None and len(chunk_info) != len(texts):
            raise InvalidArgument(f"chunk_info: expected {len(texts)} entries", argument="chunk_info")
        result = AddResult(ids=list(ids))
        for start in range(0, len(texts), batch_size):
            sl = slice(start, start + batch_size)
            writes = [DocWrite(i, t, m, h, None) for i, t, m, h in zip(ids[sl], texts[sl], metas[sl], hashes[sl])]
            for n, w in enumerate(writes):
                if chunk_info is not None and chunk_info[start + n] is not None:
                    parent, span, source = chunk_info[start + n]
                    w.parent_id, w.span, w.source = parent, tuple(span) if span else None, source
                if vectors is not None:
                    w.vector = vectors[start + n]
            done = self._write_batch(writes, result, replace=[w.doc_id for w in writes], progress=progress)
            if progress and done:
                progress(done)
        return result

    def _ids(self, ids: list[str | None] | None, hashes: list[str]) -> list[str]:
        """Checked ids (None: derive from the text) completed with derived ids."""
        auto = auto_ids(hashes)
        if ids is None:
            return auto
        out = [a if i is None else i for i, a in zip(ids, auto)]
        return validate.ids(out)  # an explicit id may collide with a derived one

    def _check_vectors(self, vectors, n: int) -> np.ndarray:
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.shape != (n, self.spec.dim) or not np.isfinite(vectors).all():
            raise InvalidArgument(f"vectors: expected a finite array of shape ({n}, {self.spec.dim}), got "
                                  f"{vectors.shape}", argument="vectors")
        return vectors

    def _add_chunked(self, texts, pids, metas, sources, size: int, overlap: int, batch_size: int,
                     progress: Progress | None) -> AddResult:
        """Each text is a parent document stored as chunks `<id>#<n>`. A parent whose text, metadata,
        source and chunking settings are unchanged is skipped before tokenising."""
        from .chunking import Chunker, parent_hash

        settings = json.dumps({"chunk_size": size, "chunk_overlap": overlap}, sort_keys=True)
        phashes = [parent_hash(t, m, s, settings) for t, m, s in zip(texts, metas, sources)]
        known = self._parents(list(pids))
        result = AddResult(ids=list(pids), chunked=True)
        chunker = None
        writes: list[DocWrite] = []
        parents: list[ParentWrite] = []

        def flush():
            self._write_batch(writes, result, replace=[p.parent_id for p in parents], parents=parents)
            result.documents += len(parents)
            if progress:
                progress(len(parents))
            writes.clear()
            parents.clear()

        for pid, text, meta, src, ph in zip(pids, texts, metas, sources, phashes):
            if known.get(pid) == ph:
                result.documents_unchanged += 1
                if progress:
                    progress(1)
                continue
            if chunker is None:
                chunker = Chunker(self.tokenizer(), size, overlap, self.spec.max_length)
            for c in chunker.split(text):
                writes.append(DocWrite(f"{pid}#{c.index}", c.text, meta, content_hash(c.text), None, pid,
                                       (c.start, c.end), src))
            parents.append(ParentWrite(pid, ph, settings, src))
            if len(writes) >= batch_size:
                flush()
        if parents:
            flush()
        return result

    def tokenizer(self):
        """The embedder's tokenizer (used to chunk by tokens and to count passage tokens)."""
        tok = getattr(self.embedder, "tokenizer", None)
        if tok is None:
            raise InvalidArgument("chunk_size: this collection's embedder has no tokenizer to chunk with",
                                  argument="chunk_size")
        return tok

    def _write_batch(self, writes: list[DocWrite], result: AddResult, *, replace: Sequence[str] = (),
                     parents: Sequence[ParentWrite] = (), progress: Progress | None = None) -> int:
        """Embed what changed, then write the batch; returns how many writes were not yet reported."""
        known = self._lookup([w.doc_id for w in writes]) if writes else {}
        need = [w for w in writes if w.vector is None and _changed(known.get(w.doc_id), w)]
        result.embedded += self._embed_into(need, progress)
        reported = len(need) if progress else 0
        for _ in range(10):
            counts = self._write(writes, (), replace, parents)
            if not counts.missing_vectors:
                break
            missing = set(counts.missing_vectors)  # changed by another writer meanwhile
            result.embedded += self._embed_into([w for w in writes if w.doc_id in missing], None)
        result.added += counts.inserted
        result.updated += counts.replaced
        result.metadata_updated += counts.metadata_only
        result.unchanged += counts.unchanged
        return max(len(writes) - reported, 0)

    def _embed_into(self, writes: list[DocWrite], progress: Progress | None) -> int:
        """Embed each distinct text once; progress is reported per forward pass."""
        if not writes:
            return 0
        unique: dict[str, int] = {}
        for w in writes:
            unique.setdefault(w.content_hash, len(unique))
        texts = [""] * len(unique)
        for w in writes:
            texts[unique[w.content_hash]] = w.text
        vecs = self.embedder.embed_documents(texts, progress=progress)
        for w in writes:
            w.vector = vecs[unique[w.content_hash]]
        if progress and len(writes) > len(texts):
            progress(len(writes) - len(texts))  # duplicates of an embedded text
        return len(texts)

    def delete(self, ids: Sequence[str] | str | None = None, *, where: dict | None = None,
               dry_run: bool = False) -> int:
        """Delete documents by id, or every document matching `where` (a chunked document goes with
        all its chunks). Returns how many rows were (or, with dry_run, would be) removed."""
        if (ids is None) == (where is None):
            raise InvalidArgument("ids: give ids or where, not both and not neither", argument="ids")
        if where is not None:
            validate_where(where)
            if not where:
                raise InvalidArgument("where: an empty filter would delete everything; use drop", argument="where")
            ids = [d.id for d in self._list(where, None, 0, vectors=False)]
        else:
            ids = validate.ids(ids)
        if dry_run:
            return len(self._lookup(list(dict.fromkeys(ids)))) if where is None else len(ids)
        deleted = 0
        for start in range(0, len(ids), 1000):
            part = ids[start:start + 1000]
            deleted += self._write([], part, part, ()).deleted
        return deleted

    # ---- reads --------------------------------------------------------------
    def get(self, ids: Sequence[str] | str | None = None, *, where: dict | None = None, limit: int | None = None,
            offset: int = 0, include: Sequence[str] = ("text", "metadata"),
            include_vectors: bool = False) -> list[Document]:
        """Documents by id (those that exist, in the order asked), or a page of the collection in
        insertion order (no ids; optionally filtered by `where`, `limit`/`offset`)."""
        fields = _include(include, include_vectors)
        if ids is not None:
            if where is not None or limit is not None or offset:
                raise InvalidArgument("ids: cannot be combined with where, limit or offset", argument="ids")
            ids = validate.ids(ids)
            found = self._fetch(list(dict.fromkeys(ids)), vectors="vector" in fields)
            docs = [found[i] for i in ids if i in found]
        else:
            validate_where(where)
            if limit is not None:
                validate.k(limit, "limit")
            if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
                raise InvalidArgument(f"offset: must be an integer >= 0, got {offset!r}", argument="offset")
            docs = self._list(where, limit, offset, vectors="vector" in fields)
        return [_shape(d, fields) for d in docs]

    def count(self) -> int:
        return self._count()

    def lookup(self, ids: Sequence[str]) -> dict[str, Stored]:
        """Content hash and metadata JSON of the ids that exist: lets a pipeline skip unchanged
        documents before it embeds them (as add does)."""
        return self._lookup(list(dict.fromkeys(validate.ids(ids))))

    def iter_documents(self, batch_size: int = 1000, include_vectors: bool = True) -> Iterator[list[Document]]:
        """The whole collection in batches of Documents (chunk rows carry parent_id, span, source)."""
        validate.k(batch_size, "batch_size")
        yield from self._iter(batch_size, include_vectors)

    def search(self, query: str, k: int = 10, where: dict | None = None, task: str | None = None, *,
               hybrid: bool = False, group_by_document: bool = False, min_score: float | None = None,
               include: Sequence[str] = ("text", "metadata")) -> list[Hit]:
        """Dense search; `hybrid` fuses it with BM25 by reciprocal rank fusion (scores are then RRF
        scores); `group_by_document` keeps the best chunk of each parent document; `min_score` drops
        hits scoring below it; `include` picks the returned fields (text, metadata, vector)."""
        if not isinstance(query, str):
            raise InvalidArgument(f"query: must be a string, got {type(query).__name__}", argument="query")
        validate.queries([query], "query")
        validate.k(k)
        validate_where(where)
        fields = _include(include)
        score = _min_score(min_score)
        if hybrid:
            self.require(KEYWORD_SEARCH, "hybrid")
        if hybrid or group_by_document:
            from .rag.retrieve import search

            hits = search(self, query, k, where=where, task=task, hybrid=hybrid, group=group_by_document)
            hits = [h for h in hits if score is None or h.score >= score]
            return self._with_fields(hits, fields)
        return self.search_batch([query], k=k, where=where, task=task, min_score=min_score, include=include)[0]

    def search_batch(self, queries: Sequence[str], k: int = 10, where: dict | None = None, task: str | None = None,
                     *, min_score: float | None = None,
                     include: Sequence[str] = ("text", "metadata")) -> list[list[Hit]]:
        queries = validate.queries(queries, "queries")
        validate.k(k)
        validate_where(where)
        _include(include)
        _min_score(min_score)
        vectors = self.embedder.embed_queries(queries, task=task)
        return self.search_vectors(vectors, k=k, where=where, min_score=min_score, include=include)

    def search_vectors(self, vectors: np.ndarray, k: int = 10, where: dict | None = None, *,
                       min_score: float | None = None,
                       include: Sequence[str] = ("text", "metadata")) -> list[list[Hit]]:
        """Search with query vectors of this collection's spec, shape (n, dim) or (dim,)."""
        validate.k(k)
        validate_where(where)
        fields = _include(include)
        score = _min_score(min_score)
        vectors = np.atleast_2d(np.asarray(vectors, dtype=np.float32))
        if vectors.ndim != 2 or vectors.shape[1] != self.spec.dim or not np.isfinite(vectors).all():
            raise InvalidArgument(f"vectors: expected finite vectors of dimension {self.spec.dim}, got shape "
                                  f"{vectors.shape}", argument="vectors")
        results = self._search(vectors, k, where)
        if score is not None:
            results = [[h for h in hits if h.score >= score] for hits in results]
        return [self._with_fields(hits, fields) for hits in results]

    def similar(self, id: str, k: int = 10, where: dict | None = None, *,  # noqa: A002
                min_score: float | None = None, include: Sequence[str] = ("text", "metadata")) -> list[Hit]:
        """The k stored documents nearest to the stored document `id` (itself left out)."""
        validate.ids([id], argument="id")
        validate.k(k)
        found = self._fetch([id], vectors=True)
        if id not in found:
            raise NotFound(f"id: no document {id!r} in collection {self.name!r}", argument="id")
        hits = self.search_vectors(found[id].vector, k=min(k + 1, validate.MAX_K), where=where,
                                   min_score=min_score, include=include)[0]
        return [h for h in hits if h.id != id][:k]

    def bm25(self, query: str, k: int = 10, where: dict | None = None) -> list[Hit]:
        """Keyword search: BM25 over the collection's text, best first (backends with keyword_search)."""
        self.require(KEYWORD_SEARCH, "hybrid")
        validate.queries([query], "query")
        validate.k(k)
        validate_where(where)
        return self._keyword(query, k, where)

    def context(self, question: str, k: int = 5, max_tokens: int = 1024, *, mmr: float | None = None,
                hybrid: bool = False, dedupe: bool = True, where: dict | None = None) -> "Context":
        """Ordered, numbered passages for a prompt (see vecdb.rag.context)."""
        from .rag.context import build_context

        if hybrid:
            self.require(KEYWORD_SEARCH, "hybrid")
        return build_context(self, question, k=k, max_tokens=max_tokens, mmr=mmr, hybrid=hybrid, dedupe=dedupe,
                             where=where)

    def ask(self, question: str, **kwargs) -> "Answer":
        """Retrieve context and answer with citations (see vecdb.rag.answer.ask)."""
        from .rag.answer import ask

        if kwargs.get("hybrid"):
            self.require(KEYWORD_SEARCH, "hybrid")
        return ask(self, question, **kwargs)

    def _with_fields(self, hits: list[Hit], fields: tuple[str, ...]) -> list[Hit]:
        if "vector" in fields and hits:
            found = self._fetch([h.id for h in hits], vectors=True)
            for h in hits:
                h.vector = found[h.id].vector if h.id in found else None
        for h in hits:
            if "text" not in fields:
                h.text = None
            if "metadata" not in fields:
                h.metadata = None
        return hits

    # ---- maintenance --------------------------------------------------------
    def info(self) -> dict:
        return {"name": self.name, "backend": self.backend, "staging": self.name.startswith(validate.STAGING_PREFIX),
                "count": self.count(),
                "spec": json.loads(self.spec.to_json()), "index": self._info(), "index_config": self.index_config,
                "capabilities": sorted(self.capabilities)}

    def check(self) -> dict:
        """Compare the search index with the stored rows: {"ok", "index", "stored", ...}."""
        return self._check()

    def save(self) -> None:
        """Persist what the backend keeps in memory (the local index file); a no-op elsewhere."""
        self._save()

    # ---- storage: what a backend supplies -------------------------------------
    @abstractmethod
    def _lookup(self, ids: list[str]) -> dict[str, Stored]:
        """Content hash and metadata JSON of the ids that exist."""

    @abstractmethod
    def _write(self, writes: Sequence[DocWrite], deletes: Sequence[str], replace: Sequence[str],
               parents: Sequence[ParentWrite]) -> WriteCounts:
        """Upsert `writes` (a write without a vector keeps the stored one: its content is unchanged)
        and delete `deletes`; every row of a document in `replace` (the document and its chunks)
        that is not among `writes` is deleted too. `parents` records chunked parents written.
        Return missing_vectors (and write nothing) for writes lacking a vector whose content changed."""

    @abstractmethod
    def _fetch(self, ids: list[str], vectors: bool) -> dict[str, Document]:
        """The stored documents among `ids`."""

    @abstractmethod
    def _list(self, where: dict | None, limit: int | None, offset: int, vectors: bool) -> list[Document]:
        """A page of documents matching `where`, in insertion order."""

    @abstractmethod
    def _count(self) -> int: ...

    @abstractmethod
    def _iter(self, batch_size: int, vectors: bool) -> Iterator[list[Document]]: ...

    @abstractmethod
    def _search(self, vectors: np.ndarray, k: int, where: dict | None) -> list[list[Hit]]:
        """Nearest stored rows per query vector, best first, with text and metadata."""

    @abstractmethod
    def _parents(self, parent_ids: list[str]) -> dict[str, str]:
        """{parent_id: parent hash} of the chunked documents that exist."""

    def _keyword(self, query: str, k: int, where: dict | None) -> list[Hit]:
        raise Unsupported(f"hybrid: keyword search is not available on the {self.backend} backend", argument="hybrid")

    @abstractmethod
    def _info(self) -> dict: ...

    @abstractmethod
    def _check(self) -> dict: ...

    def _save(self) -> None:
        pass


def _changed(stored: Stored | None, w: DocWrite) -> bool:
    return stored is None or stored.content_hash != w.content_hash


def _include(include, include_vectors: bool = False) -> tuple[str, ...]:
    if isinstance(include, str) or not isinstance(include, (list, tuple, set, frozenset)):
        raise InvalidArgument(f"include: must be a list of field names ({', '.join(FIELDS)})", argument="include")
    bad = [f for f in include if f not in FIELDS]
    if bad:
        raise InvalidArgument(f"include: unknown field {bad[0]!r}; valid: {', '.join(FIELDS)}", argument="include")
    return tuple(dict.fromkeys([*include, *(["vector"] if include_vectors else [])]))


def _min_score(value) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value):
        raise InvalidArgument(f"min_score: must be a finite number, got {value!r}", argument="min_score")
    return float(value)


def _shape(d: Document, fields: tuple[str, ...]) -> Document:
    if "text" not in fields:
        d.text = None
    if "metadata" not in fields:
        d.metadata = None
    if "vector" not in fields:
        d.vector = None
    return d
