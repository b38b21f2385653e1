"""REST server benchmark on a SciFact collection (all-MiniLM-L6-v2).

    python bench/server_bench.py [--source-db DB] [--requests 600] [--quick]

Measures, over HTTP to a real `vecdb serve` (uvicorn, one process) on loopback:
  * search: p50/p99 latency and requests/s with 1, 8 and 32 concurrent clients (SciFact queries, k=10);
  * POST /v1/embeddings: throughput with 16 concurrent clients (one SciFact query per request, base64
    answers as the openai client asks), with dynamic batching on and off (`--no-batching`).
The source database is copied first (it is never written). Without one, the SciFact corpus is indexed
into a temporary database. Clients run in this process (asyncio + httpx) and share the CPU with the
server. Writes bench/results/server.{json,md} and prints the table. Not a timed test.
"""
from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
SCIFACT = Path(os.environ.get("VECDB_SCIFACT", ROOT.parent / "shared" / "eval" / "scifact"))
OUT = ROOT / "bench" / "results"
sys.path.insert(0, str(ROOT))


def queries() -> list[str]:
    with open(SCIFACT / "queries.jsonl") as f:
        return [json.loads(line)["text"] for line in f]


def prepare_db(source: Path | None, work: Path) -> Path:
    db = work / "db"
    if source is not None:
        shutil.copytree(source, db)
        return db
    import vecdb

    with open(SCIFACT / "corpus.jsonl") as f:
        docs = [json.loads(line) for line in f]
    with vecdb.open(db) as d:
        d.create_collection("scifact").add([f"{x['title']} {x['text']}".strip() for x in docs],
                                           ids=[str(x["_id"]) for x in docs])
    return db


class Server:
    def __init__(self, db: Path, port: int, *args: str):
        env = dict(os.environ, PYTHONPATH=str(ROOT), HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
        env.pop("VECDB_API_KEY", None)
        self.url = f"http://127.0.0.1:{port}"
        self.proc = subprocess.Popen([sys.executable, "-m", "vecdb.cli.main", "serve", "--db", str(db), "--port", str(port),
                                      "--model", "minilm", "--log-level", "warning", *args], cwd=ROOT, env=env)
        deadline = time.time() + 120
        while time.time() < deadline:
            try:
                if httpx.get(self.url + "/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.3)
        self.stop()
        raise RuntimeError("server did not start")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=60)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def load(url: str, concurrency: int, total: int, make_request) -> dict:
    """`total` requests from `concurrency` clients; latencies in ms and overall requests/s."""
    latencies: list[float] = []
    counter = iter(range(total))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, timeout=300, limits=limits) as client:
        async def worker():
            for i in counter:
                method, path, body = make_request(i)
                t = time.perf_counter()
                r = await client.request(method, path, json=body)
                latencies.append((time.perf_counter() - t) * 1000)
                if r.status_code != 200:
                    raise RuntimeError(f"{path}: {r.status_code} {r.text[:200]}")

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - start
    latencies.sort()
    return {"concurrency": concurrency, "requests": total, "seconds": round(elapsed, 3),
            "req_per_s": round(total / elapsed, 1), "p50_ms": round(statistics.median(latencies), 1),
            "p99_ms": round(latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))], 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--source-db", type=Path, default=None, help="a SciFact MiniLM database (default: bench/cache.py)")
    ap.add_argument("--collection", default="scifact")
    ap.add_argument("--requests", type=int, default=600, help="search requests per concurrency level")
    ap.add_argument("--embed-requests", type=int, default=640, help="/v1/embeddings requests per mode")
    ap.add_argument("--quick", action="store_true", help="few requests (a smoke run)")
    ap.add_argument("--torch-threads", type=int, default=None, help="passed to vecdb serve")
    args = ap.parse_args()
    if not (SCIFACT / "queries.jsonl").exists():
        sys.exit(f"SciFact not found at {SCIFACT}")
    if args.quick:
        args.requests, args.embed_requests = 64, 64
    qs = queries()
    work = Path(tempfile.mkdtemp(prefix="vecdb-server-bench-"))
    try:
        from bench.cache import scifact_db

        db = prepare_db(args.source_db or scifact_db(), work)
        search_req = lambda i: ("POST", f"/v1/collections/{args.collection}/search",  # noqa: E731
                                {"query": qs[i % len(qs)], "k": 10, "include": ["metadata"]})
        embed_req = lambda i: ("POST", "/v1/embeddings", {"input": [qs[i % len(qs)]], "model": "minilm",
                                                    "encoding_format": "base64"})  # noqa: E731
        results = {"search": [], "embeddings": []}
        extra = ["--torch-threads", str(args.torch_threads)] if args.torch_threads else []
        server = Server(db, free_port(), *extra)
        try:
            asyncio.run(load(server.url, 4, 32, search_req))  # warm-up: model, index
            asyncio.run(load(server.url, 4, 32, embed_req))
            for c in (1, 8, 32):
                n = max(args.requests // 4, 50) if c == 1 else args.requests
                results["search"].append(asyncio.run(load(server.url, c, n, search_req)))
                print("search", results["search"][-1], flush=True)
            r = asyncio.run(load(server.url, 16, args.embed_requests, embed_req))
            results["embeddings"].append({"batching": True, **r})
            print("embeddings", results["embeddings"][-1], flush=True)
            batches = [line for line in httpx.get(server.url + "/metrics").text.splitlines()
                       if line.startswith(("vecdb_embedding_batch_size_sum", "vecdb_embedding_batch_size_count"))]
        finally:
            server.stop()
        server = Server(db, free_port(), "--no-batching", *extra)
        try:
            asyncio.run(load(server.url, 4, 32, embed_req))
            r = asyncio.run(load(server.url, 16, args.embed_requests, embed_req))
            results["embeddings"].append({"batching": False, **r})
            print("embeddings", results["embeddings"][-1], flush=True)
        finally:
            server.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    on, off = results["embeddings"]
    sums = {line.split()[0]: float(line.split()[1]) for line in batches}
    mean_batch = sums["vecdb_embedding_batch_size_sum"] / max(sums["vecdb_embedding_batch_size_count"], 1)
    from bench.machine import describe, label

    report = {"date": dt.date.today().isoformat(), "machine": describe(), "collection": args.collection, "documents": 5183,
              "model": "minilm (all-MiniLM-L6-v2)", "quick": args.quick, "torch_threads": args.torch_threads, **results,
              "embedding_speedup": round(on["req_per_s"] / off["req_per_s"], 2),
              "mean_texts_per_model_call_batching_on": round(mean_batch, 2)}
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "server.json").write_text(json.dumps(report, indent=2) + "\n")
    lines = [f"# Server benchmark ({label(report['machine'])})", "",
             f"SciFact collection ({report['documents']} documents), {report['model']}, one uvicorn process, "
             "clients on the same machine.", "",
             "| search, concurrent clients | requests | req/s | p50 ms | p99 ms |", "|---|---|---|---|---|"]
    lines += [f"| {r['concurrency']} | {r['requests']} | {r['req_per_s']} | {r['p50_ms']} | {r['p99_ms']} |"
              for r in results["search"]]
    lines += ["", "| /v1/embeddings, 16 clients | requests | req/s | p50 ms | p99 ms |", "|---|---|---|---|---|"]
    lines += [f"| batching {'on' if r['batching'] else 'off'} | {r['requests']} | {r['req_per_s']} | {r['p50_ms']} | "
              f"{r['p99_ms']} |" for r in results["embeddings"]]
    lines += ["", f"Batching speed-up: {report['embedding_speedup']}x (target >= 2x); "
              f"mean texts per model call with batching: {report['mean_texts_per_model_call_batching_on']}."]
    (OUT / "server.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
