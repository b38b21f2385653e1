"""The collection conveniences over HTTP on a live `vecdb serve`: documents/list (page, filter, fields),
delete by filter with dry_run, similar, min_score and include on search; each answer equals the library's."""
import pytest

import vecdb
from tests.server.conftest import Server

DOCS = [("d1", "Cats sleep on warm mats all day", {"topic": "pets", "year": 2020}),
        ("d2", "Cats and dogs share a home", {"topic": "pets", "year": 2021}),
        ("d3", "Stock markets fell on rate fears", {"topic": "finance", "year": 2022}),
        ("d4", "Bond yields rose, markets wobbled", {"topic": "finance", "year": 2023})]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    path = tmp_path_factory.mktemp("conveniences") / "db"
    with vecdb.open(path) as db:
        db.create_collection("c", model="hash").add([t for _, t, _ in DOCS], ids=[i for i, _, _ in DOCS],
                                                    metadata=[m for _, _, m in DOCS])
    server = Server(path).wait()
    with server.client() as client:
        yield client, path
    server.stop()


def post(client, path, body, status=200):
    r = client.post(f"/v1/collections/c{path}", json=body)
    assert r.status_code == status, r.text
    return r.json()


def test_get_lists_pages_filters_and_picks_fields(served):
    client, _ = served
    assert [d["id"] for d in post(client, "/documents/list", {})["documents"]] == ["d1", "d2", "d3", "d4"]
    page = post(client, "/documents/list", {"limit": 2, "offset": 1})["documents"]
    assert [d["id"] for d in page] == ["d2", "d3"]
    slim = post(client, "/documents/list", {"where": {"year": {"$gte": 2022}}, "include": ["metadata"]})["documents"]
    assert slim == [{"id": "d3", "metadata": DOCS[2][2]}, {"id": "d4", "metadata": DOCS[3][2]}]
    assert post(client, "/documents/list", {"limit": 2, "offset": 3})["documents"][0]["id"] == "d4"
    assert post(client, "/documents/list", {"where": {"year": {"$near": 1}}}, 400)["error"]["param"] == "where"


def test_similar_min_score_and_include(served):
    client, path = served
    with vecdb.open(path) as db:
        coll = db.get_collection("c")
        want = [h.to_dict() for h in coll.similar("d1", k=2)]
        hits = coll.search("cats on mats", k=4)
    got = post(client, "/similar", {"id": "d1", "k": 2})["hits"]
    assert [h["id"] for h in got] == [h["id"] for h in want]
    assert [h["score"] for h in got] == pytest.approx([h["score"] for h in want])
    assert post(client, "/similar", {"id": "nope"}, 404)["error"]["param"] == "id"
    floor = hits[1].score
    top = post(client, "/search", {"query": "cats on mats", "k": 4, "min_score": floor})["hits"]
    assert [h["id"] for h in top] == [h.id for h in hits if h.score >= floor]
    bare = post(client, "/search", {"query": "cats on mats", "k": 1, "include": ["metadata"]})["hits"]
    assert bare == [{"id": hits[0].id, "score": pytest.approx(hits[0].score), "metadata": hits[0].metadata}]


def test_delete_by_filter_with_dry_run(served):
    client, path = served
    assert post(client, "/documents/delete", {"where": {"topic": "finance"}, "dry_run": True}) == {"deleted": 2}
    assert len(post(client, "/documents/list", {})["documents"]) == 4
    assert post(client, "/documents/delete", {"where": {"topic": "finance"}}) == {"deleted": 2}
    with vecdb.open(path) as db:
        assert [d.id for d in db.get_collection("c").get()] == ["d1", "d2"]
    post(client, "/documents/delete", {}, 422)                                        # neither ids nor where
    post(client, "/documents/delete", {"ids": ["d1"], "where": {"topic": "pets"}}, 422)  # both
