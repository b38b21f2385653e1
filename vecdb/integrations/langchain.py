"""LangChain: VecdbVectorStore, a LangChain VectorStore over a vecdb collection.

    from vecdb.integrations.langchain import VecdbVectorStore
    store = VecdbVectorStore("notes", db="./db")                  # the collection's own model (minilm)
    store = VecdbVectorStore("notes", OpenAIEmbeddings(), db="./db")  # or a LangChain Embeddings object
    store = VecdbVectorStore("notes", url="http://127.0.0.1:8000")  # a `vecdb serve` server
    store.add_texts(["..."], metadatas=[{"topic": "x"}], ids=["a"])
    store.similarity_search("...", k=4, filter={"topic": {"$in": ["x", "y"]}})  # vecdb's where grammar
    store.as_retriever(search_type="mmr")

An Embeddings object is recorded in the collection's spec as `external:<class>` (see
vecdb.embed.external), so a collection made with it never takes vecdb's own models, nor they it.
Scores are cosine similarities; relevance scores map them to [0, 1] as (1 + cosine) / 2.
Async methods are LangChain's defaults: the sync calls run in its executor.
"""
from __future__ import annotations

import os
from typing import Any, Iterable, Sequence

import numpy as np
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.vectorstores import VectorStore

import vecdb
from vecdb.embed.external import ExternalEmbedder, is_external, refuse_loading
from vecdb.rag.context import check_mmr, mmr_select

# Settings of an Embeddings object that change its vectors (the rest, such as keys, URLs and retries, do not).
IDENTITY_FIELDS = ("model", "model_name", "model_id", "deployment", "dimensions", "size", "task", "task_type",
                   "encode_kwargs", "query_instruction", "embed_instruction", "normalize", "truncate")
WITH_VECTORS = ("text", "metadata", "vector")


def external_embedder(embeddings: Embeddings, embedding_id: str | None = None, dim: int | None = None
                      ) -> ExternalEmbedder:
    """A vecdb Embedder over a LangChain Embeddings object. Its identity is `embedding_id` if given,
    else the class and the settings in IDENTITY_FIELDS. Without `dim`, one probe text is embedded."""
    cls = type(embeddings)
    if embedding_id is None:
        settings = embeddings.model_dump() if hasattr(embeddings, "model_dump") else vars(embeddings)
        identity = {"class": f"{cls.__module__}.{cls.__qualname__}",
                    **{k: v for k, v in settings.items() if k in IDENTITY_FIELDS}}
    else:
        identity = embedding_id
    return ExternalEmbedder(cls.__name__, embeddings.embed_documents, embeddings.embed_query, identity=identity,
                            dim=dim)


class VecdbEmbeddings(Embeddings):
    """A collection's own vecdb embedder as a LangChain Embeddings object."""

    def __init__(self, embedder):
        self.embedder = embedder

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embedder.embed_documents(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embedder.embed_queries([text])[0].tolist()


class VecdbVectorStore(VectorStore):
    """A vecdb collection as a LangChain vector store.

    `db`: a database path or URI (or an open vecdb.Database); `url`: a `vecdb serve` server instead.
    The collection is created if missing, with `model` (vecdb's own embedder) unless `embedding`
    (a LangChain Embeddings object) is given. Filters (`filter=` or `where=`) use vecdb's where grammar."""

    def __init__(self, collection: str = "langchain", embedding: Embeddings | None = None, *,
                 db: str | os.PathLike | vecdb.Database | None = None, url: str | None = None,
                 model: str = vecdb.DEFAULT_MODEL, embedding_id: str | None = None, **options: Any):
        if (db is None) == (url is None):
            raise vecdb.InvalidArgument("db: give a database path (db=) or a server URL (url=)", argument="db")
        self._embedding = embedding
        self._external = None
        self._owns_db = False
        self.remote = url is not None
        if url is not None:
            from .remote import RemoteCollection

            if embedding is not None:
                raise vecdb.Unsupported("embedding: a vecdb server embeds with the collection's own model; "
                                        "use an Embeddings object with a local database", argument="embedding")
            self.collection = RemoteCollection(url, collection, model=model, create=True, **options)
            return
        if not isinstance(db, vecdb.Database):
            db, self._owns_db = vecdb.open(db), True
        self.db = db
        try:
            self._open_local(collection, embedding, model, embedding_id, options)
        except BaseException:
            self.close()
            raise

    def _open_local(self, collection: str, embedding, model: str, embedding_id, options: dict) -> None:
        db = self.db
        if embedding is not None:
            if db.has_collection(collection):  # its dimension is known: no probe call to the model
                dim = db.get_collection(collection).spec.dim
                self._external = external_embedder(embedding, embedding_id, dim)
                self.collection = db.get_collection(collection, embedder=self._external)
            else:
                self._external = external_embedder(embedding, embedding_id)
                self.collection = db.create_collection(collection, embedder=self._external, **options)
        else:
            self.collection = db.get_or_create_collection(collection, model, **options)
            if is_external(self.collection.spec):
                refuse_loading(self.collection.spec)

    # ---- lifecycle ------------------------------------------------------------
    def close(self) -> None:
        """Close the database if this store opened it (or the HTTP client)."""
        if self.remote:
            self.collection.close()
        elif self._owns_db:
            self.db.close()

    @property
    def embeddings(self) -> Embeddings | None:
        if self._embedding is not None:
            return self._embedding
        if self.remote:
            return None
        return VecdbEmbeddings(self.collection.embedder)

    def _select_relevance_score_fn(self):
        return lambda score: (1.0 + score) / 2.0

    # ---- writes ----------------------------------------------------------------
    def add_texts(self, texts: Iterable[str], metadatas: list[dict] | None = None, *,
                  ids: Sequence[str | None] | None = None, batch_size: int = 256, **kwargs: Any) -> list[str]:
        """Upsert texts; an id left out (None) is derived from the text, so re-adding is idempotent."""
        texts = list(texts)
        if not texts:
            return []
        vectors = self._external.embed_documents(texts) if self._external is not None else None
        if ids is not None:
            ids = list(ids)
        if vectors is None:
            return self.collection.add(texts, ids=ids, metadata=metadatas, batch_size=batch_size).ids
        return self.collection.add(texts, ids=ids, metadata=metadatas, vectors=vectors, batch_size=batch_size).ids

    def delete(self, ids: list[str] | None = None, *, where: dict | None = None, filter: dict | None = None,
               **kwargs: Any) -> bool:
        """Delete by ids, or every document matching a filter; with neither, every document."""
        where = _where(where, filter)
        if ids is not None:
            if ids:
                self.collection.delete(list(dict.fromkeys(ids)))
        elif where is not None:
            self.collection.delete(where=where)
        else:
            every = [d.id for d in self.collection.get(include=())]
            if every:
                self.collection.delete(every)
        return True

    # ---- reads -----------------------------------------------------------------
    def get_by_ids(self, ids: Sequence[str], /) -> list[Document]:
        ids = list(dict.fromkeys(ids))
        return [_document(d) for d in self.collection.get(ids)] if ids else []

    def similarity_search(self, query: str, k: int = 4, filter: dict | None = None, **kwargs: Any) -> list[Document]:
        return [doc for doc, _ in self.similarity_search_with_score(query, k, filter, **kwargs)]

    def similarity_search_with_score(self, query: str, k: int = 4, filter: dict | None = None, *,
                                     where: dict | None = None, min_score: float | None = None,
                                     **kwargs: Any) -> list[tuple[Document, float]]:
        where = _where(where, filter)
        if self._external is not None:
            hits = self.collection.search_vectors(self._external.embed_queries([query]), k, where,
                                                  min_score=min_score)[0]
        else:
            hits = self.collection.search(query, k, where, min_score=min_score)
        return [(_document(h), h.score) for h in hits]

    def similarity_search_by_vector(self, embedding: list[float], k: int = 4, filter: dict | None = None, *,
                                    where: dict | None = None, **kwargs: Any) -> list[Document]:
        hits = self.collection.search_vectors(_unit(embedding), k, _where(where, filter))[0]
        return [_document(h) for h in hits]

    def max_marginal_relevance_search(self, query: str, k: int = 4, fetch_k: int = 20, lambda_mult: float = 0.5,
                                      filter: dict | None = None, *, where: dict | None = None,
                                      **kwargs: Any) -> list[Document]:
        """Fetch `fetch_k` nearest, then pick `k` by vecdb's MMR (relevance: each hit's cosine score)."""
        where = _where(where, filter)
        if self._external is not None:
            hits = self.collection.search_vectors(self._external.embed_queries([query]), max(k, fetch_k), where,
                                                  include=WITH_VECTORS)[0]
        else:
            hits = self.collection.search(query, max(k, fetch_k), where, include=WITH_VECTORS)
        return _mmr(hits, k, lambda_mult)

    def max_marginal_relevance_search_by_vector(self, embedding: list[float], k: int = 4, fetch_k: int = 20,
                                                lambda_mult: float = 0.5, filter: dict | None = None, *,
                                                where: dict | None = None, **kwargs: Any) -> list[Document]:
        hits = self.collection.search_vectors(_unit(embedding), max(k, fetch_k), _where(where, filter),
                                              include=WITH_VECTORS)[0]
        return _mmr(hits, k, lambda_mult)

    @classmethod
    def from_texts(cls, texts: list[str], embedding: Embeddings | None = None, metadatas: list[dict] | None = None,
                   *, ids: list[str] | None = None, collection: str = "langchain", **kwargs: Any) -> "VecdbVectorStore":
        """A store over `collection` (created if missing) with `texts` added; kwargs as for the constructor."""
        store = cls(collection, embedding, **kwargs)
        store.add_texts(texts, metadatas, ids=ids)
        return store


def _where(where: dict | None, filter: dict | None) -> dict | None:  # noqa: A002
    if where is not None and filter is not None:
        raise vecdb.InvalidArgument("filter: give filter or where, not both", argument="filter")
    return where if where is not None else filter


def _unit(vector) -> np.ndarray:
    v = np.asarray(vector, dtype=np.float32)
    n = float(np.linalg.norm(v))
    return v / n if n > 0 else v


def _document(record) -> Document:
    return Document(id=record.id, page_content=record.text or "", metadata=dict(record.metadata or {}))


def _mmr(hits, k: int, lambda_mult: float) -> list[Document]:
    lam = check_mmr(lambda_mult)
    if not hits:
        return []
    vectors = np.stack([h.vector for h in hits]).astype(np.float32)
    order = mmr_select(np.array([h.score for h in hits]), vectors, lam, k)
    return [_document(hits[i]) for i in order]
