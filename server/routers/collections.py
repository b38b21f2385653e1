"""Collections: create, list, get (spec and counts), delete."""
from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from vecdb.errors import CollectionExists

from ..contract import JsonRoute
from ..deps import CollectionDep, DbDep, NamePath, check_model
from ..errors import declare
from ..bodies import Bodies
from ..responses import CollectionDeleted, CollectionInfo, CollectionList


def build(req: Bodies) -> APIRouter:
    router = APIRouter(prefix="/v1/collections", tags=["collections"], route_class=JsonRoute)

    @router.post("", status_code=201, response_model=CollectionInfo, responses=declare(400, 404, 409, 503),
                 summary="Create a collection (its model and pooling are recorded)")
    async def create_collection(body: req.CollectionCreate, db: DbDep, request: Request) -> dict:
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

    @router.get("", response_model=CollectionList, responses=declare(503), summary="List collections with counts")
    def list_collections(db: DbDep) -> dict:
        return {"collections": db.list_collections()}

    @router.get("/{name}", response_model=CollectionInfo, responses=declare(400, 404, 503),
                summary="A collection's spec, counts and index statistics")
    def get_collection(coll: CollectionDep) -> dict:
        return coll.info()

    @router.delete("/{name}", response_model=CollectionDeleted, responses=declare(400, 404, 503),
                   summary="Delete a collection and its documents")
    def delete_collection(name: NamePath, db: DbDep) -> dict:
        db.drop_collection(name)
        return {"deleted": name}

    return router
