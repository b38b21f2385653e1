"""Embedding throughput and single-query latency on SciFact: vecdb vs a plain sentence-transformers script.

    python bench/embed_throughput.py [--docs 1000] [--queries 100] [--rounds 2] [--isa native,avx2]

Every measurement runs in its own process, interleaved round by round (A/B/A/B), so load from anything
else on the machine falls on every side; the tables give medians. Systems, all on all-MiniLM-L6-v2 with at
most 256 tokens:
  st          sentence-transformers fp32 `encode` (batch 32), then FAISS IndexFlatIP for queries
  vecdb       `Collection.add` then `Collection.search`, dtype and runtime auto
  vecdb-onnx  the same with dtype float32 on the onnx runtime (vecdb's float32 path where bf16 is slow)
  vecdb-torch the same with dtype float32 on torch (vecdb's fp32 path before the onnx runtime)
`--isa avx2` runs the same processes with every library limited to AVX2: torch's by environment
variables (ATEN_CPU_CAPABILITY, ONEDNN_MAX_CPU_ISA, MKL_ENABLE_INSTRUCTIONS, FBGEMM_ENABLE_INSTRUCTIONS),
ONNX Runtime's by a copy whose XCR0 reads show no AVX-512 or AMX state (bench/ort_avx2.py): an emulation of
an AVX2-only CPU on this one (same cores, caches and clock); the `ort_matmul` and `torch_fp32` peaks show
both at AVX2 rates. The limit is the peak fp32 matmul rate measured in the same run times the GFLOP a
document needs (its real token count, no padding). Writes bench/results/embed_throughput.{json,md}.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SCIFACT = Path(os.environ.get("VECDB_SCIFACT", ROOT.parent / "shared" / "eval" / "scifact"))
OUT = ROOT / "bench" / "results"
AVX2_ENV = {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2", "MKL_ENABLE_INSTRUCTIONS": "AVX2",
            "FBGEMM_ENABLE_INSTRUCTIONS": "AVX2"}
def avx2_env() -> dict:
    """The environment of a process that sees an AVX2-only CPU (torch's libraries and ONNX Runtime)."""
    from ort_avx2 import build

    path = os.pathsep.join(p for p in (str(build()), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, **AVX2_ENV, "PYTHONPATH": path}


SYSTEMS = ("st", "vecdb", "vecdb-onnx", "vecdb-torch")
ADD_BATCH = 256  # Collection.add's default batch_size


def corpus(n: int) -> list[str]:
    texts = []
    with open(SCIFACT / "corpus.jsonl") as f:
        for line in f:
            d = json.loads(line)
            texts.append(f"{d['title']} {d['text']}".strip())
            if len(texts) >= n:
                break
    return texts


def queries(n: int) -> list[str]:
    from vecdb import evaluate as ev

    qs = ev.load_queries(SCIFACT)
    return [qs[q] for q in sorted(ev.load_qrels(SCIFACT, "test"))][:n]


def latencies(fn, qs: list[str]) -> dict:
    for q in qs[:5]:
        fn(q)
    ms = []
    for q in qs:
        t = time.perf_counter()
        fn(q)
        ms.append((time.perf_counter() - t) * 1000)
    return {"p50_ms": float(np.percentile(ms, 50)), "p99_ms": float(np.percentile(ms, 99))}


# ---- workers (one process each) -----------------------------------------------------------------
def work_st(texts, qs) -> dict:
    import faiss
    from sentence_transformers import SentenceTransformer

    from vecdb.embed import resolve

    st = SentenceTransformer(str(resolve("minilm").weights_path), device="cpu")
    st.max_seq_length = 256
    st.encode(texts[:16], batch_size=32)
    t, c = time.perf_counter(), time.process_time()
    vecs = st.encode(texts, batch_size=32, normalize_embeddings=True)
    rate, cpu = len(texts) / (time.perf_counter() - t), (time.process_time() - c) / len(texts) * 1000
    index = faiss.IndexFlatIP(vecs.shape[1])
    index.add(vecs)
    lat = latencies(lambda q: index.search(st.encode([q], normalize_embeddings=True), 10), qs)
    return {"docs_per_s": rate, "cpu_ms_per_doc": cpu, **lat, "runtime": "torch (sentence-transformers)",
            "dtype": "float32"}


def work_vecdb(texts, qs, dtype: str, runtime: str) -> dict:
    import vecdb
    from vecdb.embed import load_embedder

    emb = load_embedder(model="minilm", dtype=dtype, runtime=runtime)
    emb.embed_documents(texts[:16])
    with tempfile.TemporaryDirectory() as d:
        db = vecdb.open(Path(d) / "db")
        coll = db.create_collection("bench", embedder=emb)
        t, c = time.perf_counter(), time.process_time()
        coll.add(texts, ids=[str(i) for i in range(len(texts))])
        rate, cpu = len(texts) / (time.perf_counter() - t), (time.process_time() - c) / len(texts) * 1000
        lat = latencies(lambda q: coll.search(q, k=10), qs)
        db.close()
    return {"docs_per_s": rate, "cpu_ms_per_doc": cpu, **lat, "runtime": emb.spec.runtime, "dtype": emb.spec.dtype}


def work_peak(kind: str) -> dict:
    """Best 1024 x 1024 matmul rates of one runtime ("torch": fp32 and bf16, "ort": ONNX Runtime fp32).
    Each runtime is timed in its own process: in one process their thread pools compete (ONNX
    Runtime's workers spin after each run) and the figures come out low."""
    import torch

    from vecdb.embed.device import cpu_has_native_bf16, cpu_info

    n, fns = 1024, {}
    if kind == "torch":
        for name, dt in (("fp32", torch.float32), ("bf16", torch.bfloat16)):
            a, b = torch.randn(n, n).to(dt), torch.randn(n, n).to(dt)
            fns[f"torch_{name}_gflops"] = lambda a=a, b=b: a @ b
    else:
        fns["ort_matmul_gflops"] = ort_matmul(n)
    best = {k: float("inf") for k in fns}
    for fn in fns.values():
        fn()
    for _ in range(5):
        for k, fn in fns.items():
            t = time.perf_counter()
            for _ in range(3):
                fn()
            best[k] = min(best[k], (time.perf_counter() - t) / 3)
    out = {k: 2 * n ** 3 / v / 1e9 for k, v in best.items()}
    out["torch_capability"] = torch.backends.cpu.get_cpu_capability()
    out["native_bf16"] = cpu_has_native_bf16()
    out["cpu"] = cpu_info().summary()
    return out


def ort_matmul(n: int):
    """One n x n MatMul in ONNX Runtime, as a callable."""
    import onnx
    import onnxruntime as ort
    import torch
    from onnx import TensorProto, helper, numpy_helper

    w = numpy_helper.from_array(np.random.rand(n, n).astype(np.float32), "w")
    graph = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"])], "mm",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [n, n])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [n, n])], [w])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=9)
    onnx.checker.check_model(model)
    so = ort.SessionOptions()
    so.intra_op_num_threads = torch.get_num_threads()
    sess = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
    x = np.random.rand(n, n).astype(np.float32)
    return lambda: sess.run(None, {"x": x})


def worker(args) -> None:
    texts, qs = corpus(args.docs), queries(args.queries)
    if args.worker == "st":
        out = work_st(texts, qs)
    elif args.worker == "vecdb":
        out = work_vecdb(texts, qs, "auto", "auto")
    elif args.worker == "vecdb-onnx":
        out = work_vecdb(texts, qs, "float32", "onnx")
    elif args.worker == "vecdb-torch":
        out = work_vecdb(texts, qs, "float32", "torch")
    else:
        out = work_peak("ort" if args.worker == "peak-ort" else "torch")
    print("RESULT " + json.dumps(out), flush=True)


# ---- orchestration ----------------------------------------------------------------------------
def run_one(name: str, isa: str, args) -> dict:
    env = avx2_env() if isa == "avx2" else dict(os.environ)
    cmd = [sys.executable, __file__, "--worker", name, "--docs", str(args.docs), "--queries", str(args.queries)]
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=ROOT)
    lines = [x for x in p.stdout.splitlines() if x.startswith("RESULT ")]
    if p.returncode or not lines:
        raise RuntimeError(f"{name} ({isa}) failed:\n{p.stderr[-3000:]}")
    return json.loads(lines[-1][7:])


def work_per_doc(texts: list[str]) -> dict:
    """GFLOP per document from its real token count, and the padded-token share of vecdb's batches on each
    CPU path (torch: up to 128 texts a batch; onnx float32: 8; int8: 1, so none)."""
    from vecdb.embed import batching, load_embedder

    emb = load_embedder(model="minilm", dtype="float32", runtime="torch")
    cfg = emb.model.config
    d, ff, layers = cfg.hidden_size, cfg.intermediate_size, cfg.num_hidden_layers
    lens = [len(x) for x in emb.tokenize(texts)]
    flop = [layers * (2 * t * (4 * d * d + 2 * d * ff) + 4 * t * t * d) for t in lens]
    shares = {}
    for name, most in (("torch", emb.max_batch), ("onnx-float32", 8), ("onnx-int8", 1)):
        padded = 0
        for start in range(0, len(lens), ADD_BATCH):  # Collection.add embeds ADD_BATCH documents a call
            part = lens[start:start + ADD_BATCH]
            padded += sum(len(b) * max(part[i] for i in b) for b in batching.plan(part, emb.token_budget, most))
        shares[name] = round(1 - sum(lens) / padded, 4)
    return {"gflop_per_doc": float(np.mean(flop)) / 1e9, "tokens_per_doc": float(np.mean(lens)),
            "padded_token_share": shares}


def versions() -> dict:
    import importlib.metadata as md

    out = {}
    for pkg in ("torch", "transformers", "onnxruntime", "onnx", "sentence-transformers", "faiss-cpu", "numpy"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            pass
    return out


def quality() -> dict:
    """SciFact nDCG@10 (all documents) per runtime, from bench/quality.py --out runtime_quality.json."""
    path = OUT / "runtime_quality.json"
    if not path.exists():
        return {}
    return {k: {"ndcg@10": v["ndcg@10"], "runtime": v.get("runtime"), "dtype": v["dtype"]}
            for k, v in json.loads(path.read_text()).items()}


def summarise(runs: list[dict], isas: list[str], per_doc: dict) -> dict:
    out = {}
    for isa in isas:
        peaks = [r["result"] for r in runs if r["isa"] == isa and r["system"] == "peak"]
        # The CPU's fp32 peak is the faster of the two fp32 matmuls (torch's MKL may not use every
        # instruction a CPU has; ONNX Runtime's MLAS picks its kernels from the CPU itself).
        peak = statistics.median(max(p["torch_fp32_gflops"], p["ort_matmul_gflops"]) for p in peaks)
        own_peak = {"onnx": statistics.median(p["ort_matmul_gflops"] for p in peaks),
                    "bfloat16": statistics.median(p["torch_bf16_gflops"] for p in peaks)}
        limit = peak / per_doc["gflop_per_doc"]
        rows = {}
        for name in SYSTEMS:
            mine = [r["result"] for r in runs if r["isa"] == isa and r["system"] == name]
            if not mine:
                continue
            rows[name] = {k: round(statistics.median(m[k] for m in mine), 2)
                          for k in ("docs_per_s", "cpu_ms_per_doc", "p50_ms", "p99_ms")}
            rows[name].update(runtime=mine[0]["runtime"], dtype=mine[0]["dtype"],
                              rounds=[round(m["docs_per_s"], 2) for m in mine],
                              share_of_fp32_limit=round(statistics.median(m["docs_per_s"] for m in mine) / limit, 3))
            # The share of the peak of the matmul this runtime itself uses: where that peak is not the fp32
            # one measured (ONNX Runtime's MLAS under the AVX2 emulation), this share times the fp32 limit
            # estimates the rate on a CPU where both peaks are the same.
            own = own_peak.get(mine[0]["runtime"], own_peak["bfloat16"] if mine[0]["dtype"] == "bfloat16" else peak)
            rows[name]["share_of_own_matmul_peak"] = round(rows[name]["docs_per_s"] * per_doc["gflop_per_doc"] / own, 3)
            rows[name]["docs_per_s_at_fp32_peak"] = round(rows[name]["share_of_own_matmul_peak"] * limit, 2)
        st = rows.get("st", {}).get("docs_per_s")
        for name, row in rows.items():
            if st and name != "st":
                row["ingest_vs_st"] = round(row["docs_per_s"] / st, 2)
                row["cpu_per_doc_vs_st"] = round(row["cpu_ms_per_doc"] / rows["st"]["cpu_ms_per_doc"], 2)
                row["p50_vs_st"] = round(row["p50_ms"] / rows["st"]["p50_ms"], 2)
        out[isa] = {"emulated": isa == "avx2", "fp32_peak_gflops": round(peak, 1), "fp32_limit_docs_per_s": round(limit, 2),
                    "systems": rows}
        st = rows.get("st")
        for row in rows.values():
            if st and row is not st:
                row["ingest_vs_st_at_fp32_peak"] = round(row["docs_per_s_at_fp32_peak"] / st["docs_per_s"], 2)
    return out


EMULATED_LABEL = ("emulated AVX2-only (torch's libraries and ONNX Runtime limited to AVX2 on this CPU: "
                  "bench/ort_avx2.py)")


def padding(share) -> str:
    if isinstance(share, dict):
        return ", ".join(f"{k} {100 * v:.1f}%" for k, v in share.items())
    return f"{100 * share:.1f}%"  # results files before the per-path figures


def markdown(result: dict) -> str:
    m = result["meta"]
    lines = ["# Embedding throughput and query latency (SciFact, all-MiniLM-L6-v2, max 256 tokens)", "",
             f"Run {m['date']} on {m['cpu']['model']}, {m['cpu']['cores']} cores, flags "
             f"{', '.join(m['cpu']['flags'])}; {', '.join(f'{k} {v}' for k, v in m['versions'].items())}.",
             f"{m['docs']} documents ({m['tokens_per_doc']:.0f} tokens and {m['gflop_per_doc']:.2f} GFLOP each), "
             f"{m['queries']} queries, {m['rounds']} interleaved rounds, medians. Padded tokens in vecdb's length-sorted "
             f"batches: {padding(m['padded_token_share'])}. CPU ms/doc (process CPU time over the ingest) is "
             "less sensitive than docs/s to other load on the machine.", ""]
    for isa, s in result["isas"].items():
        label = EMULATED_LABEL if s["emulated"] else "native"
        lines += [f"## {label}", "",
                  f"fp32 matmul peak {s['fp32_peak_gflops']} GFLOP/s -> limit {s['fp32_limit_docs_per_s']} docs/s.", "",
                  "| system | runtime / dtype | ingest docs/s (rounds) | × ST | share of fp32 limit | share of own matmul "
                  "peak (× ST at the fp32 peak) | CPU ms/doc (× ST) | query p50 / p99 ms | p50 × ST |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for name, r in s["systems"].items():
            lines.append(f"| {name} | {r['runtime']} / {r['dtype']} | {r['docs_per_s']} ({', '.join(map(str, r['rounds']))}) "
                         f"| {r.get('ingest_vs_st', '')} | {r['share_of_fp32_limit']} | {r['share_of_own_matmul_peak']} "
                         f"({r.get('ingest_vs_st_at_fp32_peak', '')}) | {r['cpu_ms_per_doc']} "
                         f"({r.get('cpu_per_doc_vs_st', '')}) | {r['p50_ms']} / {r['p99_ms']} "
                         f"| {r.get('p50_vs_st', '')} |")
        lines.append("")
    peaks = result["peaks"]
    lines += ["## Peaks measured in the run (medians)", "", "| isa | torch fp32 | torch bf16 | ORT matmul fp32 | "
              "native bf16 |", "|---|---|---|---|---|"]
    for isa, p in peaks.items():
        lines.append(f"| {isa} | {p['torch_fp32_gflops']} | {p['torch_bf16_gflops']} | {p['ort_matmul_gflops']} | "
                     f"{p['native_bf16']} |")
    if result["quality"]:
        lines += ["", "## SciFact nDCG@10, all 5,183 documents (bench/quality.py)", "", "| configuration | nDCG@10 |",
                  "|---|---|"] + [f"| {k} | {v['ndcg@10']} |" for k, v in result["quality"].items()]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=int, default=1000)
    ap.add_argument("--queries", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--isa", default="native,avx2")
    ap.add_argument("--systems", default=",".join(SYSTEMS))
    ap.add_argument("--worker", default="")
    ap.add_argument("--resummarise", action="store_true", help="rewrite the tables from the runs in the json")
    args = ap.parse_args()
    if args.worker:
        return worker(args)
    if args.resummarise:
        result = json.loads((OUT / "embed_throughput.json").read_text())
        per_doc = {k: result["meta"][k] for k in ("gflop_per_doc", "tokens_per_doc", "padded_token_share")}
        result["isas"] = summarise(result["runs"], list(result["isas"]), per_doc)
        result["quality"] = quality()
        (OUT / "embed_throughput.json").write_text(json.dumps(result, indent=2))
        (OUT / "embed_throughput.md").write_text(markdown(result))
        return print(markdown(result))
    from vecdb.embed.device import cpu_info

    isas = args.isa.split(",")
    per_doc = work_per_doc(corpus(args.docs))
    runs = []
    for rnd in range(args.rounds):
        for isa in isas:
            for name in ["peak", *args.systems.split(",")]:
                res = {**run_one("peak-ort", isa, args), **run_one("peak", isa, args)} if name == "peak" \
                    else run_one(name, isa, args)
                runs.append({"round": rnd, "isa": isa, "system": name, "result": res})
                print(rnd, isa, name, {k: (round(v, 2) if isinstance(v, float) else v) for k, v in res.items()
                                       if k != "cpu"}, flush=True)
    peaks = {isa: {k: (round(statistics.median(r["result"][k] for r in runs if r["isa"] == isa and r["system"] == "peak"), 1)
                       if k.endswith("gflops") else next(r["result"][k] for r in runs if r["isa"] == isa and r["system"] == "peak"))
                   for k in ("torch_fp32_gflops", "torch_bf16_gflops", "ort_matmul_gflops", "native_bf16")}
             for isa in isas}
    meta = {"date": time.strftime("%Y-%m-%d %H:%M"), "cpu": cpu_info().summary(), "versions": versions(),
            "docs": args.docs, "queries": args.queries, "rounds": args.rounds, **per_doc}
    result = {"meta": meta, "isas": summarise(runs, isas, per_doc), "peaks": peaks, "quality": quality(), "runs": runs}
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "embed_throughput.json").write_text(json.dumps(result, indent=2))
    (OUT / "embed_throughput.md").write_text(markdown(result))
    print(markdown(result))


if __name__ == "__main__":
    main()
