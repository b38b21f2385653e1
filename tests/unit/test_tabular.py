"""CSV/TSV rows as documents: the text column, the id column, the rest as metadata; bad files refused by line."""
import pytest

import vecdb
from vecdb.tabular import read_table


def test_csv_rows_become_documents(db):
    text = 'doi,abstract,year,venue\n10.1/a,"Cats, on mats",2020,\n10.1/b,Dogs in parks,2021,Nature\n\n'
    ids, texts, meta = read_table(text, text_column="abstract", id_column="doi")
    assert ids == ["10.1/a", "10.1/b"] and texts == ["Cats, on mats", "Dogs in parks"]
    assert meta == [{"year": "2020"}, {"year": "2021", "venue": "Nature"}]
    coll = db.create_collection("t", model="hash")
    coll.add(texts, ids=ids, metadata=meta)
    assert [d.id for d in coll.get(where={"venue": "Nature"})] == ["10.1/b"]


def test_tsv_an_id_column_named_id_and_derived_ids():
    ids, texts, meta = read_table("id\ttext\ttag\nx1\tfirst text\ta\n", delimiter="\t")
    assert ids == ["x1"] and texts == ["first text"] and meta == [{"tag": "a"}]
    ids, texts, meta = read_table("text,tag\nsome text,b\n")
    assert ids is None and texts == ["some text"] and meta == [{"tag": "b"}]


@pytest.mark.parametrize("text, kwargs, message", [
    ("", {}, "empty"),
    ("title,body\na,b\n", {}, "--text-column: no column 'text'; columns: title, body"),
    ("text\nx\n", {"id_column": "doi"}, "--id-column: no column 'doi'"),
    ("text,a\nx,1,2\n", {}, "line 2 has 3 fields"),
    ("text,a\n ,1\n", {}, "line 2: empty 'text'"),
    ("id,text\n,x\n", {}, "line 2: empty 'id'"),
    ("text\n", {}, "no rows"),
    ("text,text\nx,y\n", {}, "duplicate column"),
])
def test_bad_tables_are_refused(text, kwargs, message):
    with pytest.raises(vecdb.InvalidArgument, match=message.replace("(", r"\(")):
        read_table(text, **kwargs)
