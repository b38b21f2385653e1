"""POST /v1/collections/{name}/context and /ask (server-sent events) over the in-process app."""
import json

import pytest
from fastapi.testclient import TestClient

from vecdb.server import Settings, create_app
from tests.chat_server import ChatServer, closed_port_url
from vecdb.rag.generate import OpenAIGenerator

DOCS = [{"id": "eiffel", "text": "The Eiffel Tower is in Paris."}, {"id": "banana", "text": "Bananas are yellow."}]


@pytest.fixture(scope="module")
def client(tmp_path_factory, minilm):
    app = create_app(Settings(db_path=tmp_path_factory.mktemp("rag") / "db", models=("minilm",)))
    with TestClient(app) as c:
        assert c.post("/v1/collections", json={"name": "docs"}).status_code == 201
        assert c.post("/v1/collections/docs/documents", json={"documents": DOCS}).status_code == 200
        yield c


def sse(text: str) -> list[dict]:
    return [json.loads(line[5:]) for line in text.splitlines() if line.startswith("data:")]


def test_context(client):
    r = client.post("/v1/collections/docs/context", json={"question": "Where is the Eiffel Tower?", "k": 1,
                                                         "max_tokens": 100, "hybrid": True})
    assert r.status_code == 200
    p = r.json()["passages"]
    assert len(p) == 1 and p[0]["citation"] == 1 and p[0]["id"] == "eiffel"
    alias = client.post("/collections/docs/context", json={"question": "Where is the Eiffel Tower?", "k": 1,
                                                           "max_tokens": 100, "hybrid": True})
    assert alias.status_code == 200 and alias.json() == r.json()
    for body, status, param in [({"question": " "}, 400, "question"), ({"question": "x", "k": 0}, 422, "k"),
                                ({"question": "x", "max_tokens": 1}, 400, "max_tokens"),
                                ({"question": "x", "mmr": 2}, 422, "mmr")]:
        r = client.post("/v1/collections/docs/context", json=body)
        assert r.status_code == status and r.json()["error"]["param"] == param, r.text


def test_ask_streams_sse(client):
    with ChatServer(["In Paris ", "[1]", " [3]."]) as srv:
        client.app.state.chat_generator = OpenAIGenerator(srv.url)
        r = client.post("/v1/collections/docs/ask", json={"question": "Where is the Eiffel Tower?", "k": 2})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
    events = sse(r.text)
    assert [e["event"] for e in events] == ["context", "token", "token", "token", "done"]
    done = events[-1]
    assert done["answer"] == "In Paris [1] ." and done["invalid_citations"] == [3]
    assert done["citations"][0]["document_id"] == "eiffel"


def test_ask_upstream_errors_are_502(client):
    client.app.state.chat_generator = OpenAIGenerator(closed_port_url(), timeout=3)
    r = client.post("/v1/collections/docs/ask", json={"question": "Where is the Eiffel Tower?"})
    assert r.status_code == 502 and r.json()["error"]["param"] == "api_base"
    with ChatServer(status=500) as srv:
        client.app.state.chat_generator = OpenAIGenerator(srv.url)
        r = client.post("/v1/collections/docs/ask", json={"question": "Where is the Eiffel Tower?"})
    assert r.status_code == 502 and "HTTP 500" in r.json()["error"]["message"]
    r = client.post("/v1/collections/docs/ask", json={"question": ""})
    assert r.status_code == 400 and r.json()["error"]["param"] == "question"
    r = client.post("/v1/collections/nope/ask", json={"question": "x"})
    assert r.status_code == 404
