"""Every bad input gets a clear error naming the argument, and changes nothing stored."""
import os
import subprocess
import sys

import pytest

import vecdb
from vecdb.errors import InvalidArgument, StorageError


@pytest.fixture
def filled(coll):
    coll.add(["alpha document", "beta document"], ids=["a", "b"], metadata=[{"x": 1}, {"x": 2}])
    return coll


def snapshot(c):
    return [(d.id, d.text, d.metadata) for d in c.get(["a", "b", "c", "d"])], c.count()


@pytest.mark.parametrize("call,argument,fragment", [
    (lambda c: c.add(["ok", "  "], ids=["c", "d"]), "texts", "texts[1]: empty or whitespace-only"),
    (lambda c: c.add([""]), "texts", "texts[0]"),
    (lambda c: c.add(["ok", 5]), "texts", "texts[1]: must be a string"),
    (lambda c: c.add(["ok", "fine"], ids=["c", 7]), "ids", "ids[1]: ids must be strings, got int"),
    (lambda c: c.add(["ok"], ids=[b"c"]), "ids", "ids[0]"),
    (lambda c: c.add(["ok", "ok2"], ids=["c", "c"]), "ids", "duplicate id"),
    (lambda c: c.add(["ok"], ids=["c", "d"]), "ids", "2 ids for 1 texts"),
    (lambda c: c.add(["ok", "x"], metadata=[{"a": 1}, [1, 2]]), "metadata", "metadata[1]: must be a JSON object, got list"),
    (lambda c: c.add(["ok"], metadata=["{}"]), "metadata", "metadata[0]"),
    (lambda c: c.add(["ok"], metadata=[{"a": object()}]), "metadata", "not a JSON value"),
    (lambda c: c.add(["ok"], metadata=[{"a": float("inf")}]), "metadata", "finite"),
    (lambda c: c.search("q", k=0), "k", "k: must be a positive integer"),
    (lambda c: c.search("q", k=-3), "k", "k"),
    (lambda c: c.search("q", k="5"), "k", "k"),
    (lambda c: c.search("q", where={"x": {"$bad": 1}}), "where", "where.x.$bad"),
    (lambda c: c.search("q", where="x=1"), "where", "must be a JSON object"),
    (lambda c: c.search("   "), "query", "empty"),
])
def test_bad_input(filled, call, argument, fragment):
    before = snapshot(filled)
    with pytest.raises(InvalidArgument) as e:
        call(filled)
    assert e.value.argument == argument
    assert fragment in str(e.value)
    assert "\n" not in str(e.value)
    assert snapshot(filled) == before


def test_unknown_collection(db):
    with pytest.raises(vecdb.CollectionNotFound) as e:
        db.get_collection("nope")
    assert "nope" in str(e.value) and e.value.argument == "collection"


def test_invalid_collection_name(db):
    for bad in ["../x", "a/b", "", ".hidden", "x" * 200]:
        with pytest.raises(InvalidArgument) as e:
            db.create_collection(bad, model="hash")
        assert e.value.argument == "name"


def test_database_path_is_a_file(tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(StorageError) as e:
        vecdb.open(f)
    assert "not a directory" in str(e.value) and e.value.argument == "path"


def test_database_directory_not_creatable():
    with pytest.raises(StorageError) as e:
        vecdb.open("/proc/vecdb-cannot-exist/db")
    assert "not writable" in str(e.value)


@pytest.fixture
def read_only_dir(tmp_path):
    """A directory nobody can write to: chmod for users, the immutable flag for root."""
    d = tmp_path / "ro"
    d.mkdir()
    if os.geteuid() != 0:
        os.chmod(d, 0o555)
        yield d
        os.chmod(d, 0o755)
        return
    if subprocess.run(["chattr", "+i", str(d)], capture_output=True).returncode != 0:
        pytest.skip("running as root and chattr +i is not available")
    try:
        yield d
    finally:
        subprocess.run(["chattr", "-i", str(d)], capture_output=True)


def test_database_directory_not_writable(read_only_dir):
    with pytest.raises(StorageError) as e:
        vecdb.open(read_only_dir)
    assert "not writable" in str(e.value) and str(read_only_dir) in str(e.value) and e.value.argument == "path"


def test_cli_database_directory_not_writable(read_only_dir, capsys):
    from vecdb.cli.main import main

    with pytest.raises(SystemExit) as e:
        main(["add", "hello", "--db", str(read_only_dir)])
    assert e.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith("error: path: database directory") and "not writable" in err
