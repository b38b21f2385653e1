"""The operations the CLI runs on a database, here or in the warm worker.

Each one opens the collection, calls one public library method and returns plain JSON-able data, so the
in-process path and the worker give the same answer. `emit` receives events as they happen:
{"event": "progress", "n": docs} while adding, and the answer's context, token and done events."""
from __future__ import annotations

from typing import Callable

Emit = Callable[[dict], None]


def search(database, emit: Emit, *, collection: str, queries: list[str], k: int = 10, where: dict | None = None,
           task: str | None = None, hybrid: bool = False, group_by_document: bool = False,
           min_score: float | None = None, include: list[str] = ("text", "metadata"), model: str | None = None,
           pooling: str | None = None) -> list[list[dict]]:
    coll = database.get_collection(collection, model=model, pooling=pooling)
    if hybrid or group_by_document:
        results = [coll.search(q, k=k, where=where, task=task, hybrid=hybrid, group_by_document=group_by_document,
                               min_score=min_score, include=include) for q in queries]
    else:
        results = coll.search_batch(queries, k=k, where=where, task=task, min_score=min_score, include=include)
    return [[h.to_dict(include) for h in hits] for hits in results]


def search_vectors(database, emit: Emit, *, collection: str, vectors: list[list[float]], k: int = 10,
                   where: dict | None = None, min_score: float | None = None,
                   include: list[str] = ("text", "metadata")) -> list[list[dict]]:
    """Search with given vectors: no model is loaded."""
    import numpy as np

    hits = database.get_collection(collection).search_vectors(np.asarray(vectors, dtype=np.float32), k=k, where=where,
                                                               min_score=min_score, include=include)
    return [[h.to_dict(include) for h in row] for row in hits]


def add(database, emit: Emit, *, collection: str, texts: list[str], ids: list[str | None] | None = None,
        metadata: list[dict | None] | None = None, model: str | None = None, pooling: str | None = None,
        options: dict | None = None, batch_size: int = 256, chunking: dict | None = None) -> dict:
    """Upsert into the collection, creating it (model default minilm) when it does not exist."""
    options = options or {}
    if database.has_collection(collection):
        coll = database.get_collection(collection, model=model, pooling=pooling, **options)
    else:
        coll = database.create_collection(collection, model or "minilm", pooling=pooling, **options)
    res = coll.add(texts, ids=ids, metadata=metadata, batch_size=batch_size,
                   progress=lambda n: emit({"event": "progress", "n": n}), **(chunking or {}))
    return {**res.to_dict(), "chunked": res.chunked, "count": coll.count()}


def context(database, emit: Emit, *, collection: str, question: str, **kwargs) -> dict:
    return database.get_collection(collection).context(question, **kwargs).to_dict()


def ask(database, emit: Emit, *, collection: str, question: str, **kwargs) -> dict:
    """Emits the context event, one event per piece of the answer, and the done event (also returned)."""
    answer = database.get_collection(collection).ask(question, **kwargs)
    for event in answer.events():
        emit(event)
    return answer.result


OPS: dict[str, Callable] = {"search": search, "search_vectors": search_vectors, "add": add, "context": context,
                            "ask": ask}
