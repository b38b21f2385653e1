"""`vecdb mcp` as a real subprocess, driven by the mcp SDK's stdio client: the tools it lists, the
same hits and passages as the CLI, writes refused unless --allow-writes, collections as resources."""
import json
import os
import subprocess
import sys

import pytest
from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

import vecdb
from tests.conftest import vecdb_cmd

DOCS = [("p1", "Photosynthesis turns sunlight, water and carbon dioxide into sugar", {"topic": "biology"}),
        ("p2", "Chlorophyll absorbs red and blue light in plant leaves", {"topic": "biology"}),
        ("m1", "Mount Everest is the highest mountain above sea level", {"topic": "geography"}),
        ("c1", "Espresso is brewed by forcing hot water through ground coffee", {"topic": "cooking"})]


@pytest.fixture
def dbpath(tmp_path):
    path = tmp_path / "db"
    with vecdb.open(path) as db:
        db.create_collection("notes", model="hash").add([t for _, t, _ in DOCS], ids=[i for i, _, _ in DOCS],
                                                        metadata=[m for _, _, m in DOCS])
    return path


def cli(*args) -> dict | list:
    out = subprocess.run([*vecdb_cmd(), *args, "--format", "json"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def server(dbpath, *flags):
    return stdio_client(StdioServerParameters(command=sys.executable, args=[
        "-m", "vecdb.cli.main", "mcp", "--db", str(dbpath), *flags], env=dict(os.environ)))


async def call(session, tool, **arguments):
    result = await session.call_tool(tool, arguments)
    return result


async def test_tools_match_the_cli_and_writes_are_refused(dbpath):
    async with server(dbpath, "--collection", "notes") as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        tools = {t.name: t for t in (await session.list_tools()).tools}
        assert set(tools) == {"search", "context", "get", "add", "delete"}
        assert tools["search"].annotations.read_only_hint and tools["delete"].annotations.destructive_hint

        found = await call(session, "search", query="how do plants use light", k=3)
        assert not found.is_error
        want = cli("search", "--db", str(dbpath), "--collection", "notes", "how do plants use light", "-k", "3")
        assert [(h["id"], h["text"]) for h in found.structured_content["hits"]] == [(h["id"], h["text"]) for h in want]
        assert [h["score"] for h in found.structured_content["hits"]] == pytest.approx([h["score"] for h in want])

        ctx = await call(session, "context", question="how do plants use light", k=2)
        want = cli("context", "--db", str(dbpath), "--collection", "notes", "how do plants use light", "-k", "2")
        assert [p["id"] for p in ctx.structured_content["passages"]] == [p["id"] for p in want["passages"]]
        assert ctx.structured_content["prompt"].startswith("[1] ")

        page = await call(session, "get", where={"topic": "biology"}, limit=5)
        assert [d["id"] for d in page.structured_content["documents"]] == ["p1", "p2"]

        refused = await call(session, "add", texts=["a new note"])
        assert refused.is_error and "--allow-writes" in refused.content[0].text
        refused = await call(session, "delete", ids=["p1"])
        assert refused.is_error
        bad = await call(session, "search", query="x", where={"topic": {"$near": 1}})
        assert bad.is_error and "where" in bad.content[0].text
        other = await call(session, "search", query="x", collection="elsewhere")
        assert other.is_error and "notes" in other.content[0].text

        listed = {str(r.uri) for r in (await session.list_resources()).resources}
        assert listed == {"vecdb://collections", "vecdb://collections/notes"}
        info = await session.read_resource("vecdb://collections/notes")
        assert json.loads(info.contents[0].text)["count"] == 4
    with vecdb.open(dbpath) as db:
        assert db.get_collection("notes").count() == 4


async def test_allow_writes(dbpath):
    async with server(dbpath, "--allow-writes") as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        added = await call(session, "add", texts=["Tea is brewed from leaves"], ids=["t1"],
                           metadata=[{"topic": "cooking"}], collection="notes")
        assert not added.is_error and added.structured_content["added"] == 1
        dry = await call(session, "delete", where={"topic": "cooking"}, dry_run=True, collection="notes")
        assert dry.structured_content["deleted"] == 2
        gone = await call(session, "delete", where={"topic": "cooking"}, collection="notes")
        assert gone.structured_content["deleted"] == 2
        listing = json.loads((await session.read_resource("vecdb://collections")).contents[0].text)
        assert [(c["name"], c["count"]) for c in listing] == [("notes", 3)]
    with vecdb.open(dbpath) as db:
        assert sorted(d.id for d in db.get_collection("notes").get()) == ["m1", "p1", "p2"]
