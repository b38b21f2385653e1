"""An ONNX Runtime that sees an AVX2-only CPU, for the AVX2 emulation of the embedding benchmarks.

    python bench/ort_avx2.py            # builds the copy, prints the folder to put first on PYTHONPATH

torch's libraries can be limited to AVX2 by environment variables (ATEN_CPU_CAPABILITY, ONEDNN_MAX_CPU_ISA,
MKL_ENABLE_INSTRUCTIONS); ONNX Runtime's kernels (MLAS, and the cpuinfo library it uses) cannot: they read
CPUID and then XCR0 (`xgetbv`) to see which register state the OS saves, and use AVX-512 (and AMX) only when
XCR0 has the opmask/ZMM (and tile) bits. This copies the installed onnxruntime package into a cache folder
and replaces each `xgetbv` instruction in its shared libraries (found by disassembling them with objdump)
with `push 7; pop rax` (the same three bytes' length): XCR0 then reads as x87 + SSE + AVX only, so every
check that asks for AVX-512 or AMX fails and MLAS runs its AVX2/FMA kernels, as on an AVX2-only CPU. The
`ort_matmul` peak in bench/embed_throughput.py shows it (it falls to torch's AVX2 rate). Linux x86-64 only;
needs objdump (binutils). Used only by the benchmarks, never by vecdb.
"""
from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys
from pathlib import Path

CACHE = Path(__file__).resolve().parent / ".cache" / "ort-avx2"
XGETBV, REPLACEMENT = b"\x0f\x01\xd0", b"\x6a\x07\x58"  # push 7; pop rax -> XCR0 = x87 | SSE | AVX


def sections(lib: Path) -> list[tuple[int, int, int]]:
    """(vma, size, file offset) of each code section."""
    out = subprocess.run(["objdump", "-h", str(lib)], capture_output=True, text=True, check=True).stdout
    rows, lines = [], out.splitlines()
    for i, line in enumerate(lines):
        parts = line.split()
        if len(parts) >= 6 and parts[0].isdigit() and i + 1 < len(lines) and "CODE" in lines[i + 1]:
            rows.append((int(parts[3], 16), int(parts[2], 16), int(parts[5], 16)))
    return rows


def xgetbv_offsets(lib: Path) -> list[int]:
    """File offsets of the real `xgetbv` instructions (not the same bytes inside other instructions)."""
    dis = subprocess.run(["objdump", "-d", "--no-show-raw-insn", str(lib)], capture_output=True, text=True,
                         check=True).stdout
    addrs = [int(m.group(1), 16) for m in re.finditer(r"^\s*([0-9a-f]+):\s+xgetbv\b", dis, re.MULTILINE)]
    code, offsets = sections(lib), []
    for a in addrs:
        vma, _size, off = next(s for s in code if s[0] <= a < s[0] + s[1])
        offsets.append(a - vma + off)
    return offsets


def patch(lib: Path) -> int:
    data = bytearray(lib.read_bytes())
    offsets = xgetbv_offsets(lib)
    for off in offsets:
        if data[off:off + 3] != XGETBV:
            raise RuntimeError(f"{lib.name}: no xgetbv at offset {off:#x}")
        data[off:off + 3] = REPLACEMENT
    lib.write_bytes(bytes(data))
    return len(offsets)


def build() -> Path:
    """The folder holding the patched `onnxruntime` package (built once per installed version)."""
    import onnxruntime

    src = Path(onnxruntime.__file__).parent
    key = hashlib.sha256(f"{src}:{onnxruntime.__version__}".encode()).hexdigest()[:12]
    root = CACHE / key
    done = root / "PATCHED"
    if done.exists():
        return root
    if root.exists():
        shutil.rmtree(root)
    shutil.copytree(src, root / "onnxruntime", ignore=shutil.ignore_patterns("__pycache__"))
    counts = {lib.name: patch(lib) for lib in sorted((root / "onnxruntime").rglob("*.so*")) if lib.is_file()}
    if not any(counts.values()):
        raise RuntimeError("no xgetbv found in onnxruntime's libraries: cannot limit it to AVX2")
    done.write_text(repr(counts) + "\n")
    return root


if __name__ == "__main__":
    path = build()
    print(path)
    print((path / "PATCHED").read_text().strip(), file=sys.stderr)
