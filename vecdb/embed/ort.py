"""The onnx runtime: the model exported once to ONNX (cached by weights hash), run by ONNX Runtime.

ONNX Runtime fuses layer norm and GELU into single CPU kernels and skips eager PyTorch's per-op overhead,
so the same float32 vectors come faster on CPUs without native bf16. int8 (`quantize`) stores the linear
layers' weights in int8 per output channel and quantises their inputs per call; the embedder then runs one
document per call, so a document's vector never depends on its batch. Batches run on several one-thread
sessions at once (`OnnxRunner.map`): on a few cores that beats one session splitting each matmul."""
from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import queue
import re
import warnings
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np
import torch

from ..paths import cache_dir

# Encoder families whose export has been checked (an exported graph takes input_ids and attention_mask).
MODEL_TYPES = {"bert", "roberta", "xlm-roberta"}
OPSET = 17
INT8_VERSION = 1  # bump when the quantisation recipe changes (it names the cached file)
# The FFN's output projection stays float32: its input (after GELU) has outliers that one int8 scale per
# call flattens (SciFact nDCG@10 and cosine to float32 in bench/results/int8_candidates.md).
FLOAT_LAYERS = re.compile(r"layer\.\d+/output/dense/")
MAX_SESSIONS = 4


def available(model_type: str) -> bool:
    return model_type in MODEL_TYPES and all(importlib.util.find_spec(m) is not None for m in ("onnx", "onnxruntime"))


class _HiddenStates(torch.nn.Module):
    def __init__(self, model, layer: int):
        super().__init__()
        self.model, self.layer = model, layer

    def forward(self, input_ids, attention_mask):
        if self.layer == -1:
            return self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        out = self.model(input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=True)
        return out.hidden_states[self.layer]


def export(model, layer: int, weights_hash: str) -> Path:
    """The model's hidden states as an ONNX file in the cache (exported on first use)."""
    import transformers

    key = f"{weights_hash}|{layer}|{torch.__version__}|{transformers.__version__}|{OPSET}"
    path = cache_dir() / "onnx" / (hashlib.sha256(key.encode()).hexdigest()[:32] + ".onnx")
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    ids = torch.ones((2, 8), dtype=torch.long)
    mask = torch.ones_like(ids)
    mask[1, 5:] = 0  # a padded row, so that no branch for an all-ones mask is traced into the graph
    axes = {"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"},
            "hidden": {0: "batch", 1: "tokens"}}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer notes on shapes that are constant for these models
        torch.onnx.export(_HiddenStates(model.float().eval(), layer), (ids, mask), str(tmp),
                          input_names=["input_ids", "attention_mask"], output_names=["hidden"],
                          dynamic_axes=axes, opset_version=OPSET, dynamo=False)
    os.replace(tmp, path)
    return path


def quantize(path: Path) -> Path:
    """The int8 version of an exported model, next to it in the cache (made on first use)."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    out = path.with_name(f"{path.stem}.int8v{INT8_VERSION}.onnx")
    if out.exists():
        return out
    graph = onnx.load(str(path)).graph
    weights = {i.name for i in graph.initializer}
    # Only the MatMuls with a weight: attention's two activation inputs stay float32.
    nodes = [n.name for n in graph.node if n.op_type == "MatMul" and n.input[1] in weights
             and not FLOAT_LAYERS.search(n.name)]
    tmp = out.with_name(out.name + f".tmp{os.getpid()}")
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # the quantiser logs advice on pre-processing to the root logger
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            quantize_dynamic(str(path), str(tmp), weight_type=QuantType.QInt8, per_channel=True,
                             nodes_to_quantize=nodes, extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
    finally:
        root.setLevel(level)
    os.replace(tmp, out)
    return out


def session_threads(threads: int) -> list[int]:
    """Threads per session: up to MAX_SESSIONS sessions that together use exactly `threads` cores."""
    threads = max(1, threads)
    n = min(threads, MAX_SESSIONS)
    return [threads // n + (i < threads % n) for i in range(n)]


class OnnxRunner:
    """Hidden states of padded batches, float32, from ONNX Runtime sessions sharing `threads` cores
    (session_threads), one batch each at a time."""

    def __init__(self, path: Path, threads: int):
        import onnxruntime as ort

        def session(intra: int):
            so = ort.SessionOptions()
            so.intra_op_num_threads = intra
            so.inter_op_num_threads = 1
            so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            # Threads that spin between ops take the cores from everything else on a busy machine.
            so.add_session_config_entry("session.intra_op.allow_spinning", "0")
            return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])

        self.path = Path(path)
        self.sessions = [session(intra) for intra in session_threads(threads)]
        self._free: queue.Queue = queue.Queue()
        for sess in self.sessions:
            self._free.put(sess)

    @property
    def workers(self) -> int:
        return len(self.sessions)

    def __call__(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        feeds = {"input_ids": input_ids.numpy(), "attention_mask": attention_mask.numpy()}
        sess = self._free.get()
        try:
            out = sess.run(None, feeds)[0]
        finally:
            self._free.put(sess)
        return torch.from_numpy(np.asarray(out, dtype=np.float32))

    def map(self, batches: Iterable[tuple]) -> Iterator[tuple]:
        """(key, batch) -> (key, batch, hidden states) in order, `workers` batches at a time."""
        with ThreadPoolExecutor(self.workers, thread_name_prefix="vecdb-onnx") as pool:
            pending: deque = deque()
            for key, batch in batches:
                pending.append((key, batch, pool.submit(self, batch["input_ids"], batch["attention_mask"])))
                if len(pending) > 2 * self.workers:
                    k, b, f = pending.popleft()
                    yield k, b, f.result()
            while pending:
                k, b, f = pending.popleft()
                yield k, b, f.result()
