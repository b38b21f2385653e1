"""In-process app: auth, errors as 4xx JSON naming the problem, limits, and rejected requests change nothing."""
import base64
import re

import numpy as np
import pytest
from fastapi.testclient import TestClient

from vecdb.server import Settings, create_app

KEY = "s3cret-key"
AUTH = {"Authorization": f"Bearer {KEY}"}
DOCS = [{"id": "a", "text": "The Eiffel Tower is in Paris", "metadata": {"year": 2020}},
        {"id": "b", "text": "Bananas are yellow", "metadata": {"year": 2024}}]


@pytest.fixture(scope="module")
def client(tmp_path_factory, minilm):
    app = create_app(Settings(db_path=tmp_path_factory.mktemp("app") / "db", api_key=KEY, models=("minilm",), max_batch=4,
                              max_body_bytes=64 * 1024, max_text_chars=2000, max_k=50))
    with TestClient(app, headers=AUTH) as c:
        assert c.post("/v1/collections", json={"name": "docs"}).status_code == 201
        assert c.post("/v1/collections/docs/documents", json={"documents": DOCS}).status_code == 200
        yield c
        c.headers.update(AUTH)


def snapshot(c):
    docs = c.post("/v1/collections/docs/documents/get", json={"ids": ["a", "b", "c"]}).json()
    names = [x["name"] for x in c.get("/v1/collections").json()["collections"]]
    return docs, names


def test_auth(client):
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": KEY}, {"Authorization": "Basic " + KEY}):
        client.headers.pop("Authorization", None)
        client.headers.update(headers)
        for method, path in (("GET", "/v1/collections"), ("GET", "/metrics"), ("POST", "/v1/embeddings"),
                             ("GET", "/openapi.json"), ("GET", "/no/such/path")):
            r = client.request(method, path, json={"input": "x", "model": "minilm"})
            assert r.status_code == 401, (headers, path)
            err = r.json()["error"]
            assert err["type"] == "authentication_error", err
            assert err["code"] == ("missing_api_key" if not headers else "invalid_api_key"), err
        assert client.get("/health").status_code == 200
    client.headers.update(AUTH)
    assert client.get("/v1/collections").status_code == 200


BAD = [
    ("post", "/v1/collections", {"name": "../etc"}, 400, "name"),
    ("post", "/v1/collections", {"name": "a/b"}, 400, "name"),
    ("post", "/v1/collections", {"name": "docs"}, 409, "name"),
    ("post", "/v1/collections", {"name": "new", "model": "/etc/passwd"}, 404, "model"),
    ("post", "/v1/collections", {"name": "new", "pooling": "nope"}, 422, "pooling"),
    ("post", "/v1/collections", {"name": "new", "exist_ok": "yes"}, 422, "exist_ok"),
    ("post", "/v1/collections", {"name": "abc\n"}, 400, "name"),
    ("get", "/v1/collections/a..b", None, 400, "name"),
    ("get", "/v1/collections/.hidden", None, 400, "name"),
    ("get", "/v1/collections/nope", None, 404, "collection"),
    ("delete", "/v1/collections/nope", None, 404, "collection"),
    ("post", "/v1/collections/docs/documents", {"documents": [{"id": "c", "text": "ok"}, {"id": "d", "text": " "}]},
     400, "texts"),
    ("post", "/v1/collections/docs/documents", {"documents": [{"id": "c", "text": "ok"}, {"id": "c", "text": "x"}]},
     400, "ids"),
    ("post", "/v1/collections/docs/documents", {"documents": [{"id": "c", "text": "x", "metadata": {"v": [1, {"z": None}]}},
                                                              {"id": "d", "text": 5}]}, 422, "documents"),
    ("post", "/v1/collections/docs/documents", {"documents": [{"id": f"x{i}", "text": "t"} for i in range(5)]}, 422,
     "documents"),
    ("post", "/v1/collections/docs/documents", {"documents": [{"id": "c", "text": "y" * 2001}]}, 422, "documents"),
    ("post", "/v1/collections/docs/documents", b'{"documents": [{"id": "c", "text": "\\ud800"}]}', 422,
     "documents[0].text"),
    ("post", "/v1/collections/docs/documents", {"docs": []}, 422, "documents"),
    ("post", "/v1/collections/docs/documents", {"documents": [{"id": "c", "text": "ok", "metadata": [1]}]}, 422,
     "documents"),
    ("post", "/v1/collections/nope/documents", {"documents": [{"id": "c", "text": "ok"}]}, 404, "collection"),
    ("post", "/v1/collections/docs/documents/delete", {"ids": []}, 422, "ids"),
    ("post", "/v1/collections/docs/documents/delete", {"ids": ["a", "a"]}, 400, "ids"),
    ("post", "/v1/collections/docs/documents/delete", {"ids": ["a", ""]}, 422, "ids"),
    ("post", "/v1/collections/docs/documents/delete", {"ids": ["a", " "]}, 400, "ids"),
    ("post", "/v1/collections/docs/search", {"query": "x", "queries": ["y"]}, 422, "body"),
    ("post", "/v1/collections/docs/search", {"query": "x", "k": 0}, 422, "k"),
    ("post", "/v1/collections/docs/search", {"query": "x", "k": 51}, 422, "k"),
    ("post", "/v1/collections/docs/search", {"query": "x", "k": "5"}, 422, "k"),
    ("post", "/v1/collections/docs/search", {"query": "x", "where": {"a..b": 1}}, 400, "where"),
    ("post", "/v1/collections/docs/search", {"query": "  "}, 400, "query"),
    ("post", "/v1/collections/docs/search", {"query": "x", "where": {"year": {"$regex": "1"}}}, 400, "where"),
    ("post", "/v1/collections/docs/search", {"query": "x", "include": ["secrets"]}, 422, "include"),
    ("post", "/v1/embeddings", {"input": [], "model": "minilm"}, 422, "input"),
    ("post", "/v1/embeddings", {"input": [1, "a"], "model": "minilm"}, 422, "input"),
    ("post", "/v1/embeddings", {"input": [[101, 30522]], "model": "minilm"}, 400, "input"),
    ("post", "/v1/embeddings", {"input": [" "], "model": "minilm"}, 400, "input"),
    ("post", "/v1/embeddings", {"input": [[1, -1]], "model": "minilm"}, 422, "input"),
    ("post", "/v1/embeddings", {"input": "x", "model": "../../etc"}, 404, "model"),
    ("post", "/v1/embeddings", {"input": "x", "model": "minilm", "dimensions": 385}, 422, "dimensions"),
    ("post", "/v1/embeddings", {"input": "x", "model": "minilm", "encoding_format": "int8"}, 422, "encoding_format"),
]


@pytest.mark.parametrize("method,path,body,status,param", BAD, ids=[f"{b[1]}-{i}" for i, b in enumerate(BAD)])
def test_bad_input_is_4xx_and_changes_nothing(client, method, path, body, status, param):
    before = snapshot(client)
    if isinstance(body, bytes):  # not encodable by httpx: sent as raw JSON text
        r = client.request(method.upper(), path, content=body, headers={"content-type": "application/json"})
    else:
        r = client.request(method.upper(), path, json=body)
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert (err["param"] == param or param in err["message"]) and err["message"], err
    assert snapshot(client) == before


def test_body_limit_and_malformed_json(client):
    before = snapshot(client)
    big = {"documents": [{"id": "big", "text": "word " * 20000}]}
    r = client.post("/v1/collections/docs/documents", json=big)
    assert r.status_code == 413 and "bytes" in r.json()["error"]["message"]
    r = client.post("/v1/collections/docs/documents", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 422
    assert snapshot(client) == before


def test_documents_search_and_include(client):
    assert client.post("/v1/collections", json={"name": "other"}).status_code == 201
    assert client.post("/v1/collections/other/documents", json={"documents": DOCS}).json()["added"] == 2
    r = client.post("/v1/collections/other/search", json={"query": "tower in paris", "k": 2, "include": []})
    assert r.status_code == 200
    hits = r.json()["hits"]
    assert [h["id"] for h in hits] == ["a", "b"] and set(hits[0]) == {"id", "score"}
    r = client.post("/v1/collections/other/search", json={"queries": ["paris", "fruit"], "k": 5,
                                                         "where": {"year": {"$gte": 2021}}})
    res = r.json()["results"]
    assert [[h["id"] for h in x["hits"]] for x in res] == [["b"], ["b"]]
    assert res[0]["hits"][0]["metadata"] == {"year": 2024} and res[0]["hits"][0]["text"] == "Bananas are yellow"
    info = client.get("/v1/collections/other").json()
    assert info["count"] == 2 and info["spec"]["model"] == "minilm" and info["spec"]["pooling"] == "mean"
    got = client.post("/v1/collections/other/documents/get", json={"ids": ["b", "zz"], "include": ["vector"]}).json()
    assert got["missing"] == ["zz"] and len(got["documents"][0]["vector"]) == 384
    assert client.get("/v1/collections/other/documents/a").json()["metadata"] == {"year": 2020}
    assert client.post("/v1/collections/other/documents/delete", json={"ids": ["a", "zz"]}).json() == {"deleted": 1}
    assert client.get("/v1/collections/other/documents/a").status_code == 404
    assert client.delete("/v1/collections/other").status_code == 200
    assert [c["name"] for c in client.get("/v1/collections").json()["collections"]] == ["docs"]


def test_embeddings_dimensions_base64_usage(client, minilm):
    texts = ["the cat sat on the mat", "rivers flow"]
    full = client.post("/v1/embeddings", json={"input": texts, "model": "minilm"}).json()
    direct = minilm.embed_documents(texts)
    assert np.allclose(np.array([d["embedding"] for d in full["data"]]), direct, atol=1e-5)
    assert full["usage"]["prompt_tokens"] == sum(minilm.count_tokens(texts)) > 0
    r = client.post("/v1/embeddings", json={"input": texts, "model": "docs", "dimensions": 64,
                                            "encoding_format": "base64"}).json()
    v = np.stack([np.frombuffer(base64.b64decode(d["embedding"]), dtype="<f4") for d in r["data"]])
    want = direct[:, :64] / np.linalg.norm(direct[:, :64], axis=1, keepdims=True)
    assert v.shape == (2, 64) and np.allclose(v, want, atol=1e-5)
    assert np.allclose(np.linalg.norm(v, axis=1), 1, atol=1e-5)


def test_metrics(client):
    client.post("/v1/embeddings", json={"input": ["a b c", "d e f"], "model": "minilm"})
    text = client.get("/metrics").text
    assert 'vecdb_documents{collection="docs"} 2' in text
    assert re.search(r'vecdb_http_requests_total\{method="POST",route="/v1/embeddings",status="200"\} [1-9]', text)
    assert re.search(r'vecdb_http_request_duration_seconds_count\{method="POST",route="/v1/embeddings"\} [1-9]', text)
    assert "vecdb_embedding_batch_size_count" in text


def test_no_key_means_open(tmp_path, minilm):
    with TestClient(create_app(Settings(db_path=tmp_path / "db", models=("minilm",)))) as c:
        assert c.get("/v1/collections").status_code == 200
        assert c.get("/docs").status_code == 200
        assert "/v1/embeddings" in c.get("/openapi.json").json()["paths"]
