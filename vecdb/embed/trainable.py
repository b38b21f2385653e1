"""Trainable pooling layers over the last hidden states, saved as safetensors + a small JSON."""
from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import torch
from torch import nn

from ..errors import InvalidArgument
from .pooling import last_token, mean

WEIGHTS_FILE = "vecdb_pooler.safetensors"
CONFIG_FILE = "vecdb_pooler.json"


class TrainablePooler(nn.Module):
    kind: str = ""

    def __init__(self, dim: int, out_dim: int | None = None):
        super().__init__()
        self.dim = dim
        self.out_dim = out_dim or dim
        self.proj = nn.Linear(dim, self.out_dim, bias=True)
        with torch.no_grad():  # start as the identity, so training starts from plain pooling
            self.proj.weight.zero_()
            n = min(dim, self.out_dim)
            self.proj.weight[:n, :n] = torch.eye(n)
            self.proj.bias.zero_()

    def forward(self, h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:  # (B, T, D), (B, T) -> (B, out)
        raise NotImplementedError

    # ---- persistence ----------------------------------------------------
    def save(self, folder: str | Path) -> str:
        from safetensors.torch import save_file

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        state = {k: v.detach().float().cpu().contiguous() for k, v in self.state_dict().items()}
        save_file(state, str(folder / WEIGHTS_FILE))
        digest = self.weights_hash()
        (folder / CONFIG_FILE).write_text(json.dumps({"kind": self.kind, "dim": self.dim, "out_dim": self.out_dim,
                                                      "weights_hash": digest}, indent=2))
        return digest

    def weights_hash(self) -> str:
        h = hashlib.sha256(self.kind.encode())
        for k, v in sorted(self.state_dict().items()):
            h.update(k.encode())
            h.update(v.detach().float().cpu().contiguous().numpy().tobytes())
        return "sha256:" + h.hexdigest()


class AttentionPooler(TrainablePooler):
    """Softmax attention with one learned query vector, then a linear projection.

    The query starts at zero, so attention starts uniform: the layer begins as mean pooling."""
    kind = "attention"

    def __init__(self, dim: int, out_dim: int | None = None):
        super().__init__(dim, out_dim)
        self.query = nn.Parameter(torch.zeros(dim))

    def forward(self, h, mask):
        scores = (h @ self.query) / math.sqrt(self.dim)
        scores = scores.masked_fill(mask == 0, torch.finfo(scores.dtype).min)
        w = torch.softmax(scores, dim=1).unsqueeze(-1)
        return self.proj((w * h).sum(1))


class LinearPooler(TrainablePooler):
    """Mean pooling followed by a learned linear projection (starts as the identity)."""
    kind = "linear"

    def forward(self, h, mask):
        return self.proj(mean(h, mask))


class LastLinearPooler(TrainablePooler):
    """Last-token pooling followed by a learned linear projection (starts as the identity)."""
    kind = "last-linear"

    def forward(self, h, mask):
        return self.proj(last_token(h, mask))


KINDS: dict[str, type[TrainablePooler]] = {"attention": AttentionPooler, "linear": LinearPooler,
                                           "last-linear": LastLinearPooler}


def create(kind: str, dim: int, out_dim: int | None = None) -> TrainablePooler:
    if kind not in KINDS:
        raise InvalidArgument(f"pooling: no trainable pooling {kind!r}; valid: {', '.join(KINDS)}", argument="pooling")
    return KINDS[kind](dim, out_dim)


def has_pooler(folder: str | Path | None) -> bool:
    return folder is not None and (Path(folder) / WEIGHTS_FILE).exists() and (Path(folder) / CONFIG_FILE).exists()


def load(folder: str | Path) -> TrainablePooler:
    from safetensors.torch import load_file

    folder = Path(folder)
    cfg = json.loads((folder / CONFIG_FILE).read_text())
    pooler = create(cfg["kind"], int(cfg["dim"]), int(cfg["out_dim"]))
    pooler.load_state_dict(load_file(str(folder / WEIGHTS_FILE)))
    return pooler
