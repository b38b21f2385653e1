"""Device and dtype choice."""
from __future__ import annotations

import functools

import torch

from ..errors import InvalidArgument

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
_ALIASES = {"fp32": "float32", "bf16": "bfloat16", "fp16": "float16", "half": "float16", "float": "float32"}


def resolve_device(device: str | None) -> torch.device:
    if device in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        return torch.device(device)
    except (RuntimeError, TypeError):
        raise InvalidArgument(f"device: unknown device {device!r}; use auto, cpu or cuda[:N]", argument="device") from None


@functools.lru_cache(maxsize=1)
def cpu_has_native_bf16() -> bool:
    """True when the CPU has bf16 dot-product instructions (AVX512-BF16 or AMX)."""
    try:
        with open("/proc/cpuinfo") as f:
            flags = f.read()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def resolve_dtype(dtype: str | None, device: torch.device) -> str:
    """A dtype name: float32, bfloat16 or float16. 'auto' picks bf16 where it is native."""
    name = (dtype or "auto").lower()
    name = _ALIASES.get(name, name)
    if name == "auto":
        if device.type == "cuda":
            return "bfloat16" if torch.cuda.is_bf16_supported() else "float16"
        return "bfloat16" if cpu_has_native_bf16() else "float32"
    if name not in DTYPES:
        raise InvalidArgument(f"dtype: unknown value {dtype!r}; valid values: auto, {', '.join(DTYPES)}", argument="dtype")
    return name
