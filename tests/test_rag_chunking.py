"""Chunking: exact spans, token limits, overlap, preferred boundaries; chunked add/replace/delete; FTS sync."""
import sqlite3

import pytest

import vecdb
from vecdb.chunking import Chunker
from vecdb.errors import InvalidArgument

SENTS = ["Cells divide by mitosis in most tissues.", "Proteins fold into shapes that decide their function.",
         "Misfolded proteins can cause disease in the brain.", "Blood carries oxygen from the lungs to the body.",
         "The river flows to the ocean past the mountain.", "Drug treatment lowered the risk for most patients."]


def paragraphs(n=8):
    return "\n\n".join(" ".join(SENTS[(i + j) % len(SENTS)] for j in range(2)) for i in range(n))


@pytest.fixture
def chunker(minilm):
    return lambda size=48, overlap=8: Chunker(minilm.tokenizer, size, overlap, minilm.spec.max_length)


def test_spans_exact_tokens_bounded_and_text_covered(chunker):
    text = paragraphs(10)
    c = chunker(40, 8)
    chunks = c.split(text)
    assert len(chunks) > 3
    covered = set()
    for ch in chunks:
        assert text[ch.start:ch.end] == ch.text and ch.text == ch.text.strip()
        assert c.count(ch.text) <= 40
        covered.update(range(ch.start, ch.end))
    assert all(i in covered for i, ch in enumerate(text) if not ch.isspace())
    assert [ch.index for ch in chunks] == list(range(len(chunks)))


def test_overlap_and_no_overlap(chunker, minilm):
    text = " ".join(SENTS * 4)
    with_overlap = chunker(32, 8).split(text)
    for a, b in zip(with_overlap, with_overlap[1:]):
        assert b.start < a.end                      # they share text
        shared = len(minilm.tokenizer(text[b.start:a.end], add_special_tokens=False)["input_ids"])
        assert 0 < shared <= 10                     # about `overlap` tokens (a word start may add one)
        assert b.start > a.start
    without = chunker(32, 0).split(text)
    assert all(b.start >= a.end for a, b in zip(without, without[1:]))


def test_prefers_paragraph_then_sentence_then_word(chunker):
    text = paragraphs(8)  # paragraphs of ~20 tokens
    for ch in chunker(48, 0).split(text)[:-1]:
        assert text[ch.end:ch.end + 2] == "\n\n", repr(text[ch.end - 10:ch.end + 3])
    one_paragraph = " ".join(SENTS * 3)
    for ch in chunker(40, 0).split(one_paragraph)[:-1]:
        assert ch.text.endswith("."), ch.text
    words = " ".join(["protein"] * 30 + ["cancer"] * 30)
    for ch in chunker(16, 0).split(words)[:-1]:
        assert words[ch.end] == " " and ch.text.split()[-1] in ("protein", "cancer")


def test_bad_sizes(coll):
    for size, overlap, arg in [(4, 0, "chunk_size"), (10_000, 0, "chunk_size"), (64, 32, "chunk_overlap"),
                               (64, -1, "chunk_overlap"), ("64", 0, "chunk_size")]:
        with pytest.raises(InvalidArgument) as e:
            coll.add(["some text"], chunk_size=size, chunk_overlap=overlap)
        assert e.value.argument == arg
    assert coll.count() == 0


def test_chunked_add_hits_carry_parent_span_source(coll):
    text = paragraphs(10)
    res = coll.add([text, "Bananas are yellow."], ids=["long", "short"], chunk_size=48, chunk_overlap=8,
                   sources=["notes/long.md", None], metadata=[{"topic": "bio"}, None])
    assert res.documents == 2 and res.added == coll.count() > 3
    hits = coll.search("misfolded proteins and brain disease", k=5)
    h = hits[0]
    assert h.parent_id == "long" and h.id.startswith("long#") and h.source == "notes/long.md"
    assert text[h.span[0]:h.span[1]] == h.text and h.metadata == {"topic": "bio"}
    grouped = coll.search("misfolded proteins and brain disease", k=5, group_by_document=True)
    assert [g.document_id for g in grouped] == ["long", "short"]
    assert grouped[0].to_dict()["document_id"] == "long"


def test_readd_replaces_all_chunks_in_one_transaction(db, coll):
    coll.add([paragraphs(10)], ids=["doc"], chunk_size=48, chunk_overlap=8)
    before = coll.count()
    seq = db.store.last_seq(coll.id)
    res = coll.add([paragraphs(3)], ids=["doc"], chunk_size=48, chunk_overlap=8)
    assert db.store.last_seq(coll.id) == seq + 1               # one committed change
    after = {d.id for d in coll.get([f"doc#{i}" for i in range(before)])}
    assert len(after) == coll.count() < before and res.embedded <= len(after)
    assert coll.check()["ok"] and db.store.fts_count(coll.id) == coll.count()
    # a plain (unchunked) re-add under the same id replaces every chunk too
    coll.add(["now a single short document"], ids=["doc"])
    assert coll.count() == 1 and coll.get(["doc"])[0].text == "now a single short document"


def test_failed_readd_keeps_old_chunks(db, coll):
    coll.add([paragraphs(6)], ids=["doc"], chunk_size=48, chunk_overlap=8)
    old = sorted((d.id, d.text) for d in coll.get([f"doc#{i}" for i in range(50)]))
    # a real SQLite failure late in the write (after old rows were deleted): reject the last new chunk
    con = sqlite3.connect(db.directory / "vecdb.sqlite")
    con.execute("CREATE TRIGGER boom BEFORE INSERT ON documents WHEN new.text LIKE '%changed' "
                "BEGIN SELECT RAISE(ABORT, 'boom'); END")
    con.commit()
    with pytest.raises(Exception, match="boom"):
        coll.add([paragraphs(9) + " changed"], ids=["doc"], chunk_size=48, chunk_overlap=8)
    con.execute("DROP TRIGGER boom")
    con.commit()
    con.close()
    assert sorted((d.id, d.text) for d in coll.get([f"doc#{i}" for i in range(50)])) == old
    assert coll.check()["ok"] and db.store.fts_count(coll.id) == coll.count()


def test_delete_removes_all_chunks(db, coll):
    coll.add([paragraphs(8), "keep me"], ids=["doc", "other"], chunk_size=48, chunk_overlap=8)
    n = coll.count() - 1
    assert coll.delete(["doc"]) == n
    assert coll.count() == 1 and coll.check()["ok"] and db.store.fts_count(coll.id) == 1
    assert coll.bm25("mitosis", k=5) == []


def test_unchanged_parents_are_skipped(coll):
    texts = [paragraphs(4), paragraphs(5)]
    kw = dict(ids=["a.md", "b.md"], sources=["d/a.md", "d/b.md"], chunk_size=48, chunk_overlap=8)
    first = coll.add(texts, **kw)
    again = coll.add(texts, **kw)
    assert first.documents == 2 and again.documents == 0 and again.documents_unchanged == 2 and again.embedded == 0
    changed = coll.add([texts[0], texts[1] + "\n\nA new closing paragraph about rivers."], **kw)
    assert changed.documents == 1 and changed.documents_unchanged == 1
    assert 0 < changed.embedded < changed.unchanged + changed.added + changed.updated  # only new chunks embedded
    other = coll.add(texts, **{**kw, "chunk_size": 64})  # different settings: re-chunked
    assert other.documents == 2


def test_fts_in_sync_after_upsert_and_delete(db, coll):
    coll.add(["the cat sat on the mat", "ocean waves are blue"], ids=["x", "y"])
    assert [h.id for h in coll.bm25("cat", k=5)] == ["x"]
    coll.add(["a dog ran by the river"], ids=["x"])                       # upsert changes the text
    assert coll.bm25("cat", k=5) == [] and [h.id for h in coll.bm25("dog river", k=5)] == ["x"]
    coll.add(["a dog ran by the river"], ids=["x"], metadata=[{"m": 1}])  # metadata only
    coll.delete(["y"])
    assert coll.bm25("ocean", k=5) == [] and db.store.fts_count(coll.id) == coll.count() == 1
    other = db.create_collection("other", embedder=coll.embedder)
    other.add(["the cat sat on the mat"], ids=["z"])
    assert [h.id for h in coll.bm25("cat mat", k=5)] == [] and [h.id for h in other.bm25("cat", k=5)] == ["z"]
    db.drop_collection("other")
    con = sqlite3.connect(db.directory / "vecdb.sqlite")
    assert con.execute("INSERT INTO documents_fts(documents_fts, rank) VALUES('integrity-check', 1)") is not None
    con.close()


def test_migration_backfills_fts_for_existing_rows(tmp_path):
    path = tmp_path / "old"
    with vecdb.open(path) as d:
        d.create_collection("c", model="hash").add(["the cat sat on the mat", "ocean waves"], ids=["a", "b"])
    con = sqlite3.connect(path / "vecdb.sqlite")  # turn it back into a database from before migration 2
    for stmt in ["DROP TRIGGER documents_fts_insert", "DROP TRIGGER documents_fts_delete",
                 "DROP TRIGGER documents_fts_update", "DROP TABLE documents_fts", "DROP TABLE parents",
                 "DROP INDEX documents_parent", "ALTER TABLE documents DROP COLUMN parent_id",
                 "ALTER TABLE documents DROP COLUMN span_start", "ALTER TABLE documents DROP COLUMN span_end",
                 "ALTER TABLE documents DROP COLUMN source", "DELETE FROM migrations WHERE id = 2"]:
        con.execute(stmt)
    con.commit()
    con.close()
    with vecdb.open(path) as d:
        c = d.get_collection("c")
        assert d.store.fts_count(c.id) == 2 and [h.id for h in c.bm25("cat", k=3)] == ["a"]
        assert [h.id for h in c.search("cat on a mat", k=1, hybrid=True)] == ["a"]


def test_reembed_keeps_chunk_parent_span_source(tmp_path):
    with vecdb.open(tmp_path / "db") as d:
        c = d.create_collection("c", model="hash")
        c.add([paragraphs(6)], ids=["doc"], sources=["a.md"], chunk_size=48, chunk_overlap=8)
        before = sorted((h.id, h.parent_id, h.span, h.source) for h in c.search("proteins", k=20))
        new = d.reembed("c", "hash", max_length=300)  # a new spec; the chunks stay as they were
        after = sorted((h.id, h.parent_id, h.span, h.source) for h in new.search("proteins", k=20))
        assert after == before and after[0][1] == "doc" and d.store.fts_count(new.id) == new.count()
