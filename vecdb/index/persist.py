"""The index file: a rebuildable cache, written atomically and stamped with its last change."""
from __future__ import annotations

import json
import os
import struct
from pathlib import Path

from . import VectorIndex, index_class

MAGIC = b"VECDBIX1"


def save(path: Path, index: VectorIndex, stamp: int, config: dict) -> None:
    """temp file, fsync, rename, fsync the folder."""
    header = json.dumps({"stamp": stamp, "config": config, "dim": index.dim, "count": len(index)}).encode()
    body = index.to_bytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        f.write(MAGIC + struct.pack("<I", len(header)) + header)
        f.write(body)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    dfd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


def load(path: Path, config: dict, dim: int) -> tuple[VectorIndex, int] | None:
    """(index, stamp), or None when the file is missing, unreadable or for another config."""
    try:
        data = path.read_bytes()
        if data[:8] != MAGIC:
            return None
        (n,) = struct.unpack("<I", data[8:12])
        header = json.loads(data[12:12 + n])
        if header.get("config") != config or header.get("dim") != dim:
            return None
        index = index_class(config.get("type", "flat")).from_bytes(data[12 + n:], dim,
                                                                    **{k: v for k, v in config.items() if k != "type"})
        if len(index) != header.get("count"):
            return None
        return index, int(header["stamp"])
    except Exception:  # any damage means: rebuild from SQLite
        return None
