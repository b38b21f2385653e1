"""The onnx runtime: the model exported once to ONNX (cached by weights hash), run by ONNX Runtime.

ONNX Runtime fuses attention, layer norm and GELU into single CPU kernels and skips eager PyTorch's
per-op overhead, so the same float32 vectors come faster on CPUs without native bf16."""
from __future__ import annotations

import hashlib
import importlib.util
import os
import warnings
from pathlib import Path

import numpy as np
import torch

from ..paths import cache_dir

# Encoder families whose export has been checked (an exported graph takes input_ids and attention_mask).
MODEL_TYPES = {"bert", "roberta", "xlm-roberta"}
OPSET = 17


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


class OnnxRunner:
    """Hidden states of a padded batch, float32, from an ONNX Runtime session on `threads` threads."""

    def __init__(self, path: Path, threads: int):
        import onnxruntime as ort

        so = ort.SessionOptions()
        so.intra_op_num_threads = max(1, threads)
        so.inter_op_num_threads = 1
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # Threads that spin between ops take the cores from everything else on a busy machine.
        so.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.path = Path(path)
        self.session = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])

    def __call__(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        feeds = {"input_ids": input_ids.numpy(), "attention_mask": attention_mask.numpy()}
        return torch.from_numpy(np.asarray(self.session.run(None, feeds)[0], dtype=np.float32))
