"""The `vecdb` command: in-process for speed, plus real subprocesses for the shell path."""
import json
import os
import subprocess
import sys

import pytest

from vecdb.cli.main import main


@pytest.fixture
def run(tmp_path, monkeypatch, capsys):
    """main() in this process, on a fresh database, with the fake `hash` model unless --model says otherwise."""
    monkeypatch.setenv("VECDB_PATH", str(tmp_path / "db"))
    monkeypatch.setenv("VECDB_MODEL", "hash")

    def _run(*args, stdin: str | bytes | None = None):
        if stdin is not None:
            data = stdin.encode() if isinstance(stdin, str) else stdin
            import io

            monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
        try:
            code = main(list(args))
        except SystemExit as e:
            code = e.code
        out = capsys.readouterr()
        return code, out.out, out.err

    return _run


def test_add_and_search_json(run):
    code, _, err = run("add", "The Eiffel Tower is in Paris", "Bananas are yellow", "GPUs multiply matrices")
    assert code == 0 and "added 3" in err
    code, out, _ = run("search", "Where is the Eiffel Tower?", "--format", "json", "-k", "2")
    hits = json.loads(out)
    assert code == 0 and len(hits) == 2
    assert set(hits[0]) == {"id", "score", "text", "metadata"}
    assert hits[0]["text"] == "The Eiffel Tower is in Paris" and hits[0]["score"] >= hits[1]["score"]


def test_formats(run):
    run("add", "alpha", "beta", "--id", "a", "--id", "b", "--metadata", '{"src": "t"}')
    code, out, _ = run("search", "alpha", "--format", "jsonl")
    lines = [json.loads(x) for x in out.splitlines()]
    assert lines[0]["id"] == "a" and lines[0]["metadata"] == {"src": "t"}
    code, out, _ = run("search", "alpha", "--format", "csv")
    assert out.splitlines()[0] == "rank,id,score,text,metadata" and ",a," in out.splitlines()[1]
    code, out, _ = run("search", "alpha", "--format", "table")
    assert code == 0 and "alpha" in out
    code, out, _ = run("get", "a", "--format", "json")
    assert json.loads(out) == [{"id": "a", "text": "alpha", "metadata": {"src": "t"}}]
    code, out, _ = run("collections", "--format", "json")
    assert json.loads(out)[0]["name"] == "default" and json.loads(out)[0]["count"] == 2
    code, out, _ = run("info", "--format", "json")
    assert json.loads(out)["spec"]["model"] == "hash"


def test_stdin_file_and_jsonl(run, tmp_path):
    code, _, _ = run("add", "-", stdin="first line doc\n\nsecond line doc\n")
    assert code == 0
    f = tmp_path / "note.txt"
    f.write_text("A note about volcanoes and lava.")
    assert run("add", "--file", str(f))[0] == 0
    j = tmp_path / "d.jsonl"
    j.write_text('{"id": "j1", "text": "jsonl doc about sailing", "metadata": {"k": 1}}\n'
                 '{"text": "jsonl doc without id"}\n')
    assert run("add", "--jsonl", str(j), "-c", "other")[0] == 0
    code, out, _ = run("search", "lava", "--format", "json", "-k", "1")
    assert json.loads(out)[0]["id"] == str(f) and json.loads(out)[0]["metadata"] == {"source": str(f)}
    code, out, _ = run("search", "boats", "-c", "other", "--format", "json", "--where", '{"k": 1}')
    assert [h["id"] for h in json.loads(out)] == ["j1"]
    code, out, _ = run("search", "-", "--format", "json", stdin="lava\nline\n")
    assert [r["query"] for r in json.loads(out)] == ["lava", "line"]


def test_delete_and_drop(run):
    run("add", "one", "two", "--id", "1", "--id", "2")
    assert run("delete", "1")[0] == 0
    code, out, err = run("get", "1", "2", "--format", "json")
    assert code == 1 and [d["id"] for d in json.loads(out)] == ["2"] and "not found: 1" in err
    assert run("drop", "default")[0] == 0
    code, _, err = run("search", "x")
    assert code == 1 and "no collection named 'default'" in err


@pytest.mark.parametrize("args,stdin,fragment", [
    (("search", "x", "-k", "0"), None, "-k: must be a positive integer"),
    (("search", "x", "--where", "{bad json"), None, "--where: not valid JSON"),
    (("search", "x", "--where", "[1]"), None, "--where: must be a JSON object"),
    (("search", "x", "--where", '{"a": {"$near": 1}}'), None, "where.a.$near"),
    (("search", "x", "-c", "missing"), None, "no collection named 'missing'"),
    (("add", "   "), None, "texts[0]: empty or whitespace-only"),
    (("add", "x", "--metadata", "[1, 2]"), None, "--metadata: must be a JSON object"),
    (("add", "x", "-c", "new", "--model", "minilm", "--pooling", "median"), None, "pooling: unknown value 'median'"),
    (("add", "-"), b"caf\xe9\n", "not UTF-8"),
    (("add", "--jsonl", "-"), '{"id": 5, "text": "x"}\n', "'id' must be a string"),
    (("add", "--jsonl", "-"), '{"text": "x", "metadata": [1]}\n', "'metadata' must be a JSON object"),
    (("add", "--jsonl", "-"), 'not json\n', "line 1 is not valid JSON"),
    (("search",), None, "query: missing"),
    (("search", "--vector", "[1, 2]"), None, "vectors: expected finite vectors of dimension 256"),
    (("search", "--vector", "[[1], [1, 2]]"), None, "--vector: the vectors differ in length"),
    (("search", "x", "--vector", "[1]"), None, "--vector: give either a query or --vector"),
    (("ask", "x", "--max-new-tokens", "0"), None, "max_new_tokens: must be a positive integer"),
    (("frobnicate",), None, "No such command"),
])
def test_errors_are_one_line_and_nonzero(run, args, stdin, fragment):
    run("add", "existing document", "--id", "e")
    code, out, err = run(*args, stdin=stdin)
    assert code != 0
    lines = [x for x in err.splitlines() if x.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert fragment in lines[0]
    assert "Traceback" not in err
    code, out, _ = run("get", "e", "--format", "json")
    assert code == 0 and json.loads(out)[0]["text"] == "existing document"


def test_search_by_vector_and_quiet(run):
    from vecdb.embed import load_embedder

    code, out, err = run("add", "alpha beta", "gamma delta", "--id", "a", "--id", "g", "--quiet")
    assert code == 0 and out == "" and err == ""
    vector = load_embedder(model="hash").embed_queries(["gamma"])[0].tolist()
    code, out, _ = run("search", "--vector", json.dumps(vector), "-f", "json")
    by_text = run("search", "gamma", "-f", "json")[1]
    assert code == 0 and json.loads(out)[0]["id"] == "g" and json.loads(out) == json.loads(by_text)
    code, out, _ = run("search", "--vector", json.dumps([vector, vector]), "-f", "json", "-k", "1")
    assert [r["query"] for r in json.loads(out)] == ["vector 1", "vector 2"]


def test_non_utf8_file(run, tmp_path):
    f = tmp_path / "latin1.txt"
    f.write_bytes("caf\xe9".encode("latin-1"))
    code, _, err = run("add", "--file", str(f))
    assert code == 1 and "--file" in err and "latin1.txt" in err and "not UTF-8" in err


@pytest.mark.slow
def test_real_shell_add_then_search(tmp_path):
    """`vecdb add "..."` then `vecdb search "..." --format json` as separate processes."""
    env = dict(os.environ, VECDB_PATH=str(tmp_path / "shell-db"))
    exe = [sys.executable, "-m", "vecdb.cli.main"]
    docs = ["The mitochondria is the powerhouse of the cell", "Rome was not built in a day",
            "Photosynthesis turns light into chemical energy"]
    p = subprocess.run(exe + ["add", *docs], env=env, capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    p = subprocess.run(exe + ["search", "how do plants use sunlight", "--format", "json"], env=env,
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    hits = json.loads(p.stdout)
    assert hits[0]["text"] == docs[2]
    p = subprocess.run(exe + ["search", "x", "-k", "-1"], env=env, capture_output=True, text=True)
    assert p.returncode != 0 and p.stderr.strip().count("\n") == 0 and p.stderr.startswith("error:")
