"""One contract, every backend: each public method of vecdb.Database behaves the same on local,
Milvus Lite and a real Milvus server; and every public method has a contract case."""
import inspect

import pytest

import vecdb
from vecdb.errors import CollectionExists, CollectionNotFound, SpecMismatch, Unsupported

from .backends import COVERED, covers, fill

pytestmark = pytest.mark.contract


@covers("Database.create_collection", "Database.get_collection", "Database.has_collection",
        "Database.list_collections", "Database.collection_names", "Database.get_or_create_collection")
def test_collections_and_spec_enforcement(store, docs):
    with pytest.raises(SpecMismatch):
        store.get_collection("docs", max_length=64)
    with pytest.raises(CollectionExists):
        store.create_collection("docs", model="hash")
    with pytest.raises(CollectionNotFound):
        store.get_collection("nope")
    assert store.has_collection("docs") and not store.has_collection("nope")
    listed = store.list_collections()
    assert [c["name"] for c in listed] == ["docs"] == store.collection_names()
    assert listed[0]["dim"] == 256 and listed[0]["count"] == 5 and listed[0]["model"] == "hash"
    assert store.get_or_create_collection("docs", model="hash").count() == 5
    assert store.get_or_create_collection("other", model="hash").count() == 0


@covers("Database.create_collection")
def test_create_from_a_recorded_spec(store, docs):
    c = store.create_collection("copy", spec=docs.spec)
    assert c.spec == docs.spec and not c.embedder_loaded
    c.add(["fresh text"], ids=["x"])
    assert c.search("fresh", k=1)[0].id == "x" and c.embedder_loaded


@covers("Database.drop_collection", "Database.close", "Database.closed", "Database.save")
def test_persistence_across_reopen_and_drop(loc):
    with vecdb.open(loc) as db:
        db.create_collection("p", model="hash").add(["one", "two"], ids=["1", "2"], metadata=[{"x": 1}, None])
        db.save()
    assert db.closed
    with vecdb.open(loc) as db:
        c = db.get_collection("p")
        assert c.spec.model == "hash" and c.count() == 2
        assert c.get(["1"])[0].metadata == {"x": 1} and c.get(["2"])[0].metadata is None
        assert c.search("one", k=1)[0].id == "1"
        db.drop_collection("p")
        assert not db.has_collection("p")
        with pytest.raises(CollectionNotFound):
            db.drop_collection("p")


@covers("Database.replace_collection")
def test_replace_collection(store, docs):
    new = store.create_collection("docs-next", model="hash")
    new.add(["replacement text"], ids=["r"])
    synced = []
    out = store.replace_collection("docs", "docs-next", sync=lambda: synced.append(1))
    assert synced == [1] and out.name == "docs" and [d.id for d in out.get()] == ["r"]
    assert store.collection_names() == ["docs"]


@covers("Database.reembed")
def test_reembed(store, docs):
    new = store.reembed("docs", max_length=64)
    assert new.spec.max_length == 64 and new.count() == 5 and new.check()["ok"]
    assert store.collection_names() == ["docs"]
    assert store.get_collection("docs").search("the cat on a mat", k=1)[0].id == "a"


@covers("Database.reindex")
def test_reindex_or_a_clear_refusal(store, docs):
    if docs.supports("reindex"):
        c = store.reindex("docs", "hnsw")
        assert c.index_config["type"] == "hnsw" and c.count() == 5
        assert c.search("the cat on a mat", k=1)[0].id == "a"
    else:
        with pytest.raises(Unsupported, match="index: reindex is not available"):
            store.reindex("docs", "hnsw")


@covers("Database.embedder_for", "Database.pooler_path", "Database.disk_usage")
def test_embedders_and_usage(store, docs):
    assert store.embedder_for(docs.spec).spec == docs.spec
    assert store.pooler_path(docs.spec) is None  # no trainable pooling layer
    assert store.disk_usage() >= 0


def test_read_only_open_of_a_missing_database(backend, tmp_path):
    if backend == "milvus-server":
        pytest.skip("a server always exists")
    where = str(tmp_path / "none") if backend == "local" else f"milvus-lite://{tmp_path / 'none.db'}"
    with pytest.raises(vecdb.StorageError, match="db: no database at"):
        vecdb.open(where, create=False)


def test_staging_collections_are_listed_and_droppable(store):
    fill(store, "__reembed__docs")
    listed = {c["name"]: c for c in store.list_collections()}
    assert listed["__reembed__docs"]["staging"]
    store.drop_collection("__reembed__docs")
    assert store.collection_names() == []


def test_every_public_method_has_a_contract_case():
    """A public method added to Collection or Database without a case here fails this test."""
    from . import test_collection_contract  # noqa: F401  (registers its cases)

    for cls in (vecdb.Collection, vecdb.Database):
        public = {n for n, v in inspect.getmembers(cls) if not n.startswith("_") and (callable(v) or isinstance(v, property))}
        missing = public - COVERED[cls.__name__]
        assert not missing, f"{cls.__name__} methods without a contract case: {sorted(missing)}"
