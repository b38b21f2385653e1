"""Device, dtype and runtime choice, from what the CPU really does."""
from __future__ import annotations

import functools
import os
import platform
import time
from dataclasses import dataclass

import torch

from ..errors import InvalidArgument

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
# int8: the linear layers' weights in int8 (per output channel) and their inputs quantised per document, run
# by ONNX Runtime (vecdb/embed/ort.py); the model itself loads in float32.
INT8 = "int8"
DTYPE_NAMES = (*DTYPES, INT8)
_ALIASES = {"fp32": "float32", "bf16": "bfloat16", "fp16": "float16", "half": "float16", "float": "float32"}
RUNTIMES = ("torch", "onnx")  # onnx: ONNX Runtime on the CPU, float32 or int8 (encoders)


@dataclass(frozen=True)
class CpuInfo:
    model: str
    flags: frozenset
    cores: int

    @property
    def bf16_flags(self) -> bool:
        return bool({"avx512_bf16", "amx_bf16"} & self.flags)

    def summary(self) -> dict:
        wanted = ("avx2", "fma", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_bf16", "amx_int8")
        return {"model": self.model, "cores": self.cores, "flags": [f for f in wanted if f in self.flags]}


@functools.lru_cache(maxsize=1)
def cpu_info() -> CpuInfo:
    model, flags = platform.processor() or platform.machine(), set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                key = key.strip()
                if key == "model name":
                    model = value.strip()
                elif key == "flags" and not flags:
                    flags = set(value.split())
    except OSError:
        pass
    return CpuInfo(model, frozenset(flags), len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                   else os.cpu_count() or 1)


def _matmul_seconds(dtype: torch.dtype, n: int = 128, reps: int = 5) -> float:
    """Best time of a small matmul on one thread (several threads on a busy machine time their barriers)."""
    a, b = torch.randn(n, n).to(dtype), torch.randn(n, n).to(dtype)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        a @ b
        best = float("inf")
        for _ in range(reps):
            t = time.perf_counter()
            a @ b
            best = min(best, time.perf_counter() - t)
    finally:
        torch.set_num_threads(threads)
    return best


@functools.lru_cache(maxsize=1)
def cpu_has_native_bf16() -> bool:
    """True when the CPU has bf16 dot-product instructions (AVX512-BF16 or AMX) and torch uses them: a
    short bf16 matmul must not be much slower than fp32 (it is ~100x slower where bf16 is emulated, as under
    ONEDNN_MAX_CPU_ISA=AVX2 or a hypervisor that hides the instructions)."""
    if not cpu_info().bf16_flags:
        return False
    return _matmul_seconds(torch.bfloat16) < 2 * _matmul_seconds(torch.float32)


def resolve_device(device: str | None) -> torch.device:
    if device in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        return torch.device(device)
    except (RuntimeError, TypeError):
        raise InvalidArgument(f"device: unknown device {device!r}; use auto, cpu or cuda[:N]", argument="device") from None


def dtype_name(dtype: str | None) -> str:
    name = (dtype or "auto").lower()
    name = _ALIASES.get(name, name)
    if name != "auto" and name not in DTYPE_NAMES:
        raise InvalidArgument(f"dtype: unknown value {dtype!r}; valid values: auto, {', '.join(DTYPE_NAMES)}",
                              argument="dtype")
    return name


def choose_runtime(dtype: str | None, runtime: str | None, device_type: str, *, native_bf16: bool,
                   cuda_bf16: bool = False, onnx_ok: bool = False, int8_ok: bool = False) -> tuple[str, str]:
    """(runtime, dtype). auto: bf16 where the CPU computes it natively; else, on ONNX Runtime where the model
    exports (`onnx_ok`), int8 where that model's int8 vectors were checked against float32 (`int8_ok`: SciFact
    nDCG@10 within 0.005) and float32 otherwise; else float32 on torch. A pure function of the facts given."""
    name = dtype_name(dtype)
    back = (runtime or "auto").lower()
    if back not in ("auto", *RUNTIMES):
        raise InvalidArgument(f"runtime: unknown value {runtime!r}; valid values: auto, {', '.join(RUNTIMES)}",
                              argument="runtime")
    if device_type == "cuda":
        if back == "onnx":
            raise InvalidArgument("runtime: onnx runs on the CPU; use torch on a GPU", argument="runtime")
        if name == INT8:
            raise InvalidArgument("dtype: int8 runs on the CPU (onnx runtime); use auto, bfloat16 or float16 "
                                  "on a GPU", argument="dtype")
        return "torch", (("bfloat16" if cuda_bf16 else "float16") if name == "auto" else name)
    if name == "auto":
        if back == "onnx" or not native_bf16:
            name = INT8 if int8_ok and onnx_ok and back != "torch" else "float32"
        else:
            name = "bfloat16"
    if back == "auto":
        back = "onnx" if name in ("float32", INT8) and onnx_ok else "torch"
    if name == INT8 and back != "onnx":
        raise InvalidArgument("dtype: int8 runs on the onnx runtime (the onnxruntime package and an encoder "
                              "model such as BERT)", argument="dtype")
    if back == "onnx" and name not in ("float32", INT8):
        raise InvalidArgument(f"runtime: onnx runs float32 or int8, not {name}", argument="runtime")
    if back == "onnx" and not onnx_ok:
        raise InvalidArgument("runtime: onnx needs the onnxruntime package and an encoder model "
                              "(BERT-like); use torch", argument="runtime")
    return back, name


def resolve_dtype(dtype: str | None, device: torch.device) -> str:
    """A torch dtype name: float32, bfloat16 or float16. 'auto' picks bf16 where it is native."""
    cuda_bf16 = device.type == "cuda" and torch.cuda.is_bf16_supported()
    native = device.type == "cpu" and dtype_name(dtype) == "auto" and cpu_has_native_bf16()
    return choose_runtime(dtype, "torch", device.type, native_bf16=native, cuda_bf16=cuda_bf16)[1]
