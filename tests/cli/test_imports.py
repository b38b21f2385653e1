"""Commands that do not embed import neither torch nor transformers, so they start in a fraction of a second.
Checked in fresh interpreters (subprocesses), on a collection whose model is the real MiniLM."""
import json
import subprocess
import sys

HEAVY = ("torch", "transformers")
RUN = """
import json, sys
from vecdb.cli.main import main
codes = []
for args in json.loads(sys.argv[1]):
    try:
        codes.append(main(args))
    except SystemExit as e:
        codes.append(e.code)
print(json.dumps({"codes": codes, "loaded": sorted(m for m in %r if m in sys.modules)}))
""" % (HEAVY,)


def run_commands(commands: list[list[str]], env: dict | None = None) -> dict:
    p = subprocess.run([sys.executable, "-c", RUN, json.dumps(commands)], capture_output=True, text=True,
                       env=env, timeout=120)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout.splitlines()[-1])


def test_import_vecdb_loads_no_model_code():
    code = ("import sys, vecdb\nfirst = sorted(m for m in ('torch', 'transformers', 'sqlalchemy', 'faiss') "
            "if m in sys.modules)\nvecdb.Database, vecdb.Collection, vecdb.Hit\n"
            "print(first, sorted(m for m in ('torch', 'transformers') if m in sys.modules))")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert p.stdout.strip() == "[] []"


def test_commands_that_do_not_embed_leave_torch_out(tmp_path, minilm):
    import os

    import vecdb

    db = str(tmp_path / "db")
    with vecdb.open(db) as d:
        d.create_collection("c", embedder=minilm).add(["The Eiffel Tower is in Paris", "Bananas are yellow"],
                                                     ids=["a", "b"])
        vector = minilm.embed_queries(["Eiffel Tower"])[0].tolist()
    common = ["--db", db, "-c", "c"]
    commands = [["--help"], ["collections", "--db", db], ["info", *common], ["get", "a", *common],
                ["delete", "zz", *common], ["models"], ["search", "--vector", json.dumps(vector), *common, "-f", "json"],
                ["export", "--to", str(tmp_path / "copy"), *common], ["drop", "c", "--db", db],
                ["daemon", "status"]]
    out = run_commands(commands, env={**os.environ, "VECDB_NO_DAEMON": "0",
                                      "VECDB_DAEMON_DIR": str(tmp_path / "no-worker-here")})
    assert out == {"codes": [0] * len(commands), "loaded": []}
    searched = run_commands([["search", "Eiffel", "--db", str(tmp_path / "copy"), "-c", "c"]])
    assert searched == {"codes": [0], "loaded": list(HEAVY)}  # the check does see a model load
