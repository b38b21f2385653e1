"""What the CLI and its warm worker share: where the socket lives, how a message is framed, and the
fingerprint that says whether a running worker is the same code in the same environment.

A message is a 4-byte big-endian length and that many bytes of UTF-8 JSON. This module imports
nothing heavy: the CLI's warm path loads it and little else."""
from __future__ import annotations

import hashlib
import json
import os
import socket
import stat
import struct
import sys
from pathlib import Path

HEADER = struct.Struct("!I")
MAX_MESSAGE = 1 << 30
IDLE_SECONDS = 900.0          # the worker exits after this long without a request
SOCKET_PATH_MAX = 104         # sun_path is 108 bytes on Linux, 104 on macOS

# Variables the CLI resolves itself before it calls the library; a worker need not match them.
CLI_ONLY_ENV = {"VECDB_PATH", "VECDB_COLLECTION", "VECDB_FORMAT", "VECDB_MODEL", "VECDB_NO_DAEMON",
                "VECDB_NO_PROGRESS", "VECDB_DEBUG", "VECDB_BACKEND", "VECDB_URI", "VECDB_CHUNK_SIZE",
                "VECDB_DAEMON_DIR", "VECDB_DAEMON_IDLE"}
ENV_PREFIXES = ("VECDB_", "HF_", "TRANSFORMERS_", "TOKENIZERS_", "TORCH", "PYTORCH_", "OMP_", "MKL_", "CUDA_",
                "OPENAI_", "MILVUS_")
ENV_NAMES = ("HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME")


class ProtocolError(Exception):
    """The other end sent something that is not a message, or went away mid-message."""


def send(sock: socket.socket, obj) -> None:
    data = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), default=_plain).encode("utf-8")
    sock.sendall(HEADER.pack(len(data)) + data)


def recv(sock: socket.socket):
    """The next message, or None when the other end closed the connection between messages."""
    head = _read(sock, HEADER.size, allow_eof=True)
    if head is None:
        return None
    (size,) = HEADER.unpack(head)
    if size > MAX_MESSAGE:
        raise ProtocolError(f"message of {size} bytes is too large")
    try:
        return json.loads(_read(sock, size).decode("utf-8"))
    except ValueError as e:
        raise ProtocolError(f"message is not JSON ({e})") from None


def _read(sock: socket.socket, n: int, allow_eof: bool = False) -> bytes | None:
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(min(n - len(buf), 1 << 20))
        if not chunk:
            if allow_eof and not buf:
                return None
            raise ProtocolError("connection closed mid-message")
        buf += chunk
    return bytes(buf)


def _plain(obj):
    """numpy scalars and arrays (scores, vectors) as plain JSON."""
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if isinstance(obj, (set, tuple)):
        return list(obj)
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")


def peer_uid(sock: socket.socket) -> int | None:
    """The user id of the process at the other end (Linux), else None."""
    if not hasattr(socket, "SO_PEERCRED"):
        return None
    creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    return struct.unpack("3i", creds)[1]


# ---- where ----------------------------------------------------------------
def runtime_dir() -> Path:
    """An owner-only (0700) folder: $VECDB_DAEMON_DIR, else $XDG_RUNTIME_DIR/vecdb, else ~/.cache/vecdb/daemon.
    Raises OSError when it cannot be made private to this user."""
    if os.environ.get("VECDB_DAEMON_DIR"):
        d = Path(os.environ["VECDB_DAEMON_DIR"])
    elif os.environ.get("XDG_RUNTIME_DIR"):
        d = Path(os.environ["XDG_RUNTIME_DIR"]) / "vecdb"
    else:
        d = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "vecdb" / "daemon"
    d.mkdir(mode=0o700, parents=True, exist_ok=True)
    st = d.lstat()
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid():
        raise OSError(f"{str(d)!r} is not a folder owned by this user")
    if st.st_mode & 0o077:
        os.chmod(d, 0o700)
    return d


def paths() -> dict[str, Path]:
    """The socket, lock and log of this installation's worker (one per user and Python environment)."""
    d = runtime_dir()
    stem = "worker-" + hashlib.sha256(f"{sys.prefix}\0{_package_dir()}".encode()).hexdigest()[:12]
    out = {"dir": d, "socket": d / f"{stem}.sock", "lock": d / f"{stem}.lock", "log": d / f"{stem}.log"}
    if len(os.fsencode(out["socket"])) > SOCKET_PATH_MAX:
        raise OSError(f"socket path {str(out['socket'])!r} is too long for a Unix socket; set VECDB_DAEMON_DIR")
    return out


def _package_dir() -> str:
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# ---- same code, same environment -----------------------------------------------
def fingerprint(environ=None) -> str:
    """Changes when the vecdb code, the interpreter or an environment variable the library reads changes."""
    environ = os.environ if environ is None else environ
    h = hashlib.sha256()
    h.update(f"{sys.executable}\0{sys.version}\0".encode())
    root = _package_dir()
    for folder, dirs, files in sorted(os.walk(root)):
        dirs.sort()
        for name in sorted(files):
            if name.endswith(".py"):
                st = os.stat(os.path.join(folder, name))
                h.update(f"{folder}/{name}\0{st.st_mtime_ns}\0{st.st_size}\0".encode())
    for key in sorted(environ):
        if (key.startswith(ENV_PREFIXES) or key in ENV_NAMES) and key not in CLI_ONLY_ENV:
            h.update(f"{key}={environ[key]}\0".encode("utf-8", "surrogateescape"))
    return h.hexdigest()[:24]


def idle_seconds() -> float:
    try:
        return max(1.0, float(os.environ.get("VECDB_DAEMON_IDLE", IDLE_SECONDS)))
    except ValueError:
        return IDLE_SECONDS
