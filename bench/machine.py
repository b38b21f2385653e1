"""What machine a benchmark ran on, read at run time: every results file records it.

    from bench.machine import describe, label
    results["machine"] = describe()        # CPU model, flags that matter, cores, GPU, versions, date, load
"""
from __future__ import annotations

import datetime as dt
import importlib.metadata as md
import os
import platform
import subprocess
from pathlib import Path

FLAGS = ("avx2", "fma", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_bf16", "amx_int8", "amx_tile")
PACKAGES = ("vecdb", "torch", "transformers", "onnxruntime", "faiss-cpu", "faiss-gpu-cu12", "numpy",
            "sentence-transformers", "chromadb", "pymilvus")


def cpu() -> dict:
    model, flags, family = platform.processor() or platform.machine(), set(), ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            key = key.strip()
            if key == "model name" and model == (platform.processor() or platform.machine()):
                model = value.strip()
            elif key == "flags" and not flags:
                flags = set(value.split())
            elif key == "cpu family" and not family:
                family = value.strip()
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {"model": model, "family": family, "arch": platform.machine(), "cores": cores,
            "flags": [f for f in FLAGS if f in flags]}


def gpus() -> list[str]:
    """GPU names from nvidia-smi; empty when there is none."""
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=name,memory.total", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return []
    return [line.strip() for line in out.stdout.splitlines() if line.strip()] if out.returncode == 0 else []


def versions() -> dict:
    out = {"python": platform.python_version()}
    for pkg in PACKAGES:
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            pass
    return out


def describe() -> dict:
    return {"date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "cpu": cpu(), "gpus": gpus(),
            "versions": versions(), "load_average": [round(x, 2) for x in os.getloadavg()]}


def label(m: dict | None = None) -> str:
    """One line for tables and plots: 'AMD EPYC (2 cores; avx2, avx512_bf16), no GPU, 2026-12-01'."""
    m = m or describe()
    c = m["cpu"]
    gpu = ", ".join(m["gpus"]) if m["gpus"] else "no GPU"
    return f"{c['model']} ({c['cores']} cores; {', '.join(c['flags']) or 'no AVX2'}), {gpu}, {m['date'][:10]}"
