"""How long `vecdb` commands take, wall clock, as a user runs them (the installed `vecdb` script).

    python bench/cli_latency.py [--runs 10] [--no-ask]

Measures, each as the median of --runs calls (spread and load average reported beside it):
  * `vecdb --help` and `vecdb collections` (targets 0.5 s and 0.7 s);
  * `vecdb search` on the demo database (vecdb/data/demo.jsonl, MiniLM): the first call, which starts the warm
    worker and loads the model in it (3 times, from a stopped worker); later calls through the warm worker
    (target 0.5 s); and calls without it (--no-daemon), each of which loads the model;
  * `vecdb ask` with the packaged SmolLM2-135M at the defaults (k 3, 96 new tokens): in-process, and through
    the warm worker (target 20 s); then five demo questions once each: time, answer, and whether it cites.
The worker gets a private socket folder and is stopped at the end. Writes bench/results/cli_latency.{json,md}.
Not a timed test: figures depend on the machine and on what else runs on it.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "results"
DEMO = ROOT / "vecdb" / "data" / "demo.jsonl"
VECDB = Path(sys.executable).with_name("vecdb")
QUERY = "Which is the tallest peak on Earth?"
QUESTIONS = [QUERY, "Why does bread dough rise?", "When did humans first land on the Moon?",
             "What does a vector database compare?", "How long is a marathon?"]
TARGETS = {"help": 0.5, "collections": 0.7, "search_warm": 0.5, "ask_warm": 20.0, "ask_cold": 20.0}


def machine() -> dict:
    info = {"date": dt.datetime.now().isoformat(timespec="seconds"), "platform": platform.platform(),
            "python": platform.python_version(), "cpus": os.cpu_count(),
            "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()}
    try:
        text = Path("/proc/cpuinfo").read_text()
        fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
        fields = {k.strip(): v.strip() for k, v in fields.items()}
        flags = set(fields.get("flags", "").split())
        info["cpu"] = fields.get("model name", platform.processor())
        info["cpu_family_model"] = f"{fields.get('cpu family', '?')}/{fields.get('model', '?')}"
        info["cpu_flags"] = sorted(flags & {"avx2", "fma", "avx512f", "avx512_bf16", "avx512_vnni", "amx_bf16",
                                            "amx_tile", "avx_vnni"})
    except OSError:
        info["cpu"] = platform.processor()
    return info


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def timed(args: list[str], env: dict, check: bool = True) -> float:
    t = time.perf_counter()
    p = subprocess.run([str(VECDB), *args], env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t
    if check and p.returncode != 0:
        raise SystemExit(f"vecdb {' '.join(args)} failed: {p.stderr.strip()}")
    return wall


def series(name: str, args: list[str], env: dict, runs: int, before=None) -> dict:
    walls, loads = [], [load()]
    for _ in range(runs):
        if before:
            before()
        walls.append(timed(args, env))
    loads.append(load())
    row = {"command": "vecdb " + " ".join(args), "runs": [round(w, 3) for w in walls],
           "median_s": round(statistics.median(walls), 3), "min_s": round(min(walls), 3),
           "max_s": round(max(walls), 3), "load_avg_1_5_15": loads}
    if name in TARGETS:
        row["target_s"] = TARGETS[name]
        row["meets_target"] = row["median_s"] <= TARGETS[name]
    print(f"{name:<16} median {row['median_s']:7.3f}s  min {row['min_s']:7.3f}s  max {row['max_s']:7.3f}s  "
          f"load {loads[0][0]}->{loads[-1][0]}", flush=True)
    return row


def answers(env: dict) -> list[dict]:
    """Each demo question once through the warm worker: wall time, the answer, whether it cites a passage."""
    rows = []
    for q in QUESTIONS:
        t = time.perf_counter()
        p = subprocess.run([str(VECDB), "ask", "-c", "demo", q, "-f", "json"], env=env, capture_output=True, text=True)
        wall = time.perf_counter() - t
        out = json.loads(p.stdout)
        rows.append({"question": q, "wall_s": round(wall, 2), "answer": out["answer"], "cited": out["cited"],
                     "citations": [c["id"] for c in out["citations"]], "invalid": out["invalid_citations"]})
        print(f"ask {wall:6.2f}s cited={out['cited']} {out['answer'][:100]!r}", flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--ask-runs", type=int, default=3)
    ap.add_argument("--no-ask", action="store_true", help="skip the ask figures (they take minutes)")
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="vecdb-lat"))
    sock_dir = Path(tempfile.mkdtemp(prefix="vecdb-d", dir="/tmp"))
    env = {k: v for k, v in os.environ.items() if k not in ("VECDB_NO_DAEMON", "VECDB_PATH", "VECDB_URI")}
    env.update(VECDB_PATH=str(work / "demo-db"), VECDB_DAEMON_DIR=str(sock_dir), HF_HUB_OFFLINE="1",
               TOKENIZERS_PARALLELISM="false")
    cold = {**env, "VECDB_NO_DAEMON": "1"}
    stop = lambda: subprocess.run([str(VECDB), "daemon", "stop"], env=env, capture_output=True)  # noqa: E731
    try:
        timed(["add", "-c", "demo", "--jsonl", str(DEMO), "-q"], cold)
        info = machine()
        print(f"{info['cpu']}, {info['cpus_usable']} usable CPUs, load {load()}", flush=True)
        search = ["search", "-c", "demo", QUERY, "-k", "3"]
        results = {
            "help": series("help", ["--help"], env, args.runs),
            "collections": series("collections", ["collections"], env, args.runs),
            "search_first": series("search_first", search, env, 3, before=stop),
            "search_warm": series("search_warm", search, env, args.runs),
            "search_no_daemon": series("search_no_daemon", [*search], cold, args.runs),
        }
        if not args.no_ask:
            question = ["ask", "-c", "demo", QUERY]
            results["ask_cold"] = series("ask_cold", question, cold, args.ask_runs)
            timed(question, env)  # the worker loads the chat model once
            results["ask_warm"] = series("ask_warm", question, env, args.ask_runs)
            results["ask_answers"] = answers(env)
    finally:
        stop()
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(sock_dir, ignore_errors=True)
    OUT.mkdir(parents=True, exist_ok=True)
    data = {"machine": info, "runs": args.runs, "results": results}
    (OUT / "cli_latency.json").write_text(json.dumps(data, indent=2) + "\n")
    (OUT / "cli_latency.md").write_text(render(data))
    print(render(data))


def render(data: dict) -> str:
    m = data["machine"]
    lines = [f"# CLI latency ({m['date'][:10]}, {m['cpu']} family/model {m.get('cpu_family_model', '?')}, "
             f"{m['cpus_usable']} CPUs, flags {' '.join(m.get('cpu_flags', [])) or '-'})", "",
             "Wall clock of the installed `vecdb` script, median of the runs; demo database (35 documents, MiniLM). "
             "`search first` starts the warm worker and loads the model in it; `no daemon` is `--no-daemon` "
             "(every call loads the model). Load average (1 min) before and after each series shows what else ran.",
             "", "| command | runs | median s | min s | max s | target s | load before -> after |", "|---|---|---|---|---|---|---|"]
    names = {"help": "vecdb --help", "collections": "vecdb collections", "search_first": "search, first call",
             "search_warm": "search, warm worker", "search_no_daemon": "search, no daemon",
             "ask_cold": "ask, in-process (no daemon)", "ask_warm": "ask, warm worker"}
    for key, label in names.items():
        r = data["results"].get(key)
        if r is None:
            continue
        target = f"{r['target_s']}" + (" ok" if r["meets_target"] else " MISSED") if "target_s" in r else "-"
        lines.append(f"| {label} | {len(r['runs'])} | {r['median_s']:.3f} | {r['min_s']:.3f} | {r['max_s']:.3f} | "
                     f"{target} | {r['load_avg_1_5_15'][0][0]} -> {r['load_avg_1_5_15'][-1][0]} |")
    rows = data["results"].get("ask_answers")
    if rows:
        cited = sum(r["cited"] for r in rows)
        lines += ["", f"`vecdb ask` through the warm worker, defaults (k 3, at most 96 new tokens, stop at the end of "
                      f"the answer): {cited} of {len(rows)} answers cite a passage.", "",
                  "| question | s | cites | answer |", "|---|---|---|---|"]
        lines += [f"| {r['question']} | {r['wall_s']:.1f} | {', '.join(r['citations']) or '-'} | "
                  f"{r['answer'].replace('|', '/')} |" for r in rows]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
