"""Schemathesis over the app's OpenAPI schema (in-process ASGI, bounded examples): no 5xx anywhere."""
import pytest
from hypothesis import HealthCheck, given, settings

import schemathesis
from vecdb.server import Settings, create_app
from tests.chat_server import ChatServer
from vecdb.rag.generate import OpenAIGenerator

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def app(tmp_path_factory, minilm):
    app = create_app(Settings(db_path=tmp_path_factory.mktemp("schema") / "db", models=("minilm",), max_batch=8,
                              max_text_chars=500, max_k=100))
    coll = app.state.db.create_collection("docs", embedder=minilm)
    coll.add(["The Eiffel Tower is in Paris", "Bananas are yellow"], ids=["a", "b"], metadata=[{"y": 1}, None])
    with ChatServer(["Paris [1]."]) as chat:  # /ask answers from a local endpoint, not the local model
        app.state.chat_generator = OpenAIGenerator(chat.url)
        yield app
    app.state.batcher.close()
    app.state.db.close()


def test_no_server_errors(app):
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    seen = 0
    for result in schema.get_all_operations():
        operation = result.ok()

        @settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @given(case=operation.as_strategy())
        def check(case):
            response = case.call()
            assert response.status_code < 500, (case.method, case.formatted_path, case.body, response.text[:500])
            ctype = response.headers.get("content-type") or [""]
            assert ctype[0].startswith(("application/json", "text/plain", "text/html", "text/event-stream")), ctype

        check()
        seen += 1
    assert seen >= 12  # every operation was exercised
