"""vecdb synth against a tiny local OpenAI-compatible chat server, and with the packaged SmolLM2."""
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

import vecdb
from vecdb.cli.main import main
from vecdb.train import data
from vecdb.train.synth import ChatEndpoint, LocalGenerator, synthesize

DOCS = ["Aspirin lowers the risk of heart attack in adults over fifty.",
        "Coffee intake is not linked to cancer risk in large cohort studies.",
        "Exercise improves memory in older adults.",
        "Vitamin D deficiency is common in northern countries during winter."]


class Chat(BaseHTTPRequestHandler):
    """Answers like an LLM would, including malformed answers for some documents."""
    seen = []

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        Chat.seen.append((self.headers.get("Authorization"), body))
        prompt = body["messages"][-1]["content"]
        if "defines a search task" in prompt:
            answer = "Given a scientific claim, retrieve abstracts that support or refute it."
        elif "Write one short search query" in prompt:
            answer = ("" if "Coffee" in prompt else "Query: \"does aspirin prevent heart attacks\"" if "Aspirin" in prompt
                      else "ok" if "Exercise" in prompt else "is vitamin D deficiency common in winter")
        else:
            answer = ("Aspirin is a common drug sold in many pharmacies and has a long history of use." if "aspirin"
                      in prompt else "no")
        if "Vitamin" in prompt and "search query" in prompt:
            payload = {"choices": []}  # malformed response body
        else:
            payload = {"choices": [{"message": {"role": "assistant", "content": answer}}]}
        data_ = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data_)))
        self.end_headers()
        self.wfile.write(data_)

    def log_message(self, *a):
        pass


@pytest.fixture
def server():
    srv = HTTPServer(("127.0.0.1", 0), Chat)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    Chat.seen.clear()
    yield f"http://127.0.0.1:{srv.server_address[1]}/v1"
    srv.shutdown()


def test_synthesize_drops_and_counts_malformed(server):
    rows = []
    gen = ChatEndpoint(server, "sk-test", "tiny-chat")
    stats = synthesize(gen, list(enumerate(DOCS)), rows.append, DOCS[:3])
    assert stats.task == "Given a scientific claim, retrieve abstracts that support or refute it."
    # Aspirin: query + negative; Coffee: empty query; Exercise: too short; Vitamin: malformed body
    assert stats.to_dict()["dropped"] == {"task": 0, "query": 3, "negative": 0}
    assert rows == [{"query": "does aspirin prevent heart attacks", "positive": DOCS[0], "instruction": stats.task,
                     "doc_id": 0, "negative": "Aspirin is a common drug sold in many pharmacies and has a long "
                                               "history of use."}]
    auth, body = Chat.seen[0]
    assert auth == "Bearer sk-test" and body["model"] == "tiny-chat" and body["temperature"] == 0


def test_cli_synth_writes_valid_training_data(tmp_path, server, monkeypatch, capsys, minilm):
    with vecdb.open(tmp_path / "db") as db:
        db.create_collection("c", embedder=minilm).add(DOCS, ids=["a", "b", "c", "d"])
    out = tmp_path / "triples.jsonl"
    code = main(["synth", "--collection", "c", "--db", str(tmp_path / "db"), "--out", str(out), "--api-base", server,
                 "--model", "m", "--format", "json"])
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    assert result["written"] == 1 and result["dropped"]["query"] == 3 and result["docs"] == 4
    ex = data.load(out)
    assert len(ex) == 1 and ex[0].negatives and ex[0].instruction.startswith("Given")


def test_unreachable_endpoint_is_a_one_line_error(tmp_path, minilm, capsys):
    with vecdb.open(tmp_path / "db") as db:
        db.create_collection("c", embedder=minilm).add(DOCS[:1])
    with pytest.raises(SystemExit) as e:
        main(["synth", "-c", "c", "--db", str(tmp_path / "db"), "--out", str(tmp_path / "t.jsonl"),
              "--api-base", "http://127.0.0.1:9/v1"])
    assert e.value.code != 0
    assert capsys.readouterr().err.startswith("error: api_base: request to http://127.0.0.1:9/v1/chat/completions")
    assert not (tmp_path / "t.jsonl").exists()


@pytest.mark.slow
def test_local_smollm2_generates_offline():
    gen = LocalGenerator("smollm2-135m")
    rows = []
    stats = synthesize(gen, [("d1", DOCS[0])], rows.append, DOCS[:2], max_new_tokens=16, negatives=False)
    assert stats.docs == 1 and stats.written + stats.dropped["query"] == 1
    for r in rows:  # whatever was written passed the checks
        assert 3 <= len(r["query"].split()) <= 40 and r["positive"] in DOCS
    print(stats.to_dict(), rows)
