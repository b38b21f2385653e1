"""Where the benchmarks keep what they build once: a SciFact MiniLM database, frozen features, trained models.

VECDB_BENCH_CACHE (default bench/out/cache, ignored by git) holds them; nothing here is downloaded."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CACHE = Path(os.environ.get("VECDB_BENCH_CACHE", ROOT / "bench" / "out" / "cache"))
SCIFACT = Path(os.environ.get("VECDB_SCIFACT", ROOT.parent / "shared" / "eval" / "scifact"))


def scifact_db(path: Path | None = None) -> Path:
    """A vecdb database with the SciFact corpus in collection "scifact" (MiniLM, default options),
    built on first use (about 1.5 min on 2 cores) and reused afterwards."""
    import vecdb
    from vecdb import evaluate

    path = Path(path) if path else CACHE / "scifact-minilm"
    if (path / "vecdb.sqlite").exists():
        return path
    part = path.with_name(path.name + ".part")
    shutil.rmtree(part, ignore_errors=True)
    print(f"building {path} (SciFact corpus, MiniLM) once", flush=True)
    with vecdb.open(part) as db:
        coll = db.create_collection("scifact", "minilm")
        for chunk in evaluate.iter_corpus(SCIFACT):
            ids, texts, metas = zip(*chunk)
            coll.add(list(texts), ids=list(ids), metadata=list(metas))
    path.parent.mkdir(parents=True, exist_ok=True)
    part.rename(path)
    return path
