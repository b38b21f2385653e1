"""Property: an add either fails with a VecdbError (HTTP: 4xx) and leaves the database byte-for-byte
unchanged, or succeeds and every document reads back exactly. Over the Python API and over HTTP."""
from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, assume, event, given, settings

import vecdb
from vecdb.errors import VecdbError
from vecdb.server import Settings, create_app

from .strategies import batches, state

SETTINGS = settings(max_examples=200, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                           HealthCheck.data_too_large])


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    """One database for every example, so each add meets what earlier ones stored (upserts, collisions)."""
    path = tmp_path_factory.mktemp("prop") / "db"
    db = vecdb.open(path)
    coll = db.create_collection("p", model="hash")
    coll.add(["seed one", "seed two"], ids=["a", "b"], metadata=[{"x": 1}, None])
    yield path, coll
    db.close()


def _same_metadata(got, expected) -> bool:
    return json.dumps(got, sort_keys=True) == json.dumps(expected, sort_keys=True)


@SETTINGS
@given(batch=batches())
def test_add_is_all_or_nothing(shared, batch):
    path, coll = shared
    before = state(path)
    try:
        res = coll.add(batch["texts"], ids=batch["ids"], metadata=batch["metadata"], batch_size=2)
    except VecdbError as e:
        event(f"refused: {e.argument}")
        assert "\n" not in str(e) and e.argument
        assert state(path) == before
        return
    event("stored")
    docs = {d.id: d for d in coll.get(res.ids)}
    metas = batch["metadata"] or [None] * len(batch["texts"])
    for doc_id, text, meta in zip(res.ids, batch["texts"], metas):
        assert docs[doc_id].text == text
        assert docs[doc_id].metadata == meta and _same_metadata(docs[doc_id].metadata, meta)


@pytest.fixture(scope="module")
def client(shared):
    path, _ = shared
    with TestClient(create_app(Settings(db_path=path, models=("hash",)))) as c:
        yield path, c


@SETTINGS
@given(batch=batches())
def test_http_add_is_all_or_nothing(client, batch):
    path, c = client
    ids = batch["ids"] if batch["ids"] is not None and len(batch["ids"]) == len(batch["texts"]) else None
    metas = batch["metadata"] or [None] * len(batch["texts"])
    docs = [{"id": ids[i] if ids else None, "text": t, "metadata": metas[i]} for i, t in enumerate(batch["texts"])]
    try:  # lone surrogates travel as \\u escapes, as any JSON client may send them
        body = json.dumps({"documents": docs}, ensure_ascii=True)
    except (TypeError, ValueError):
        assume(False)  # not expressible in JSON at all: nothing to send
    sent = json.loads(body)["documents"]
    before = state(path)
    r = c.post("/v1/collections/p/documents", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code < 500, r.text
    event(f"status {r.status_code}")
    if r.status_code != 200:
        assert r.status_code in (400, 413, 422), r.text
        assert r.json()["error"]["message"]
        assert state(path) == before
        return
    got = c.post("/v1/collections/p/documents/get", json={"ids": r.json()["ids"]}).json()["documents"]
    assert len(got) == len(sent)
    for doc, want in zip(got, sent):
        assert doc["text"] == want["text"]
        assert _same_metadata(doc["metadata"], want["metadata"])
