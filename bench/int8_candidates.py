"""int8 candidates for the CPU path without bf16, measured against vecdb's float32 vectors.

    python bench/int8_candidates.py [--docs 200] [--rounds 2] [--isa avx2]

Dynamic int8 quantisation of the linear layers, by torch (fbgemm/x86: per-tensor or per-channel weights,
all linear layers or all but the FFN output) and by ONNX Runtime (quantize_dynamic on the exported graph).
For each: docs/s beside float32 in interleaved rounds, the cosine of each document's vector to its float32
vector, and batch invariance (a text alone vs in its batch: dynamic quantisation scales activations per
batch). `--isa avx2` limits torch's libraries (fbgemm included) to AVX2 as bench/embed_throughput.py does;
ONNX Runtime's kernels cannot be limited. Writes bench/results/int8_candidates.{json,md}.
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from embed_throughput import AVX2_ENV, OUT, corpus, versions  # noqa: E402

FFN_OUT = r"layer\.\d+\.output\.dense$"
CANDIDATES = ("float32", "torch-int8-tensor", "torch-int8-channel", "torch-int8-channel-no-ffn-out", "ort-int8")


def model(name: str, emb):
    """A callable (input_ids, attention_mask) -> hidden states for this candidate."""
    import torch

    if name == "float32":
        return emb.runner
    if name == "ort-int8":
        from onnxruntime.quantization import QuantType, quantize_dynamic

        from vecdb.embed.ort import OnnxRunner

        out = Path(tempfile.mkdtemp()) / "q.onnx"
        quantize_dynamic(str(emb.runner.path), str(out), weight_type=QuantType.QInt8,
                         extra_options={"DefaultTensorType": 1})
        return OnnxRunner(out, torch.get_num_threads())
    from vecdb.embed import load_embedder
    from torch.ao.quantization import default_dynamic_qconfig, per_channel_dynamic_qconfig, quantize_dynamic

    base = load_embedder(model="minilm", dtype="float32", runtime="torch").model
    qc = per_channel_dynamic_qconfig if "channel" in name else default_dynamic_qconfig
    names = [n for n, m in base.named_modules() if isinstance(m, torch.nn.Linear)
             and not ("no-ffn-out" in name and re.search(FFN_OUT, n))]
    q = quantize_dynamic(copy.deepcopy(base), {n: qc for n in names}, dtype=torch.qint8)
    return lambda ids, mask: q(input_ids=ids, attention_mask=mask).last_hidden_state


def worker(args) -> None:
    import torch

    from vecdb.embed import load_embedder

    texts = corpus(args.docs)
    emb = load_embedder(model="minilm", dtype="float32", runtime="onnx")
    fp32_runner = emb.runner
    ref = emb.embed_documents(texts)
    emb.runner = model(args.worker, emb)
    try:
        with torch.inference_mode():
            emb.embed_documents(texts[:8])
            t = time.perf_counter()
            vecs = emb.embed_documents(texts)
            rate = len(texts) / (time.perf_counter() - t)
            single = np.stack([emb.embed_documents([x])[0] for x in texts[:16]])
    finally:
        emb.runner = fp32_runner
    cos = np.sum(vecs * ref, 1)
    print("RESULT " + json.dumps({"docs_per_s": rate, "min_cos": float(cos.min()), "mean_cos": float(cos.mean()),
                                  "batch_vs_single_max_diff": float(np.abs(vecs[:16] - single).max())}), flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--isa", default="avx2")
    ap.add_argument("--worker", default="")
    args = ap.parse_args()
    if args.worker:
        return worker(args)
    from vecdb.embed.device import cpu_info

    env = {**os.environ, **(AVX2_ENV if args.isa == "avx2" else {})}
    runs = {c: [] for c in CANDIDATES}
    for _ in range(args.rounds):
        for c in CANDIDATES:
            p = subprocess.run([sys.executable, __file__, "--worker", c, "--docs", str(args.docs)], env=env,
                               capture_output=True, text=True, cwd=ROOT)
            lines = [x for x in p.stdout.splitlines() if x.startswith("RESULT ")]
            if p.returncode or not lines:
                raise RuntimeError(f"{c} failed:\n{p.stderr[-3000:]}")
            runs[c].append(json.loads(lines[-1][7:]))
            print(c, runs[c][-1], flush=True)
    rows = {c: {"docs_per_s": round(statistics.median(r["docs_per_s"] for r in rs), 2),
                "min_cos": round(min(r["min_cos"] for r in rs), 5), "mean_cos": round(rs[0]["mean_cos"], 5),
                "batch_vs_single_max_diff": round(max(r["batch_vs_single_max_diff"] for r in rs), 6)}
            for c, rs in runs.items()}
    for r in rows.values():
        r["speed_vs_float32"] = round(r["docs_per_s"] / rows["float32"]["docs_per_s"], 2)
    meta = {"date": time.strftime("%Y-%m-%d %H:%M"), "cpu": cpu_info().summary(), "versions": versions(),
            "docs": args.docs, "rounds": args.rounds, "isa": args.isa, "emulated": args.isa == "avx2"}
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "int8_candidates.json").write_text(json.dumps({"meta": meta, "rows": rows, "runs": runs}, indent=2))
    lines = ["# int8 candidates vs float32 (SciFact documents, all-MiniLM-L6-v2, max 256 tokens)", "",
             f"Run {meta['date']} on {meta['cpu']['model']}, {meta['cpu']['cores']} cores, flags "
             f"{', '.join(meta['cpu']['flags'])}; isa {args.isa}" + (" (emulated: torch's libraries limited to AVX2; "
                                                                    "ONNX Runtime is not)" if meta["emulated"] else "")
             + f"; {args.docs} documents, {args.rounds} interleaved rounds, medians.", "",
             "| candidate | docs/s | × float32 | min cosine to float32 | mean cosine | batch vs alone, max diff |",
             "|---|---|---|---|---|---|"]
    lines += [f"| {c} | {r['docs_per_s']} | {r['speed_vs_float32']} | {r['min_cos']} | {r['mean_cos']} | "
              f"{r['batch_vs_single_max_diff']} |" for c, r in rows.items()]
    (OUT / "int8_candidates.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
