import pytest

from vecdb.errors import InvalidArgument
from vecdb.milvus.uri import is_milvus, parse


def test_server_uris(monkeypatch):
    monkeypatch.delenv("MILVUS_TOKEN", raising=False)
    t = parse("milvus://host:19530")
    assert (t.uri, t.lite, t.token, t.db_name) == ("http://host:19530", False, "", "")
    t = parse("milvus+https://u:p@cloud.example/mydb?index=hnsw&consistency=Bounded")
    assert (t.uri, t.token, t.db_name) == ("https://cloud.example:443", "u:p", "mydb")
    assert t.options == {"index": "hnsw", "consistency": "Bounded"}
    monkeypatch.setenv("MILVUS_TOKEN", "secret")
    assert parse("http://h:1", backend="milvus").token == "secret"


def test_lite_uris(tmp_path):
    t = parse(f"milvus-lite://{tmp_path}/v.db")
    assert t.lite and t.uri == str(tmp_path / "v.db")
    assert parse(str(tmp_path / "w.db"), backend="milvus").lite
    assert is_milvus("milvus-lite://x.db") and not is_milvus(str(tmp_path))


@pytest.mark.parametrize("bad", ["milvus-lite://", "milvus-lite://x.txt", "milvus://:19530", "milvus://h?bogus=1",
                                 "/some/dir"])
def test_bad_uris(bad):
    with pytest.raises(InvalidArgument):
        parse(bad)
