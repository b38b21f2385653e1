"""`vecdb train` as a real subprocess: mining from a collection, SIGKILL mid-training, resume, use the result."""
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from tests.tiny_models import tiny_decoder
from tests.train.test_trainer import examples

EPOCHS = 400  # many tiny epochs: on a fast machine 30 finished within the kill window
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "VECDB_NO_PROGRESS": "1"}


def vecdb(*args, **kw):
    return subprocess.run([sys.executable, "-m", "vecdb.cli.main", *args], capture_output=True, text=True, env=ENV,
                          timeout=300, **kw)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return str(tiny_decoder(tmp_path_factory.mktemp("m") / "llama"))


def _data(tmp_path):
    p = tmp_path / "triples.jsonl"
    p.write_text("".join(json.dumps({"query": e.query, "positive": e.positive}) + "\n" for e in examples()))
    return p


@pytest.mark.slow
def test_train_is_killed_and_resumes(tmp_path, tiny):
    db = str(tmp_path / "db")
    docs = tmp_path / "docs.txt"
    docs.write_text("\n".join(sorted({e.positive for e in examples()} | {e.negatives[0] for e in examples()})))
    assert vecdb("create", "c", "--model", tiny, "--pooling", "mean", "--dtype", "float32", "--db", db).returncode == 0
    r = vecdb("add", "-", "-c", "c", "--db", db, input=docs.read_text())
    assert r.returncode == 0, r.stderr
    out = tmp_path / "out"
    args = ["train", str(_data(tmp_path)), "--model", tiny, "--mode", "pooling", "--pooling", "last-linear",
            "--epochs", str(EPOCHS), "--batch-size", "4", "--out", str(out), "--hard-negatives", "2", "--skip-top", "1",
            "--collection", "c", "--db", db, "--format", "json"]
    proc = subprocess.Popen([sys.executable, "-m", "vecdb.cli.main", *args], env=ENV, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    ckpt = out / "checkpoint" / "state.ckpt"
    deadline = time.time() + 120
    while not ckpt.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.01)
    # Kill as soon as the first checkpoint exists: with EPOCHS epochs the run cannot have finished (and removed it).
    assert proc.poll() is None, "training finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert ckpt.exists() and not (out / "vecdb_pooler.safetensors").exists()
    r = vecdb(*args)
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    assert "resuming after epoch" in r.stderr and summary["resumed_after"] >= 1
    assert len(summary["loss"]) == EPOCHS - summary["resumed_after"]
    assert not (out / "checkpoint").exists()
    # the folder is a model: a new collection with it, and the old one moved onto it
    assert vecdb("create", "t", "--model", str(out), "--db", db).returncode == 0
    r = vecdb("reembed", "--model", str(out), "-c", "c", "--db", db, "--format", "json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["spec"]["pooling"] == "last-linear"
    r = vecdb("search", examples()[0].query, "-c", "c", "--db", db, "-k", "1", "--format", "json")
    assert r.returncode == 0 and len(json.loads(r.stdout)) == 1


def test_train_errors_are_one_line(tmp_path, tiny):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"query": "q", "positive": "p"}\n{"query": "q"}\n')
    r = vecdb("train", str(bad), "--model", tiny, "--out", str(tmp_path / "o"))
    assert r.returncode != 0
    assert r.stderr.strip() == "error: data: bad.jsonl line 2: field 'positive': is missing"
    r = vecdb("train", str(_data(tmp_path)), "--model", tiny, "--out", str(tmp_path / "o"), "--hard-negatives", "2")
    assert r.returncode != 0 and r.stderr.startswith("error: --collection:")
    r = vecdb("train", str(_data(tmp_path)), "--model", tiny, "--out", str(tmp_path / "o"), "--mode", "half")
    assert r.returncode != 0 and r.stderr.startswith("error: mode: must be one of")
