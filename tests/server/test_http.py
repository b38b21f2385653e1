"""Two real uvicorn servers in subprocesses writing and searching one database at once."""
import random
import threading

import pytest

import vecdb

from .conftest import Server

pytestmark = pytest.mark.slow


def test_two_servers_write_and_read_at_once(servers):
    db, a, b = servers
    with a.client() as c:
        r = c.post("/v1/collections", json={"name": "shared", "exist_ok": True})
        assert r.status_code == 201, r.text
    acked: dict[str, str] = {}
    failures: list[str] = []
    lock = threading.Lock()
    topics = "cells proteins rivers oceans mountains dogs cats music".split()

    def writer(server: Server, name: str):
        rng = random.Random(name)
        with server.client() as c:
            for batch in range(6):
                docs = [{"id": f"{name}-{batch}-{i}", "text": f"{name} writes about {rng.choice(topics)} "
                         f"number {batch * 4 + i}", "metadata": {"writer": name}} for i in range(4)]
                docs.append({"id": "contended", "text": f"last written by {name} batch {batch}"})
                r = c.post("/v1/collections/shared/documents", json={"documents": docs})
                if r.status_code != 200:
                    failures.append(f"{name}: {r.status_code} {r.text}")
                    continue
                with lock:
                    acked.update({d["id"]: d["text"] for d in docs})

    def reader(server: Server, name: str):
        with server.client() as c:
            for _ in range(10):
                r = c.post("/v1/collections/shared/search", json={"query": "rivers and oceans", "k": 5})
                if r.status_code != 200:
                    failures.append(f"{name}: {r.status_code} {r.text}")

    threads = [threading.Thread(target=writer, args=(s, n)) for s, n in ((a, "a1"), (a, "a2"), (b, "b1"), (b, "b2"))]
    threads += [threading.Thread(target=reader, args=(s, n)) for s, n in ((a, "ra"), (b, "rb"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures, failures[:3]
    assert len(acked) == 4 * 6 * 4 + 1
    for server in (a, b):
        with server.client() as c:
            assert c.get("/v1/collections/shared").json()["count"] == len(acked)
            got = c.post("/v1/collections/shared/documents/get", json={"ids": sorted(acked)}).json()
            assert not got["missing"]
            texts = {d["id"]: d["text"] for d in got["documents"]}
            assert texts == {i: t for i, t in acked.items() if i != "contended"} | {"contended": texts["contended"]}
            assert texts["contended"].startswith("last written by")
    # A write acknowledged by one server is found by the other's very next search.
    with a.client() as ca, b.client() as cb:
        r = ca.post("/v1/collections/shared/documents",
                    json={"documents": [{"id": "fresh", "text": "zebras grazing on the savanna at dawn"}]})
        assert r.status_code == 200
        hits = cb.post("/v1/collections/shared/search", json={"query": "zebras on the savanna", "k": 1}).json()["hits"]
        assert hits[0]["id"] == "fresh"
        assert cb.post("/v1/collections/shared/documents/delete", json={"ids": ["fresh"]}).json() == {"deleted": 1}
        hits = ca.post("/v1/collections/shared/search", json={"query": "zebras on the savanna", "k": 1}).json()["hits"]
        assert hits[0]["id"] != "fresh"
    with vecdb.open(db) as d:
        check = d.get_collection("shared").check()
    assert check["ok"] and check["stored"] == len(acked), check
