"""Documents: add/upsert in batches, get by ids, delete by ids."""
from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse

from vecdb.limits import MAX_ID_CHARS

from .. import contract
from ..contract import JsonRoute
from ..deps import CollectionDep
from ..errors import ApiError, declare
from ..bodies import Bodies
from ..responses import AddResult, DocumentList, DocumentOut, DocumentsDeleted, DocumentsOut

DocId = Annotated[str, Path(max_length=MAX_ID_CHARS, json_schema_extra={"pattern": contract.TEXT})]
ERRORS = declare(400, 404, 503)


def build(req: Bodies) -> APIRouter:
    router = APIRouter(prefix="/v1/collections/{name}/documents", tags=["documents"], route_class=JsonRoute)

    @router.post("", response_model=AddResult, responses=declare(400, 404, 409, 503),
                 summary="Add or update documents (upsert by id); one transaction per request")
    def add_documents(body: req.DocumentsAdd, coll: CollectionDep) -> dict:
        docs = body.documents
        ids = [d.id for d in docs] if any(d.id is not None for d in docs) else None
        res = coll.add([d.text for d in docs], ids=ids, metadata=[d.metadata for d in docs], batch_size=len(docs))
        return {"ids": res.ids, **res.to_dict()}

    @router.post("/get", response_model=DocumentsOut, responses=ERRORS,
                 summary="Documents by id (those that exist, in the order asked)")
    def get_documents(body: req.GetBody, coll: CollectionDep) -> JSONResponse:
        docs = coll.get(body.ids, include=body.include)
        found = {d.id for d in docs}
        return JSONResponse({"documents": [d.to_dict(body.include) for d in docs],
                             "missing": [i for i in body.ids if i not in found]})

    @router.post("/list", response_model=DocumentList, responses=ERRORS,
                 summary="A page of the collection in insertion order, optionally filtered by `where`")
    def list_documents(body: req.ListBody, coll: CollectionDep) -> JSONResponse:
        docs = coll.get(where=body.where, limit=body.limit, offset=body.offset, include=body.include)
        return JSONResponse({"documents": [d.to_dict(body.include) for d in docs]})

    @router.get("/{doc_id}", response_model=DocumentOut, responses=ERRORS, summary="One document")
    def get_document(doc_id: DocId, coll: CollectionDep) -> JSONResponse:
        docs = coll.get([doc_id])
        if not docs:
            raise ApiError(404, f"doc_id: no document {doc_id!r} in collection {coll.name!r}", "document_not_found",
                           "doc_id")
        return JSONResponse(docs[0].to_dict())

    @router.post("/delete", response_model=DocumentsDeleted, responses=ERRORS,
                 summary="Delete documents by id (ids that do not exist are ignored) or every document matching "
                         "`where`; `dry_run` only counts")
    def delete_documents(body: req.DeleteBody, coll: CollectionDep) -> dict:
        return {"deleted": coll.delete(body.ids, where=body.where, dry_run=body.dry_run)}

    return router
