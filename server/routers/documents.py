"""Documents: add/upsert in batches, get by ids, delete by ids."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from vecdb.errors import NotFound

from ..deps import CollectionDep, SettingsDep, check_count, check_lengths
from ..schemas import DeleteBody, DocumentsAdd, GetBody

router = APIRouter(prefix="/v1/collections/{name}/documents", tags=["documents"])
DocId = Annotated[str, Path(max_length=1024)]


@router.post("", summary="Add or update documents (upsert by id); one transaction per request")
def add_documents(body: DocumentsAdd, coll: CollectionDep, settings: SettingsDep) -> dict:
    docs = body.documents
    check_count(len(docs), settings.max_batch, "documents")
    texts = [d.text for d in docs]
    check_lengths(texts, settings.max_text_chars, "documents.text")
    ids = [d.id for d in docs] if any(d.id is not None for d in docs) else None
    res = coll.add(texts, ids=ids, metadata=[d.metadata for d in docs], batch_size=len(docs))
    return {"ids": res.ids, **res.to_dict()}


def _doc(d, include: list[str]) -> dict:
    out = {"id": d.id}
    if "text" in include:
        out["text"] = d.text
    if "metadata" in include:
        out["metadata"] = d.metadata
    if "vector" in include:
        out["vector"] = d.vector.tolist()
    return out


@router.post("/get", summary="Documents by id (those that exist, in the order asked), or without ids a page of "
                             "the collection in insertion order (where, limit, offset)")
def get_documents(body: GetBody, coll: CollectionDep, settings: SettingsDep) -> dict:
    if body.ids is None:
        docs = coll.get(where=body.where, limit=body.limit, offset=body.offset, include=body.include)
        return {"documents": [_doc(d, body.include) for d in docs], "missing": []}
    check_count(len(body.ids), settings.max_batch, "ids")
    docs = coll.get(body.ids, where=body.where, limit=body.limit, offset=body.offset, include=body.include)
    found = {d.id for d in docs}
    return {"documents": [_doc(d, body.include) for d in docs], "missing": [i for i in body.ids if i not in found]}


@router.get("/{doc_id}", summary="One document")
def get_document(doc_id: DocId, coll: CollectionDep) -> dict:
    docs = coll.get([doc_id])
    if not docs:
        raise NotFound(f"doc_id: no document {doc_id!r} in collection {coll.name!r}", argument="doc_id")
    return _doc(docs[0], ["text", "metadata"])


@router.post("/delete", summary="Delete documents by id (ids that do not exist are ignored) or by a where filter; "
                                "dry_run only counts")
def delete_documents(body: DeleteBody, coll: CollectionDep, settings: SettingsDep) -> dict:
    if body.ids is not None:
        check_count(len(body.ids), settings.max_batch, "ids")
    return {"deleted": coll.delete(body.ids, where=body.where, dry_run=body.dry_run)}
