"""In-process app: what the HTTP contract adds over the library: JSON-only bodies (415), Allow on 405,
/v1/models, token-id input, over-length input never cut silently, search options through the library
(tests/test_architecture.py checks that no server module touches a library object's private names)."""
import numpy as np
import pytest
from fastapi.testclient import TestClient

from vecdb.server import Settings, create_app

LONG = " ".join(f"word{i} river mountain" for i in range(200))  # ~800 minilm tokens, over its 256
DOCS = [{"id": "eiffel", "text": "The Eiffel Tower is in Paris", "metadata": {"year": 2020}},
        {"id": "banana", "text": "Bananas are yellow fruit", "metadata": {"year": 2024}},
        {"id": "paris", "text": "Paris is the capital of France, on the Seine", "metadata": {"year": 2022}}]


@pytest.fixture(scope="module")
def app(tmp_path_factory, minilm):
    app = create_app(Settings(db_path=tmp_path_factory.mktemp("contract") / "db", models=("minilm",)))
    with TestClient(app) as c:
        assert c.post("/v1/collections", json={"name": "docs"}).status_code == 201
        assert c.post("/v1/collections/docs/documents", json={"documents": DOCS}).status_code == 200
        yield app


@pytest.fixture
def client(app):
    return TestClient(app)


def test_json_bodies_only(client):
    before = client.get("/v1/collections/docs").json()["count"]
    body = b'{"documents": [{"id": "x", "text": "never written"}]}'
    for headers in ({}, {"content-type": "application/x-www-form-urlencoded"}, {"content-type": "text/plain"}):
        r = client.post("/v1/collections/docs/documents", content=body, headers=headers)
        err = r.json()["error"]
        assert r.status_code == 415 and "application/json" in err["message"], r.text
        assert err["type"] == "invalid_request_error" and err["code"] == "unsupported_media_type"
    r = client.post("/v1/collections", data={"name": "form"})  # what curl -d sends without -H
    assert r.status_code == 415 and "Content-Type" in r.json()["error"]["message"]
    assert client.get("/v1/collections/docs").json()["count"] == before
    for ctype in ("application/json; charset=utf-8", "application/vnd.vecdb+json"):
        r = client.post("/v1/collections/docs/search", content=b'{"query": "paris", "k": 1}',
                        headers={"content-type": ctype})
        assert r.status_code == 200, r.text


def test_405_names_every_method_of_the_path(client):
    r = client.patch("/v1/collections/docs")
    assert r.status_code == 405 and r.headers["allow"] == "DELETE, GET"
    assert r.json()["error"]["code"] == "method_not_allowed"
    assert client.put("/v1/collections/docs/documents/delete").headers["allow"] == "POST"
    assert client.delete("/v1/models").headers["allow"] == "GET"


def test_models(client):
    r = client.get("/v1/models").json()
    assert r["object"] == "list"
    assert [(m["id"], m["kind"]) for m in r["data"]] == [("minilm", "model"), ("docs", "collection")]
    assert all(m["object"] == "model" and m["owned_by"] == "vecdb" and m["created"] > 0 for m in r["data"])
    assert client.get("/v1/models/docs").json()["kind"] == "collection"
    r = client.get("/v1/models/no-such")
    assert r.status_code == 404 and r.json()["error"] == {
        "message": "model: 'no-such' is neither a model served here nor a collection", "type": "not_found_error",
        "param": "model", "code": "model_not_found"}


def test_token_ids_are_the_models_own(client, minilm):
    texts = ["The Eiffel Tower is in Paris", "rivers flow to the sea"]
    ids = [minilm.tokenizer(t, add_special_tokens=False)["input_ids"] for t in texts]
    got = client.post("/v1/embeddings", json={"input": ids, "model": "minilm"}).json()
    v = np.array([d["embedding"] for d in got["data"]], dtype=np.float32)
    assert np.allclose(v, minilm.embed_token_ids(ids), atol=1e-6)
    assert np.allclose(v, minilm.embed_documents(texts), atol=1e-6)  # a text's ids embed as the text
    assert got["usage"]["prompt_tokens"] == sum(minilm.count_tokens(texts))
    one = client.post("/v1/embeddings", json={"input": ids[0], "model": "docs"}).json()
    assert np.allclose(one["data"][0]["embedding"], v[0], atol=1e-6)
    r = client.post("/v1/embeddings", json={"input": [ids[0], [5, minilm.vocab_size]], "model": "minilm"})
    assert r.status_code == 400 and r.json()["error"]["param"] == "input"
    assert f"token id {minilm.vocab_size} is outside the vocabulary of model 'minilm'" in r.json()["error"]["message"]


def test_over_length_is_never_cut_silently(client, minilm):
    assert minilm.count_tokens([LONG], truncate=False)[0] > minilm.spec.max_length == 256
    r = client.post("/v1/embeddings", json={"input": ["short text", LONG], "model": "minilm"})
    err = r.json()["error"]
    assert r.status_code == 400 and err["code"] == "context_length_exceeded" and err["param"] == "input"
    assert err["message"].startswith("input[1]: ") and "limit of model 'minilm' (256 tokens)" in err["message"]
    assert '"truncate": true' in err["message"]
    r = client.post("/v1/embeddings", json={"input": ["short text", LONG], "model": "minilm", "truncate": True}).json()
    assert r["truncated"] == 1 and r["usage"]["prompt_tokens"] == minilm.count_tokens(["short text"])[0] + 256
    assert np.allclose(r["data"][1]["embedding"], minilm.embed_documents([LONG])[0], atol=1e-6)
    ids = minilm.tokenizer(LONG, add_special_tokens=False)["input_ids"]
    r = client.post("/v1/embeddings", json={"input": ids, "model": "minilm"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "context_length_exceeded"
    r = client.post("/v1/embeddings", json={"input": ids, "model": "minilm", "truncate": True}).json()
    assert r["truncated"] == 1 and np.allclose(r["data"][0]["embedding"], minilm.embed_documents([LONG])[0],
                                               atol=1e-6)
    fine = client.post("/v1/embeddings", json={"input": "short text", "model": "minilm"}).json()
    assert fine["truncated"] == 0


def test_server_default_truncate(tmp_path, minilm):
    app = create_app(Settings(db_path=tmp_path / "db", models=("minilm",), truncate=True, batching=False))
    with TestClient(app) as c:
        assert c.post("/v1/embeddings", json={"input": LONG, "model": "minilm"}).json()["truncated"] == 1
        r = c.post("/v1/embeddings", json={"input": LONG, "model": "minilm", "truncate": False})
        assert r.status_code == 400 and r.json()["error"]["code"] == "context_length_exceeded"


def test_search_options_are_the_librarys(app, client):
    coll = app.state.db.get_collection("docs")
    for options in ({}, {"hybrid": True}, {"group_by_document": True}, {"where": {"year": {"$gte": 2022}}},
                    {"min_score": 0.3}, {"include": ["vector"]}):
        want = coll.search("Paris France", k=3, **options)
        got = client.post("/v1/collections/docs/search", json={"query": "Paris France", "k": 3, **options}).json()
        assert [(h["id"], round(h["score"], 5)) for h in got["hits"]] == [(h.id, round(h.score, 5)) for h in want]
        assert [sorted(h) for h in got["hits"]] == [sorted(h.to_dict(options.get("include", ("text", "metadata"))))
                                                   for h in want]
        many = client.post("/v1/collections/docs/search",
                           json={"queries": ["Paris France", "yellow fruit"], "k": 3, **options}).json()
        assert [h["id"] for h in many["results"][0]["hits"]] == [h.id for h in want]
        assert many["results"][1]["query"] == "yellow fruit"
    assert client.post("/v1/collections/docs/search", json={"query": "x", "hybrid": "yes"}).status_code == 422

