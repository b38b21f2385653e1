"""Shared fixtures of the backend contract: every backend, a filled collection, a coverage registry."""
from __future__ import annotations

import pytest


# The real server takes ~15 s to start and ~4 s per collection: its cases are in the slow tier.
BACKENDS = ["local", "milvus-lite", pytest.param("milvus-server", marks=pytest.mark.slow)]
DOCS = [
    ("a", "The cat sat on the mat", {"kind": "pet", "year": 2020, "score": 0.5, "tags": "x", "nested": {"n": 1}}),
    ("b", "Dogs are loyal companions", {"kind": "pet", "year": 2022, "score": 1.5, "flag": True}),
    ("c", "The river flows into the ocean", {"kind": "nature", "year": 2018, "flag": False}),
    ("d", "Mountains are covered in snow", {"kind": "nature", "year": "2022"}),
    ("e", 'Quotes "inside" and back\\slash text', None),
]
COVERED: dict[str, set[str]] = {"Collection": set(), "Database": set()}


def covers(*names: str):
    """Mark a contract case as exercising these public methods ("Collection.add", "Database.close")."""
    for n in names:
        owner, _, method = n.partition(".")
        COVERED[owner].add(method)
    return lambda fn: fn


def location(backend: str, tmp_path, request) -> str:
    if backend == "local":
        return str(tmp_path / "db")
    if backend == "milvus-lite":
        pytest.importorskip("milvus_lite")
        return f"milvus-lite://{tmp_path / 'vectors.db'}"
    return request.getfixturevalue("milvus_server_db")


def fill(db, name: str = "docs"):
    c = db.create_collection(name, model="hash")
    c.add([t for _, t, _ in DOCS], ids=[i for i, _, _ in DOCS], metadata=[m for _, _, m in DOCS])
    return c
