"""Fixed pooling: one pure function per mode (registered in registry.py), wrapped as a pooler object.

Every function takes hidden states ``h`` of shape (batch, tokens, dim) and a
0/1 ``mask`` of shape (batch, tokens) marking the tokens to pool over, and
works the same under left and right padding.
"""
from __future__ import annotations

import torch
from torch import nn


def _m(mask: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    return mask.to(h.dtype).unsqueeze(-1)


def mean(h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    m = _m(mask, h)
    return (h * m).sum(1) / m.sum(1).clamp(min=1e-9)


def first_index(mask: torch.Tensor) -> torch.Tensor:
    return mask.to(torch.int64).argmax(1)


def last_index(mask: torch.Tensor) -> torch.Tensor:
    n = mask.shape[1]
    return n - 1 - mask.to(torch.int64).flip(1).argmax(1)


def cls(h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return h[torch.arange(h.shape[0], device=h.device), first_index(mask)]


def last_token(h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return h[torch.arange(h.shape[0], device=h.device), last_index(mask)]


def weighted_mean(h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """SGPT position-weighted mean: token i of n gets weight i / sum(1..n)."""
    m = mask.to(h.dtype)
    pos = torch.cumsum(m, dim=1) * m
    w = (pos / pos.sum(1, keepdim=True).clamp(min=1e-9)).unsqueeze(-1)
    return (h * w).sum(1)


def max_(h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    neg = torch.finfo(h.dtype).min
    return h.masked_fill(mask.unsqueeze(-1) == 0, neg).max(1).values


class FixedPooler(nn.Module):
    """A pure pooling function as a pooler: no weights, output as wide as the hidden states."""

    def __init__(self, mode, fn, dim: int):  # mode: its registry.PoolingMode
        super().__init__()
        self.mode, self.fn, self.dim, self.out_dim = mode, fn, dim, dim

    @property
    def sees_instruction(self) -> bool:
        return self.mode.sees_instruction

    def forward(self, h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.fn(h, mask)

    def weights_hash(self) -> None:
        return None
