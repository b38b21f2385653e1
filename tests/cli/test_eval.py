"""`vecdb eval` on a tiny BEIR folder: metric keys, ranking sanity, errors."""
import json

import pytest

from vecdb.cli.main import main

DOCS = [("d1", "Paris", "The Eiffel Tower is a wrought-iron tower in Paris, France."),
        ("d2", "Bananas", "Bananas are a yellow fruit rich in potassium."),
        ("d3", "GPUs", "Graphics processors multiply matrices very quickly."),
        ("d4", "", "The Amazon is the largest rainforest on Earth.")]
QUERIES = [("q1", "Where is the Eiffel Tower?"), ("q2", "Which fruit is yellow?"), ("q3", "unjudged query")]


@pytest.fixture
def beir(tmp_path):
    d = tmp_path / "beir"
    (d / "qrels").mkdir(parents=True)
    (d / "corpus.jsonl").write_text("".join(json.dumps({"_id": i, "title": t, "text": x}) + "\n" for i, t, x in DOCS))
    (d / "queries.jsonl").write_text("".join(json.dumps({"_id": i, "text": x}) + "\n" for i, x in QUERIES))
    (d / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td2\t1\n")
    (d / "qrels" / "dev.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td3\t1\n")
    return d


def _run(capsys, *args):
    try:
        code = main(list(args))
    except SystemExit as e:
        code = e.code
    out = capsys.readouterr()
    return code, out.out, out.err


def test_eval_json_keys_and_scores(beir, capsys, minilm):
    code, out, _ = _run(capsys, "eval", str(beir), "--format", "json")
    res = json.loads(out)
    assert code == 0
    assert set(res) == {"ndcg@10", "recall@10", "recall@100", "mrr@10", "map@10", "embed_seconds",
                        "docs_per_second"}
    assert res["ndcg@10"] == pytest.approx(1.0) and res["mrr@10"] == pytest.approx(1.0)
    assert res["docs_per_second"] > 0 and res["embed_seconds"] > 0


def test_eval_split_and_existing_collection(beir, tmp_path, capsys, minilm):
    db = tmp_path / "db"
    code, out, _ = _run(capsys, "eval", str(beir), "--split", "dev", "--format", "json")
    assert code == 0 and json.loads(out)["recall@100"] == pytest.approx(1.0)
    assert json.loads(out)["ndcg@10"] < 1.0  # d3 is not the best match for the Eiffel Tower query
    assert _run(capsys, "create", "beir", "--db", str(db))[0] == 0
    code, out, _ = _run(capsys, "eval", str(beir), "--db", str(db), "--collection", "beir", "--format", "json")
    assert code == 0 and json.loads(out)["ndcg@10"] == pytest.approx(1.0)
    code, _, err = _run(capsys, "get", "d4", "--db", str(db), "--collection", "beir", "--format", "json")
    assert code == 0  # the corpus was streamed into the collection


def test_eval_errors(beir, tmp_path, capsys):
    code, _, err = _run(capsys, "eval", str(beir), "--split", "nope")
    assert code != 0 and err.startswith("error: dataset:") and "qrels/nope.tsv" in err
    code, _, err = _run(capsys, "eval", str(tmp_path / "missing"))
    assert code != 0 and err.startswith("error: dataset:") and "not found" in err
    code, _, err = _run(capsys, "eval", str(beir), "--db", str(tmp_path / "db2"), "--collection", "nope")
    assert code != 0 and err.startswith("error: db: no database at") and not (tmp_path / "db2").exists()
    import vecdb

    vecdb.open(tmp_path / "db2").close()
    code, _, err = _run(capsys, "eval", str(beir), "--db", str(tmp_path / "db2"), "--collection", "nope")
    assert code != 0 and err.startswith("error: collection:")
