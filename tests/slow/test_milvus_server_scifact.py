"""SciFact on a real Milvus server: the same vectors give the local nDCG@10 within 0.002."""
import pytest

import vecdb
from vecdb import evaluate
from vecdb.transfer import copy_collection


@pytest.mark.slow
def test_scifact_ndcg_on_a_milvus_server_equals_local(scifact, scifact_db, milvus_server_db):
    path, local = scifact_db
    with vecdb.open(path) as db, vecdb.open(milvus_server_db) as server:
        src = db.get_collection("scifact")
        moved = copy_collection(src, server, batch_size=1000)
        assert moved.copied == src.count() == 5183
        remote = evaluate.evaluate_collection(server.get_collection("scifact"), scifact, "test")
    print(f"\nSciFact nDCG@10: local {local['ndcg@10']:.4f}, Milvus server {remote['ndcg@10']:.4f}")
    assert abs(remote["ndcg@10"] - local["ndcg@10"]) <= 0.002
