"""ask(): streaming from a real local OpenAI-compatible HTTP server, citation checks, errors, templates."""
import time

import pytest

from tests.chat_server import ChatServer, closed_port_url
from vecdb.errors import InvalidArgument, UpstreamError
from vecdb.rag.answer import check_citations, load_template
from vecdb.rag.generate import GENERATORS, Generator, OpenAIGenerator

DOCS = ["The Eiffel Tower is in Paris.", "Bananas are yellow.", "Mount Everest is the highest mountain."]


@pytest.fixture
def filled(coll):
    coll.add(DOCS, ids=["eiffel", "banana", "everest"])
    return coll


def test_check_citations():
    valid, invalid, cleaned = check_citations("Paris [1]. Yellow [2, 7]. Nothing [9]. Also [1][3].", 3)
    assert valid == [1, 2, 3] and invalid == [7, 9]
    assert cleaned == "Paris [1]. Yellow [2]. Nothing . Also [1][3]."


def test_ask_streams_events_from_endpoint(filled):
    with ChatServer(["The tower ", "is in Paris ", "[1]", " and [4]."]) as srv:
        ans = filled.ask("Where is the Eiffel Tower?", k=2, api_base=srv.url, api_key="sk-test", model="m1")
        events = list(ans.events())
    kinds = [e["event"] for e in events]
    assert kinds == ["context"] + ["token"] * 4 + ["done"]
    assert events[0]["passages"][0]["id"] == "eiffel"
    done = events[-1]
    assert done["raw_answer"] == "The tower is in Paris [1] and [4]."
    assert done["answer"] == "The tower is in Paris [1] and ."
    assert [c["citation"] for c in done["citations"]] == [1] and done["citations"][0]["document_id"] == "eiffel"
    assert done["invalid_citations"] == [4]
    req = srv.requests[0]
    assert req["path"] == "/v1/chat/completions" and req["auth"] == "Bearer sk-test"
    body = req["body"]
    assert body["stream"] is True and body["model"] == "m1"
    assert "[1] (eiffel) The Eiffel Tower is in Paris." in body["messages"][-1]["content"]
    assert "Where is the Eiffel Tower?" in body["messages"][-1]["content"]


def test_custom_template_string_and_file(filled, tmp_path):
    with ChatServer(["ok"]) as srv:
        filled.ask("Where?", k=1, api_base=srv.url, template="Q: {question}\nC: {context}").complete()
        f = tmp_path / "t.txt"
        f.write_text("FILE {context} // {question}")
        filled.ask("Where?", k=1, api_base=srv.url, template=str(f)).complete()
    assert srv.requests[0]["body"]["messages"][-1]["content"].startswith("Q: Where?\nC: [1]")
    assert srv.requests[1]["body"]["messages"][-1]["content"].startswith("FILE [1]")
    with pytest.raises(InvalidArgument) as e:
        load_template("no placeholders {context}")
    assert e.value.argument == "template" and "{question}" in str(e.value)


def test_unreachable_endpoint_fails_fast(filled):
    t = time.perf_counter()
    ans = filled.ask("Where is the Eiffel Tower?", api_base=closed_port_url(), timeout=5)
    with pytest.raises(UpstreamError) as e:
        list(ans.events())
    assert e.value.argument == "api_base" and "cannot reach" in str(e.value)
    assert time.perf_counter() - t < 5


def test_slow_endpoint_times_out(filled):
    with ChatServer(["late"], delay=3) as srv:
        t = time.perf_counter()
        with pytest.raises(UpstreamError, match="did not answer within 0.5s"):
            filled.ask("Where?", api_base=srv.url, timeout=0.5).complete()
        assert time.perf_counter() - t < 2.5


def test_endpoint_error_status(filled):
    with ChatServer(status=503) as srv:
        with pytest.raises(UpstreamError, match="HTTP 503.*overloaded"):
            filled.ask("Where?", api_base=srv.url).complete()


@pytest.mark.parametrize("kwargs,arg", [
    (dict(question=""), "question"), (dict(k=0), "k"), (dict(max_tokens=2), "max_tokens"),
    (dict(max_new_tokens=0), "max_new_tokens"), (dict(api_base="ftp://x"), "api_base"),
    (dict(template="{question} only"), "template"), (dict(timeout=0), "timeout")])
def test_ask_bad_input(filled, kwargs, arg):
    args = {"question": "Where is the Eiffel Tower?", "api_base": "http://127.0.0.1:1/v1", **kwargs}
    with pytest.raises(InvalidArgument) as e:
        filled.ask(args.pop("question"), **args)
    assert e.value.argument == arg


def test_generator_registry_contract():
    assert set(GENERATORS) == {"local", "openai"}
    for cls in GENERATORS.values():
        assert issubclass(cls, Generator) and cls.name in GENERATORS
    with ChatServer(["a", "b"]) as srv:
        assert list(OpenAIGenerator(srv.url).stream([{"role": "user", "content": "hi"}], 4)) == ["a", "b"]
