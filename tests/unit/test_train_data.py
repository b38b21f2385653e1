import json

import pytest

from vecdb.errors import InvalidArgument
from vecdb.train import data


def _write(tmp_path, rows, name="d.jsonl"):
    p = tmp_path / name
    p.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n")
    return p


def test_triples_pairs_and_lists(tmp_path):
    p = _write(tmp_path, [
        {"query": "How to use Power BI", "positive": "Power BI is a tool", "negative": "Excel is powerful"},
        {"query": "an offer he can't refuse", "positive": "The Godfather"},
        {"query": "q", "positive": "p", "negative": ["n1", "n2"], "instruction": "Find the film"},
    ])
    ex = data.load(p)
    assert [e.negatives for e in ex] == [["Excel is powerful"], [], ["n1", "n2"]]
    assert ex[2].instruction == "Find the film" and ex[0].instruction is None
    assert ex[1].positive == "The Godfather" and ex[1].key() == "The Godfather"


def test_labelled_data(tmp_path):
    p = _write(tmp_path, [{"input": "server down for all users", "label": "High Severity",
                           "negative_label": "Low Severity"},
                          {"input": "server down for all users", "label": "Outage"}])
    ex = data.load(p)
    assert (ex[0].query, ex[0].positive, ex[0].negatives) == ("server down for all users", "High Severity",
                                                              ["Low Severity"])
    assert ex[0].positive_ids == {"High Severity", "Outage"}


@pytest.mark.parametrize("row,needle", [
    ({"positive": "p"}, "line 2: field 'query': is missing"),
    ({"query": "q", "positive": ""}, "line 2: field 'positive': must be a non-empty string"),
    ({"query": "q", "positive": "p", "negative": [1]}, "line 2: field 'negative'"),
    ({"input": "x"}, "line 2: field 'label': is missing"),
    ({"query": "q", "positive": "p", "instruction": 3}, "line 2: field 'instruction'"),
    ("[1, 2]", "line 2: must be a JSON object"),
    ("{not json", "line 2: not valid JSON"),
])
def test_validation_names_line_and_field(tmp_path, row, needle):
    p = _write(tmp_path, [{"query": "ok", "positive": "ok"}, row])
    with pytest.raises(InvalidArgument) as e:
        data.load(p)
    assert needle in str(e.value) and "d.jsonl" in str(e.value)


def test_missing_and_empty(tmp_path):
    with pytest.raises(InvalidArgument, match="neither"):
        data.load(tmp_path / "nope.jsonl")
    with pytest.raises(InvalidArgument, match="no training examples"):
        data.load(_write(tmp_path, [""]))


def test_beir_folder(tmp_path):
    (tmp_path / "qrels").mkdir()
    (tmp_path / "corpus.jsonl").write_text(
        "\n".join(json.dumps(d) for d in [{"_id": "d1", "title": "T", "text": "one"}, {"_id": "d2", "text": "two"},
                                          {"_id": "d3", "text": "three"}]) + "\n")
    (tmp_path / "queries.jsonl").write_text(json.dumps({"_id": "q1", "text": "first?"}) + "\n")
    (tmp_path / "qrels" / "train.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\t1\nq1\td3\t1\n")
    ex = data.load(tmp_path)
    assert [(e.query, e.positive, e.positive_id) for e in ex] == [("first?", "T one", "d1"), ("first?", "three", "d3")]
    assert ex[0].positive_ids == {"d1", "d3"}
    with pytest.raises(InvalidArgument, match="qrels/dev.tsv"):
        data.load(tmp_path, split="dev")
