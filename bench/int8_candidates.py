"""int8 candidates for the CPU path without bf16, measured against vecdb's float32 vectors.

    python bench/int8_candidates.py [--docs 200] [--rounds 2] [--isa avx2]

Dynamic int8 quantisation of the linear layers, by torch (fbgemm/x86: per-tensor or per-channel weights,
all linear layers or all but the FFN output) and by ONNX Runtime (quantize_dynamic on the exported graph).
For each: docs/s beside float32 in interleaved rounds, the cosine of each document's vector to its float32
vector, and batch invariance (a text alone vs in its batch: dynamic quantisation scales activations per
batch). `--isa avx2` limits torch's libraries (fbgemm included) and ONNX Runtime to AVX2 as
bench/embed_throughput.py does (bench/ort_avx2.py). Writes bench/results/int8_candidates.{json,md}.
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
from embed_throughput import EMULATED_LABEL, OUT, avx2_env, corpus, versions  # noqa: E402

FFN_OUT = r"layer\.\d+\.output\.dense$"
CANDIDATES = ("float32", "torch-int8-tensor", "torch-int8-channel", "torch-int8-channel-no-ffn-out", "ort-int8",
              "ort-int8-weights-channel", "ort-int8-weights-channel-reduce-range", "ort-int8-weights-channel-no-ffn-out",
              "vecdb-int8")
# vecdb-int8: what dtype int8 runs (vecdb/embed/ort.py quantize: per channel, weights' MatMuls but the FFN output,
# one document a call); the others run vecdb's float32 batches (up to 8 documents a call).


def model(name: str, emb):
    """A callable (input_ids, attention_mask) -> hidden states for this candidate."""
    import torch

    if name == "float32":
        return emb.runner
    if name == "vecdb-int8":
        from vecdb.embed import ort

        emb.max_batch = 1
        return ort.OnnxRunner(ort.quantize(emb.runner.path), torch.get_num_threads())
    if name.startswith("ort-int8"):
        import onnx
        from onnxruntime.quantization import QuantType, quantize_dynamic

        from vecdb.embed.ort import OnnxRunner

        out = Path(tempfile.mkdtemp()) / "q.onnx"
        kw = {}
        if "weights" in name:  # only the MatMuls with a weight (not attention's two activations)
            graph = onnx.load(str(emb.runner.path)).graph
            weights = {i.name for i in graph.initializer}
            kw["nodes_to_quantize"] = [n.name for n in graph.node if n.op_type == "MatMul" and n.input[1] in weights
                                       and not ("no-ffn-out" in name and re.search(r"layer\.\d+/output/dense", n.name))]
        quantize_dynamic(str(emb.runner.path), str(out), weight_type=QuantType.QInt8, per_channel="channel" in name,
                         reduce_range="reduce-range" in name, extra_options={"DefaultTensorType": 1}, **kw)
        return OnnxRunner(out, torch.get_num_threads())
    from vecdb.embed import load_embedder
    from torch.ao.quantization import default_dynamic_qconfig, per_channel_dynamic_qconfig, quantize_dynamic

    base = load_embedder(model="minilm", dtype="float32", runtime="torch").model
    qc = per_channel_dynamic_qconfig if "channel" in name else default_dynamic_qconfig
    names = [n for n, m in base.named_modules() if isinstance(m, torch.nn.Linear)
             and not ("no-ffn-out" in name and re.search(FFN_OUT, n))]
    q = quantize_dynamic(copy.deepcopy(base), {n: qc for n in names}, dtype=torch.qint8)
    return TorchRunner(lambda ids, mask: q(input_ids=ids, attention_mask=mask).last_hidden_state)


class TorchRunner:
    """A torch model where the embedder expects its onnx runner: one batch after another."""

    def __init__(self, fn):
        self.fn = fn

    def __call__(self, input_ids, attention_mask):
        return self.fn(input_ids, attention_mask)

    def map(self, batches):
        for key, batch in batches:
            yield key, batch, self(batch["input_ids"], batch["attention_mask"])


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

    env = avx2_env() if args.isa == "avx2" else dict(os.environ)
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
             f"{', '.join(meta['cpu']['flags'])}; isa {args.isa}" + (f", {EMULATED_LABEL}" if meta["emulated"] else "")
             + f"; {args.docs} documents, {args.rounds} interleaved rounds, medians.", "",
             "| candidate | docs/s | × float32 | min cosine to float32 | mean cosine | batch vs alone, max diff |",
             "|---|---|---|---|---|---|"]
    lines += [f"| {c} | {r['docs_per_s']} | {r['speed_vs_float32']} | {r['min_cos']} | {r['mean_cos']} | "
              f"{r['batch_vs_single_max_diff']} |" for c, r in rows.items()]
    (OUT / "int8_candidates.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
