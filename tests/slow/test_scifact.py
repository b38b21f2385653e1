"""MiniLM on BEIR SciFact reproduces MTEB's published nDCG@10 (0.645) within 0.01; `vecdb eval` agrees."""
import json

import pytest

from vecdb.cli.main import main
from vecdb import evaluate


@pytest.mark.slow
def test_scifact_ndcg(scifact_db):
    path, m = scifact_db
    print(f"\nSciFact: {m}")
    assert abs(m["ndcg@10"] - 0.645) <= 0.01, m
    assert 0.85 <= m["recall@100"] <= 1.0 and m["recall@10"] <= m["recall@100"]
    assert m["docs_per_second"] > 0


@pytest.mark.slow
def test_scifact_cli_eval_on_collection(scifact, scifact_db, capsys):
    path, m = scifact_db
    code = main(["eval", str(scifact), "--db", str(path), "--collection", "scifact", "--format", "json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert set(out) == set(evaluate.METRICS) | {"embed_seconds", "docs_per_second"}
    assert out["ndcg@10"] == pytest.approx(m["ndcg@10"], abs=1e-9)
