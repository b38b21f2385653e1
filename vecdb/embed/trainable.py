"""Trainable pooling layers over the last hidden states, saved as safetensors + a small JSON.

Each is a frozen reduction of the hidden states (its `feature`: "mean", "last" or the "tokens" themselves)
followed by a trained `head`, so pooling-only training can cache the features and train the head alone."""
from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import torch
from torch import nn

from ..errors import InvalidArgument
from .pooling import last_token, mean
from .registry import Pooling

WEIGHTS_FILE = "vecdb_pooler.safetensors"
CONFIG_FILE = "vecdb_pooler.json"


FEATURES = {"mean": mean, "last": last_token}  # one vector per text; "tokens" keeps every hidden state


class TrainablePooler(nn.Module):
    """Built through its registered mode (`Pooling.parse(name).build(dim)`), which sets `mode`."""
    feature: str = "mean"

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

    @property
    def kind(self) -> str:
        return self.mode.value

    @property
    def sees_instruction(self) -> bool:
        return self.mode.sees_instruction

    def forward(self, h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:  # (B, T, D), (B, T) -> (B, out)
        if self.feature == "tokens":
            return self.head(h, mask)
        return self.head(FEATURES[self.feature](h, mask))

    def head(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        return self.proj(x)

    def from_features(self, feats: list[torch.Tensor]) -> torch.Tensor:
        """Vectors from cached features of each text (one vector, or (T_i, D) token states)."""
        if self.feature == "tokens":
            h, m = pad_tokens(feats)
            return self.head(h.to(self.proj.weight.device), m.to(self.proj.weight.device))
        return self.head(torch.stack(feats).to(self.proj.weight.device))

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
    feature = "tokens"

    def __init__(self, dim: int, out_dim: int | None = None):
        super().__init__(dim, out_dim)
        self.query = nn.Parameter(torch.zeros(dim))

    def head(self, h, mask=None):
        scores = (h @ self.query) / math.sqrt(self.dim)
        scores = scores.masked_fill(mask == 0, torch.finfo(scores.dtype).min)
        w = torch.softmax(scores, dim=1).unsqueeze(-1)
        return self.proj((w * h).sum(1))


class LinearPooler(TrainablePooler):
    """Mean pooling followed by a learned linear projection (starts as the identity)."""


class LastLinearPooler(TrainablePooler):
    """Last-token pooling followed by a learned linear projection (starts as the identity)."""
    feature = "last"


def create(kind: str, dim: int, out_dim: int | None = None) -> TrainablePooler:
    mode = Pooling.parse(kind)
    if not mode.trainable:
        raise InvalidArgument(f"pooling: no trainable pooling {kind!r}; valid: {', '.join(Pooling.names(True))}",
                              argument="pooling")
    return mode.build(dim, out_dim)


def pad_tokens(seqs: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-padded (B, T, D) float32 and its (B, T) mask from per-text token states."""
    width = max(s.shape[0] for s in seqs)
    h = torch.zeros(len(seqs), width, seqs[0].shape[1])
    m = torch.zeros(len(seqs), width, dtype=torch.long)
    for r, s in enumerate(seqs):
        h[r, :s.shape[0]] = s.float()
        m[r, :s.shape[0]] = 1
    return h, m


def has_pooler(folder: str | Path | None) -> bool:
    return folder is not None and (Path(folder) / WEIGHTS_FILE).exists() and (Path(folder) / CONFIG_FILE).exists()


def load(folder: str | Path) -> TrainablePooler:
    from safetensors.torch import load_file

    folder = Path(folder)
    cfg = json.loads((folder / CONFIG_FILE).read_text())
    pooler = create(cfg["kind"], int(cfg["dim"]), int(cfg["out_dim"]))
    pooler.load_state_dict(load_file(str(folder / WEIGHTS_FILE)))
    return pooler
