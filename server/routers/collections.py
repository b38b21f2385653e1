"""Collections: create, list, get (spec and counts), delete."""
from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from vecdb import validate
from vecdb.errors import CollectionExists

from ..deps import CollectionDep, DbDep, NamePath, check_model
from ..schemas import CollectionCreate

router = APIRouter(prefix="/v1/collections", tags=["collections"])


@router.post("", status_code=201, summary="Create a collection (its model and pooling are recorded)")
async def create_collection(body: CollectionCreate, db: DbDep, request: Request) -> dict:
    validate.collection_name(body.name)
    check_model(request, body.model)
    def create():
        try:
            return db.create_collection(body.name, body.model, pooling=body.pooling, exist_ok=body.exist_ok)
        except CollectionExists:
            if not body.exist_ok:  # else another process created it meanwhile: check it like exist_ok does
                raise
            return db.get_collection(body.name, model=body.model, pooling=body.pooling)

    coll = await run_in_threadpool(create)
    return await run_in_threadpool(coll.info)


@router.get("", summary="List collections with their counts")
def list_collections(db: DbDep) -> dict:
    return {"collections": db.list_collections()}


@router.get("/{name}", summary="A collection's spec, counts and index statistics")
def get_collection(coll: CollectionDep) -> dict:
    return coll.info()


@router.delete("/{name}", summary="Delete a collection and its documents")
def delete_collection(name: NamePath, db: DbDep) -> dict:
    db.drop_collection(name)
    return {"deleted": name}
