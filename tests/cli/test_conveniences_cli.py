"""The collection conveniences on the command line (real processes): get without ids (list, page,
filter, fields), delete by filter with --dry-run, similar, --min-score/--include, CSV/TSV input."""
import json
import subprocess

import pytest

import vecdb
from tests.conftest import vecdb_cmd


def vdb(dbpath, *args, input=None, ok=True):
    out = subprocess.run([*vecdb_cmd(), *args, "--db", str(dbpath), "--collection", "c"], input=input,
                         capture_output=True, text=True, timeout=120)
    if ok:
        assert out.returncode == 0, out.stderr
    return out


def as_json(out):
    return json.loads(out.stdout)


@pytest.fixture
def dbpath(tmp_path):
    csv = tmp_path / "papers.csv"
    csv.write_text("doi,abstract,topic,year\n"
                   "d1,Cats sleep on warm mats all day,pets,2020\n"
                   "d2,Cats and dogs share a home,pets,2021\n"
                   "d3,Stock markets fell on rate fears,finance,2022\n"
                   'd4,"Bond yields rose, markets wobbled",finance,2023\n')
    path = tmp_path / "db"
    vdb(path, "add", "--csv", str(csv), "--id-column", "doi", "--text-column", "abstract", "--model", "hash")
    return path


def test_add_csv_and_tsv(dbpath, tmp_path):
    with vecdb.open(dbpath) as db:
        docs = db.get_collection("c").get()
    assert [(d.id, d.metadata) for d in docs][:2] == [("d1", {"topic": "pets", "year": "2020"}),
                                                      ("d2", {"topic": "pets", "year": "2021"})]
    assert docs[3].text == "Bond yields rose, markets wobbled"
    tsv = tmp_path / "more.tsv"
    tsv.write_text("id\ttext\tsource\nt1\tTea leaves steep in hot water\tnotes\n")
    vdb(dbpath, "add", "--tsv", str(tsv))
    assert as_json(vdb(dbpath, "get", "t1", "--format", "json"))[0]["metadata"] == {"source": "notes"}
    bad = vdb(dbpath, "add", "--csv", str(tsv), "--text-column", "body", ok=False)
    assert bad.returncode != 0 and "--text-column: no column 'body'" in bad.stderr


def test_get_lists_pages_filters_and_picks_fields(dbpath):
    assert [d["id"] for d in as_json(vdb(dbpath, "get", "--format", "json"))] == ["d1", "d2", "d3", "d4"]
    page = as_json(vdb(dbpath, "get", "--limit", "2", "--offset", "1", "--format", "json"))
    assert [d["id"] for d in page] == ["d2", "d3"]
    slim = as_json(vdb(dbpath, "get", "--where", '{"topic": "finance"}', "--include", "metadata", "--format", "json"))
    assert slim == [{"id": "d3", "metadata": {"topic": "finance", "year": "2022"}},
                    {"id": "d4", "metadata": {"topic": "finance", "year": "2023"}}]
    with vecdb.open(dbpath) as db:
        want = [d.to_dict(["text"]) for d in db.get_collection("c").get(where={"topic": "pets"}, include=["text"])]
    assert as_json(vdb(dbpath, "get", "--where", '{"topic": "pets"}', "--include", "text", "--format", "json")) == want
    bad = vdb(dbpath, "get", "d1", "--limit", "1", ok=False)
    assert bad.returncode != 0 and "ids" in bad.stderr


def test_delete_by_filter_with_dry_run(dbpath):
    dry = vdb(dbpath, "delete", "--where", '{"topic": "finance"}', "--dry-run")
    assert "would delete 2" in dry.stderr
    with vecdb.open(dbpath) as db:
        assert db.get_collection("c").count() == 4
    gone = vdb(dbpath, "delete", "--where", '{"topic": "finance"}', "--format", "json")
    assert as_json(gone) == {"deleted": 2}
    with vecdb.open(dbpath) as db:
        assert [d.id for d in db.get_collection("c").get()] == ["d1", "d2"]
    none = vdb(dbpath, "delete", ok=False)
    assert none.returncode != 0 and "ids" in none.stderr


def test_similar_min_score_and_include(dbpath):
    with vecdb.open(dbpath) as db:
        coll = db.get_collection("c")
        want_similar = [h.id for h in coll.similar("d1", k=2)]
        hits = coll.search("cats on mats", k=4)
    got = as_json(vdb(dbpath, "similar", "d1", "-k", "2", "--format", "json"))
    assert [h["id"] for h in got] == want_similar and "d1" not in want_similar
    missing = vdb(dbpath, "similar", "nope", ok=False)
    assert missing.returncode != 0 and "no document 'nope'" in missing.stderr

    floor = hits[1].score
    top = as_json(vdb(dbpath, "search", "cats on mats", "-k", "4", "--min-score", repr(floor), "--format", "json"))
    assert [h["id"] for h in top] == [h.id for h in hits if h.score >= floor]
    bare = as_json(vdb(dbpath, "search", "cats on mats", "-k", "1", "--include", "metadata", "--format", "json"))
    assert bare[0]["id"] == hits[0].id and "text" not in bare[0] and bare[0]["metadata"]["topic"] == "pets"
