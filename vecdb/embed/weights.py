"""Weights hashing, cached by (path, size, mtime) so large models hash once."""
from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path

from ..paths import cache_dir

WEIGHT_SUFFIXES = (".safetensors", ".bin", ".gguf", ".pt", ".pth")
_lock = threading.Lock()


def weight_files(model_dir: Path) -> list[Path]:
    files = sorted(p for p in Path(model_dir).rglob("*") if p.is_file() and p.name.endswith(WEIGHT_SUFFIXES)
                   and "checkpoint" not in p.parts)
    return files


def file_sha256(path: Path) -> str:
    st = path.stat()
    key = f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}"
    cache_file = cache_dir() / "hashes.json"
    with _lock:
        cache = _read(cache_file)
        if key in cache:
            return cache[key]
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            h.update(chunk)
    digest = h.hexdigest()
    with _lock:
        cache = _read(cache_file)
        cache[key] = digest
        try:
            cache_file.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache_file.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(cache))
            os.replace(tmp, cache_file)
        except OSError:
            pass  # the cache is an optimisation only
    return digest


def weights_hash(model_dir: Path) -> str:
    """sha256 over the names and hashes of every weight file in a model folder."""
    files = weight_files(model_dir)
    h = hashlib.sha256()
    for f in files:
        h.update(f.relative_to(model_dir).as_posix().encode())
        h.update(file_sha256(f).encode())
    return "sha256:" + h.hexdigest()


def _read(cache_file: Path) -> dict:
    try:
        return json.loads(cache_file.read_text())
    except (OSError, ValueError):
        return {}
