"""RRF, MMR, near-duplicate removal, the token budget, hybrid search and context() bad input."""
import numpy as np
import pytest

from vecdb.records import Hit
from vecdb.errors import InvalidArgument
from vecdb.rag.context import mmr_order, near_duplicates
from vecdb.rag.retrieve import fts_query, rrf

DOCS = {"eiffel": "The Eiffel Tower is in Paris and was finished in 1889.",
        "eiffel2": "The Eiffel Tower is in Paris and was completed in 1889.",
        "louvre": "The Louvre in Paris is the most visited art museum.",
        "banana": "Bananas are yellow fruit rich in potassium.",
        "everest": "Mount Everest is the highest mountain on Earth.",
        "zx81": "The ZX81 home computer shipped with 1 KB of RAM."}


@pytest.fixture
def filled(minilm_coll):
    """MiniLM: near-duplicate removal is about meaning, and the budgets count its tokens."""
    minilm_coll.add(list(DOCS.values()), ids=list(DOCS))
    return minilm_coll


def hit(i, row):
    return Hit(i, 0.0, i, None, row_id=row)


def test_rrf_scores_and_order():
    dense = [hit("a", 1), hit("b", 2), hit("c", 3)]
    sparse = [hit("c", 3), hit("d", 4), hit("a", 1)]
    fused = rrf([dense, sparse])
    scores = {h.id: h.score for h in fused}
    assert scores["a"] == pytest.approx(1 / 61 + 1 / 63) and scores["c"] == pytest.approx(1 / 63 + 1 / 61)
    assert scores["b"] == pytest.approx(1 / 62) and scores["d"] == pytest.approx(1 / 62)
    assert [h.id for h in fused][:2] == ["a", "c"] and len(fused) == 4  # ties keep first-seen order


def test_mmr_trades_relevance_for_diversity():
    q = np.array([1.0, 0.0, 0.0], np.float32)
    v = np.array([[0.95, 0.31, 0], [0.94, 0.34, 0], [0.7, 0, 0.71]], np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    assert mmr_order(q, v, 1.0, 3) == [0, 1, 2]       # pure relevance
    assert mmr_order(q, v, 0.5, 3) == [0, 2, 1]       # the near-copy of the first goes last
    assert mmr_order(q, v, 0.5, 1) == [0] and mmr_order(q, v[:0], 0.5, 3) == []


def test_near_duplicates():
    v = np.array([[1, 0], [1, 0], [0.6, 0.8], [0, 1]], np.float32)
    assert near_duplicates(v, ["a", "b", "c", "A "]) == [0, 2]  # same vector; same text up to case/space


def test_fts_query_is_safe():
    assert fts_query('AND "x" OR (y*) NEAR') == '"and" OR "x" OR "or" OR "y" OR "near"'
    assert fts_query("?!") is None


def test_context_numbers_dedupes_and_budgets(filled):
    ctx = filled.context("When was the Eiffel Tower built?", k=4, max_tokens=1000)
    ids = [p.id for p in ctx.passages]
    assert [p.citation for p in ctx.passages] == list(range(1, len(ids) + 1))
    assert ids[0] in ("eiffel", "eiffel2") and not {"eiffel", "eiffel2"} <= set(ids)  # near-duplicate dropped
    both = filled.context("When was the Eiffel Tower built?", k=4, max_tokens=1000, dedupe=False)
    assert {"eiffel", "eiffel2"} <= {p.id for p in both.passages}
    small = filled.context("When was the Eiffel Tower built?", k=4, max_tokens=30)
    assert small.tokens <= 30 and len(small.passages) == 2
    assert "[1] (" in small.render() and small.to_dict()["passages"][0]["citation"] == 1
    with pytest.raises(InvalidArgument) as e:
        filled.context("When was the Eiffel Tower built?", k=4, max_tokens=5)
    assert e.value.argument == "max_tokens" and "too small for a single passage" in str(e.value)


def test_context_mmr_and_hybrid(filled):
    plain = filled.context("Paris landmarks", k=3, max_tokens=500, dedupe=False)
    diverse = filled.context("Paris landmarks", k=3, max_tokens=500, dedupe=False, mmr=0.3)
    assert len(diverse.passages) == 3 and [p.id for p in diverse.passages] != [p.id for p in plain.passages]
    hyb = filled.context("ZX81 RAM", k=2, max_tokens=500, hybrid=True)
    assert hyb.passages[0].id == "zx81"


def test_hybrid_search_fuses_keyword_and_dense(filled):
    dense = filled.search("ZX81", k=6)
    bm = filled.bm25("ZX81", k=6)
    hyb = filled.search("ZX81", k=6, hybrid=True)
    assert [h.id for h in bm] == ["zx81"] and hyb[0].id == "zx81"
    assert {h.id for h in hyb} == {h.id for h in dense}  # BM25 adds no new ids here, only reorders
    assert filled.search("Paris", k=2, hybrid=True, where={"none": 1}) == []


@pytest.mark.parametrize("kwargs,arg", [
    (dict(question=""), "question"), (dict(question="   "), "question"), (dict(question=None), "question"),
    (dict(k=0), "k"), (dict(k=-3), "k"), (dict(max_tokens=0), "max_tokens"), (dict(max_tokens="9"), "max_tokens"),
    (dict(mmr=1.5), "mmr"), (dict(mmr=True), "mmr")])
def test_context_bad_input(filled, kwargs, arg):
    args = {"question": "Eiffel", **kwargs}
    with pytest.raises(InvalidArgument) as e:
        filled.context(args.pop("question"), **args)
    assert e.value.argument == arg
