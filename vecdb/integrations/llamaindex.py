"""LlamaIndex: VecdbVectorStore, a LlamaIndex vector store over a vecdb collection.

    from llama_index.core import VectorStoreIndex
    from vecdb.integrations.llamaindex import VecdbVectorStore
    store = VecdbVectorStore("notes", db="./db")          # the collection's own model (minilm)
    index = VectorStoreIndex.from_vector_store(store, embed_model=store.embed_model)
    index.insert_nodes(nodes)
    index.as_retriever(similarity_top_k=10, filters=MetadataFilters(...)).retrieve("...")

Build the index with `embed_model=store.embed_model`: nodes embedded by another model are refused
(add checks one node per call against it). A LlamaIndex embedding model may be given instead of
vecdb's own; it is recorded in the collection's spec as `external:<class>` (see vecdb.embed.external).
Each row keeps the node's id, text and metadata, plus `ref_doc_id` (the source document) so that
`delete(ref_doc_id)` removes a document's nodes. Metadata filters become vecdb `where` filters.
"""
from __future__ import annotations

import os
from typing import Any, List, Sequence

import numpy as np
from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.bridge.pydantic import PrivateAttr
from llama_index.core.schema import BaseNode, MetadataMode, NodeRelationship, RelatedNodeInfo, TextNode
from llama_index.core.vector_stores.types import (BasePydanticVectorStore, FilterCondition, FilterOperator,
                                                  MetadataFilter, MetadataFilters, VectorStoreQuery,
                                                  VectorStoreQueryMode, VectorStoreQueryResult)

import vecdb
from vecdb.embed.external import ExternalEmbedder, is_external, refuse_loading
from vecdb.limits import MAX_K
from vecdb.rag.context import mmr_select

REF = "ref_doc_id"  # metadata key holding the node's source document
OPERATORS = {FilterOperator.EQ: "$eq", FilterOperator.NE: "$ne", FilterOperator.GT: "$gt",
             FilterOperator.GTE: "$gte", FilterOperator.LT: "$lt", FilterOperator.LTE: "$lte",
             FilterOperator.IN: "$in", FilterOperator.NIN: "$nin"}
SAME_VECTOR = 0.999  # cosine above which a node's embedding counts as the store's model's


class VecdbEmbedding(BaseEmbedding):
    """A vecdb Embedder (a collection's own) as a LlamaIndex embedding model."""

    _embedder: Any = PrivateAttr()

    def __init__(self, embedder, **kwargs: Any):
        kwargs.setdefault("embed_batch_size", 64)
        super().__init__(model_name=embedder.spec.model, **kwargs)
        self._embedder = embedder

    def _get_query_embedding(self, query: str) -> List[float]:
        return self._embedder.embed_queries([query])[0].tolist()

    async def _aget_query_embedding(self, query: str) -> List[float]:
        return self._get_query_embedding(query)

    def _get_text_embedding(self, text: str) -> List[float]:
        return self._embedder.embed_documents([text])[0].tolist()

    def _get_text_embeddings(self, texts: List[str]) -> List[List[float]]:
        return self._embedder.embed_documents(texts).tolist()


def external_embedder(model: BaseEmbedding, dim: int | None = None) -> ExternalEmbedder:
    """A vecdb Embedder over a LlamaIndex embedding model, identified by its class and model_name."""
    cls = type(model)
    identity = {"class": f"{cls.__module__}.{cls.__qualname__}", "model_name": model.model_name}
    return ExternalEmbedder(cls.__name__, model.get_text_embedding_batch, model.get_query_embedding,
                            identity=identity, dim=dim)


def to_where(filters: MetadataFilters | None) -> dict | None:
    """LlamaIndex metadata filters as a vecdb where filter (operators vecdb lacks are Unsupported)."""
    if filters is None or not filters.filters:
        return None
    if filters.condition not in (None, FilterCondition.AND, FilterCondition.OR):
        raise vecdb.Unsupported(f"filters: condition {filters.condition.value!r} has no vecdb equivalent",
                                argument="filters")
    parts = [to_where(f) if isinstance(f, MetadataFilters) else _condition(f) for f in filters.filters]
    parts = [p for p in parts if p]
    if len(parts) == 1:
        return parts[0]
    return {"$or" if filters.condition == FilterCondition.OR else "$and": parts}


def _condition(f: MetadataFilter) -> dict:
    op = OPERATORS.get(getattr(f, "operator", FilterOperator.EQ))
    if op is None:
        raise vecdb.Unsupported(f"filters: operator {f.operator.value!r} has no vecdb equivalent; vecdb has "
                                f"{', '.join(o.value for o in OPERATORS)}", argument="filters")
    return {f.key: {op: f.value}}


class VecdbVectorStore(BasePydanticVectorStore):
    """A vecdb collection (created if missing) as a LlamaIndex vector store."""

    stores_text: bool = True
    flat_metadata: bool = False
    _collection: Any = PrivateAttr()
    _embed_model: Any = PrivateAttr()
    _owns_db: bool = PrivateAttr(default=False)

    def __init__(self, collection: str = "llamaindex", *, db: str | os.PathLike | vecdb.Database,
                 model: str = vecdb.DEFAULT_MODEL, embed_model: BaseEmbedding | None = None, **options: Any):
        super().__init__()
        if not isinstance(db, vecdb.Database):
            db, self._owns_db = vecdb.open(db), True
        try:
            if embed_model is not None:
                if db.has_collection(collection):  # its dimension is known: no probe call to the model
                    external = external_embedder(embed_model, db.get_collection(collection).spec.dim)
                    self._collection = db.get_collection(collection, embedder=external)
                else:
                    self._collection = db.create_collection(collection, embedder=external_embedder(embed_model),
                                                            **options)
                self._embed_model = embed_model
            else:
                self._collection = db.get_or_create_collection(collection, model, **options)
                if is_external(self._collection.spec):
                    refuse_loading(self._collection.spec)
                self._embed_model = VecdbEmbedding(self._collection.embedder)
        except BaseException:
            if self._owns_db:
                db.close()
            raise

    @property
    def client(self) -> vecdb.Collection:
        return self._collection

    @property
    def embed_model(self) -> BaseEmbedding:
        """The embedding model of this collection's spec: build the index with it."""
        return self._embed_model

    def close(self) -> None:
        if self._owns_db:
            self._collection.db.close()

    # ---- writes ----------------------------------------------------------------
    def add(self, nodes: Sequence[BaseNode], **kwargs: Any) -> List[str]:
        if not nodes:
            return []
        texts = [n.get_content(metadata_mode=MetadataMode.NONE) for n in nodes]
        metadata = [{**n.metadata, REF: n.ref_doc_id} if n.ref_doc_id else dict(n.metadata) for n in nodes]
        ids = [n.node_id for n in nodes]
        if all(n.embedding is not None for n in nodes):
            self._check_embedded(nodes[0])
            return self._collection.add(texts, ids, metadata, vectors=np.array([n.embedding for n in nodes])).ids
        if any(n.embedding is not None for n in nodes) or is_external(self._collection.spec):
            embedded = self._embed_model.get_text_embedding_batch(
                [n.get_content(metadata_mode=MetadataMode.EMBED) for n in nodes])
            return self._collection.add(texts, ids, metadata, vectors=np.array(embedded)).ids
        return self._collection.add(texts, ids, metadata).ids

    def _check_embedded(self, node: BaseNode) -> None:
        """Refuse nodes embedded by another model than this store's (one node per call is checked)."""
        mine = np.asarray(self._embed_model.get_text_embedding(node.get_content(metadata_mode=MetadataMode.EMBED)))
        theirs = np.asarray(node.embedding, dtype=np.float32)
        cos = float(mine @ theirs / (np.linalg.norm(mine) * np.linalg.norm(theirs) or 1.0)) \
            if mine.shape == theirs.shape else 0.0
        if cos < SAME_VECTOR:
            raise vecdb.SpecMismatch(self._collection.name, {"embedding": (self._collection.spec.model,
                                                                           "another model (build the index with "
                                                                           "embed_model=store.embed_model)")})

    def delete(self, ref_doc_id: str, **delete_kwargs: Any) -> None:
        self._collection.delete(where={REF: ref_doc_id})

    def delete_nodes(self, node_ids: List[str] | None = None, filters: MetadataFilters | None = None,
                     **delete_kwargs: Any) -> None:
        ids = [n.node_id for n in self.get_nodes(node_ids, filters)]
        if ids:
            self._collection.delete(ids)

    def clear(self) -> None:
        ids = [d.id for d in self._collection.get(include=())]
        if ids:
            self._collection.delete(ids)

    # ---- reads -----------------------------------------------------------------
    def get_nodes(self, node_ids: List[str] | None = None, filters: MetadataFilters | None = None) -> List[BaseNode]:
        where = to_where(filters)
        if node_ids is None:
            return [_node(d) for d in self._collection.get(where=where)]
        docs = self._collection.get(list(dict.fromkeys(node_ids))) if node_ids else []
        if where is not None:
            matching = {d.id for d in self._collection.get(where=where, include=())}
            docs = [d for d in docs if d.id in matching]
        return [_node(d) for d in docs]

    def query(self, query: VectorStoreQuery, **kwargs: Any) -> VectorStoreQueryResult:
        where = to_where(query.filters)
        if query.doc_ids:
            where = {"$and": [w for w in (where, {REF: {"$in": list(query.doc_ids)}}) if w]}
        if query.node_ids:
            raise vecdb.Unsupported("node_ids: restricting a query to node ids is not supported; use filters",
                                    argument="node_ids")
        k, mode = query.similarity_top_k, query.mode
        if mode == VectorStoreQueryMode.HYBRID:
            hits = self._collection.search(query.query_str, k, where, hybrid=True)
        elif mode == VectorStoreQueryMode.MMR:
            hits = self._mmr(query, where)
        elif mode == VectorStoreQueryMode.DEFAULT:
            if query.query_embedding is not None:
                hits = self._collection.search_vectors(np.asarray(query.query_embedding), k, where)[0]
            else:
                hits = self._collection.search(query.query_str, k, where)
        else:
            raise vecdb.Unsupported(f"mode: query mode {mode.value!r} is not supported; use default, mmr or "
                                    "hybrid", argument="mode")
        return VectorStoreQueryResult(nodes=[_node(h) for h in hits], similarities=[h.score for h in hits],
                                      ids=[h.id for h in hits])

    def _mmr(self, query: VectorStoreQuery, where: dict | None) -> list:
        k = query.similarity_top_k
        lam = 0.5 if query.mmr_threshold is None else query.mmr_threshold
        vector = query.query_embedding
        if vector is None:
            vector = self._embed_model.get_query_embedding(query.query_str)
        hits = self._collection.search_vectors(np.asarray(vector), min(max(4 * k, 20), MAX_K), where,
                                               include=("text", "metadata", "vector"))[0]
        if not hits:
            return []
        order = mmr_select(np.array([h.score for h in hits]), np.stack([h.vector for h in hits]), lam, k)
        return [hits[i] for i in order]


def _node(record) -> TextNode:
    meta = dict(record.metadata or {})
    ref = meta.pop(REF, None)
    relationships = {NodeRelationship.SOURCE: RelatedNodeInfo(node_id=ref)} if ref else {}
    return TextNode(id_=record.id, text=record.text or "", metadata=meta, relationships=relationships)
