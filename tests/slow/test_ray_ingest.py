"""Ray ingest on a local 2-CPU Ray: same vectors as a plain add (1e-5), resumable, any backend."""
import json

import numpy as np
import pytest

import vecdb

ray = pytest.importorskip("ray")
pytestmark = [pytest.mark.slow, pytest.mark.timeout(400)]

WORDS = "cell protein gene cancer river ocean mountain cat dog query vector index blood brain drug".split()


def corpus(n, seed=0):
    rng = np.random.default_rng(seed)
    return [{"id": f"d{i}", "text": " ".join(rng.choice(WORDS, size=int(rng.integers(3, 30)))) + f" {i}",
             "metadata": {"i": i, "even": i % 2 == 0} if i % 5 else None} for i in range(n)]


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    yield
    ray.shutdown()


def test_vectors_equal_plain_add(tmp_path, local_ray, minilm_fp32):
    from vecdb.distributed.ray_ingest import ingest

    docs = corpus(300)
    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps(d) + "\n" for d in docs) + "{not json\n")
    with vecdb.open(tmp_path / "db") as db:
        plain = db.create_collection("plain", embedder=minilm_fp32)
        plain.add([d["text"] for d in docs], ids=[d["id"] for d in docs], metadata=[d["metadata"] for d in docs])
        viaray = db.create_collection("ray", embedder=minilm_fp32)
        res = ingest(viaray, [tmp_path], batch_size=64, concurrency=2)
        assert (res.read, res.embedded, res.written, res.failed) == (301, 300, 300, 1)
        ids = [d["id"] for d in docs]
        a = {d.id: d for d in plain.get(ids, include_vectors=True)}
        b = {d.id: d for d in viaray.get(ids, include_vectors=True)}
        assert set(a) == set(b) == set(ids)
        for i in ids:
            assert a[i].text == b[i].text and a[i].metadata == b[i].metadata
            np.testing.assert_allclose(a[i].vector, b[i].vector, atol=1e-5)


def test_resume_into_milvus_lite_from_parquet(tmp_path, local_ray, minilm_fp32):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from vecdb.distributed.ray_ingest import ingest

    docs = corpus(120, seed=1)

    def write(rows):
        pq.write_table(pa.table({"doc": [d["id"] for d in rows], "body": [d["text"] for d in rows],
                                 "metadata": [json.dumps(d["metadata"]) if d["metadata"] else None for d in rows]}),
                       tmp_path / "in.parquet")

    write(docs)
    with vecdb.open(f"milvus-lite://{tmp_path / 'm.db'}") as db:
        coll = db.create_collection("docs", embedder=minilm_fp32)
        first = ingest(coll, [tmp_path / "in.parquet"], text_field="body", id_field="doc", batch_size=50)
        assert (first.embedded, first.written, coll.count()) == (120, 120, 120)
        docs[3]["text"] += " changed"
        docs[4]["metadata"] = {"new": True}
        write(docs)
        again = ingest(coll, [tmp_path / "in.parquet"], text_field="body", id_field="doc", batch_size=50)
        assert (again.embedded, again.metadata_updated, again.skipped) == (1, 1, 118)
        assert coll.get(["d4"])[0].metadata == {"new": True}
        got = coll.get(["d3"], include_vectors=True)[0]
        np.testing.assert_allclose(got.vector, minilm_fp32.embed_documents([docs[3]["text"]])[0], atol=1e-5)


def test_cli_ingest_and_add_ray_in_real_processes(tmp_path):
    """`vecdb ingest FILE --ray local`, again (all skipped), `vecdb add --ray local`, then `vecdb search`."""
    import os
    import subprocess
    import sys

    docs = [{"id": "photo", "text": "Photosynthesis turns sunlight into chemical energy in plants"},
            {"id": "rome", "text": "Rome was not built in a day", "metadata": {"topic": "history"}},
            *({"id": f"n{i}", "text": f"filler document number {i} about {WORDS[i % len(WORDS)]}"} for i in range(40))]
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps(d) + "\n" for d in docs))
    env = dict(os.environ, VECDB_PATH=str(tmp_path / "db"), HF_HUB_OFFLINE="1")
    exe = [sys.executable, "-m", "vecdb.cli.main"]

    def vecdb_cli(*args):
        p = subprocess.run(exe + list(args), env=env, capture_output=True, text=True, timeout=300)
        assert p.returncode == 0, p.stderr[-2000:]
        return json.loads(p.stdout)

    first = vecdb_cli("ingest", str(src), "--ray", "local", "--collection", "c", "--format", "json")
    assert (first["read"], first["embedded"], first["failed"], first["count"]) == (42, 42, 0, 42)
    again = vecdb_cli("ingest", str(src), "--ray", "local", "--collection", "c", "--format", "json")
    assert (again["embedded"], again["skipped"], again["count"]) == (0, 42, 42)
    added = vecdb_cli("add", "--ray", "local", "--collection", "c", "--format", "json",
                      "Mount Everest is the highest mountain on Earth")
    assert added["embedded"] == 1 and added["count"] == 43
    hits = vecdb_cli("search", "how do plants use light", "--collection", "c", "--format", "json")
    assert hits[0]["id"] == "photo"
    hits = vecdb_cli("search", "tallest peak", "--collection", "c", "--format", "json", "-k", "1")
    assert hits[0]["text"].startswith("Mount Everest")
