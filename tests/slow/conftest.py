import pytest


@pytest.fixture(scope="session")
def scifact_db(scifact, tmp_path_factory, minilm):
    """SciFact embedded once per session with MiniLM into collection "scifact"; (db path, eval metrics)."""
    import vecdb
    from vecdb import evaluate

    path = tmp_path_factory.mktemp("scifact") / "db"
    with vecdb.open(path) as db:
        coll = db.create_collection("scifact", embedder=minilm)
        metrics = evaluate.evaluate_collection(coll, scifact, "test")
    return path, metrics
