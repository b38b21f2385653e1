"""vecdb add --chunk-size/--dir, search --hybrid/--group-by-document, context, ask (against a local HTTP endpoint)."""
import json

from tests.chat_server import ChatServer, closed_port_url
from tests.cli.test_cli import run  # noqa: F401 - the fixture

PARA = "Proteins fold into shapes. Misfolded proteins cause disease in the brain.\n\n"


def test_add_dir_chunked_and_skip_unchanged(run, tmp_path):
    notes = tmp_path / "notes"
    (notes / "sub").mkdir(parents=True)
    (notes / "a.md").write_text(PARA * 12)
    bananas = "Bananas are yellow.\n\nThey grow in the tropics."
    (notes / "sub" / "b.md").write_text(bananas)
    (notes / "skip.txt").write_text("not markdown")
    code, out, err = run("add", "--dir", str(notes), "--glob", "*.md", "--chunk-size", "48", "--chunk-overlap", "8",
                         "--format", "json")
    first = json.loads(out)
    assert code == 0 and first["documents"] == 2 and first["added"] == first["count"] > 2
    code, out, _ = run("add", "--dir", str(notes), "--glob", "*.md", "--chunk-size", "48", "--chunk-overlap", "8",
                       "--format", "json")
    again = json.loads(out)
    assert again["documents"] == 0 and again["documents_unchanged"] == 2 and again["embedded"] == 0
    code, out, _ = run("search", "where do bananas grow", "--group-by-document", "--hybrid", "-k", "5", "-f", "json")
    hits = json.loads(out)
    assert [h["document_id"] for h in hits] == [str(notes / "sub" / "b.md"), str(notes / "a.md")]
    start, end = hits[0]["span"]
    assert hits[0]["source"] == str(notes / "sub" / "b.md") and start == 0 and hits[0]["text"] == bananas[start:end]
    assert end >= len(bananas) - 1  # one chunk: the whole file (the fake model's tokens leave out the final '.')
    code, _, err = run("add", "--dir", str(notes), "--glob", "*.pdf")
    assert code != 0 and err.startswith("error: --glob:")
    code, _, err = run("add", "x y z", "--chunk-size", "2")
    assert code != 0 and err.startswith("error: chunk_size:")


def test_context_and_ask(run):
    run("add", "The Eiffel Tower is in Paris.", "Bananas are yellow.", "Everest is the highest mountain.")
    code, out, _ = run("context", "Where is the Eiffel Tower?", "-k", "2", "--max-tokens", "100", "--hybrid",
                       "--mmr", "0.7", "-f", "json")
    ctx = json.loads(out)
    assert code == 0 and ctx["passages"][0]["citation"] == 1 and ctx["passages"][0]["text"].startswith("The Eiffel")
    assert ctx["tokens"] <= 100
    code, _, err = run("context", "Where?", "--max-tokens", "2")
    assert code != 0 and err.startswith("error: max_tokens:") and "too small" in err
    code, _, err = run("context", "  ")
    assert code != 0 and err.startswith("error: question:")
    with ChatServer(["It is in ", "Paris [1] [5]."]) as srv:
        code, out, err = run("ask", "Where is the Eiffel Tower?", "--api-base", srv.url, "-k", "2")
        assert code == 0 and out.startswith("It is in Paris [1] [5].") and "Sources:\n[1] " in out
        assert "[5]" in err and "warning" in err
        code, out, _ = run("ask", "Where is the Eiffel Tower?", "--api-base", srv.url, "-f", "jsonl")
        events = [json.loads(line) for line in out.splitlines()]
        assert [e["event"] for e in events] == ["context", "token", "token", "done"]
        assert events[-1]["answer"] == "It is in Paris [1] ." and events[-1]["invalid_citations"] == [5]
    code, _, err = run("ask", "Where?", "--api-base", closed_port_url(), "--timeout", "3")
    assert code != 0 and err.startswith("error: api_base: cannot reach")
    code, _, err = run("ask", "Where?", "-k", "0")
    assert code != 0 and err.startswith("error: k:")
