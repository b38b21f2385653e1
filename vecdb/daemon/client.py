"""The CLI's side of the warm worker: connect (starting a worker when none answers), send one operation,
pass its events on, and return its result or raise its error as the same exception class.

`call` returns UNAVAILABLE when no worker can take the operation (it cannot start, another operation
holds it for long, the socket folder is not private): the caller then runs the operation itself."""
from __future__ import annotations

import os
import select
import signal
import socket
import subprocess
import sys
import time
from typing import Any, Callable

from . import protocol

UNAVAILABLE = object()
START_TIMEOUT_S = 30.0
LOG_MAX_BYTES = 1 << 20


def call(op: str, db: str, args: dict, emit: Callable[[dict], None], create: bool = True) -> Any:
    """Run vecdb.daemon.ops.<op>(database at `db`, emit, **args) in the worker; with create=False a
    folder without a database is an error there, as in vecdb.open(create=False)."""
    try:
        paths = protocol.paths()
    except OSError:
        return UNAVAILABLE
    request = {"op": op, "fingerprint": protocol.fingerprint(), "db": db, "create": create, "cwd": os.getcwd(),
               "args": args}
    for _ in range(2):  # a second try after a stale worker made way
        conn = connect(paths) or start(paths)
        if conn is None:
            return UNAVAILABLE
        with conn:
            try:
                protocol.send(conn, request)
            except OSError:  # it was exiting; nothing ran
                return UNAVAILABLE
            reply = _relay(conn, emit, op, paths)
        if isinstance(reply, dict) and reply.get("stale"):
            _wait_until_gone(int(reply.get("pid", 0)), 5.0)
            continue
        return reply
    return UNAVAILABLE


def _relay(conn: socket.socket, emit, op: str, paths: dict):
    while True:
        try:
            msg = protocol.recv(conn)
        except (OSError, protocol.ProtocolError):
            msg = None
        if msg is None:
            from ..errors import VecdbError

            raise VecdbError(f"daemon: the warm worker stopped while running {op!r} (see {paths['log']}); "
                             "--no-daemon runs commands in-process", argument="daemon")
        if "event" in msg:
            emit(msg["event"])
        elif "result" in msg:
            return msg["result"]
        elif "error" in msg:
            raise rebuild(msg["error"])
        elif msg.get("busy"):
            return UNAVAILABLE
        else:
            return msg  # stale


def rebuild(error: dict) -> Exception:
    """The worker's exception as the same class here, so the CLI prints and exits exactly as in-process."""
    from .. import errors

    if error.get("type") == "internal":  # a bug: main() prints "internal error: <name>: <message>"
        return type(str(error.get("name") or "Exception"), (Exception,), {})(error.get("message", ""))
    cls = getattr(errors, str(error.get("type")), None)
    if not (isinstance(cls, type) and issubclass(cls, errors.VecdbError)):
        cls = errors.VecdbError
    e = cls.__new__(cls)
    errors.VecdbError.__init__(e, error.get("message", ""), argument=error.get("argument"))
    for key, value in (error.get("attrs") or {}).items():  # LimitExceeded.limit, SpecMismatch.diffs, ...
        setattr(e, key, value)
    return e


def connect(paths: dict) -> socket.socket | None:
    """A connection to this user's running worker, or None."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(str(paths["socket"]))
        if protocol.peer_uid(sock) not in (None, os.getuid()):
            raise OSError("the socket belongs to another user")
        return sock
    except OSError:
        sock.close()
        return None


def start(paths: dict) -> socket.socket | None:
    """Start a worker (detached, logging to its log file) and connect once it listens; None if it does not."""
    read_end, write_end = os.pipe()
    try:
        log = _open_log(paths["log"])
        try:
            child = subprocess.Popen([sys.executable, "-m", "vecdb.daemon.server", str(write_end)],
                                     stdin=subprocess.DEVNULL, stdout=log, stderr=log, pass_fds=(write_end,),
                                     start_new_session=True, cwd="/")
        finally:
            os.close(log)
            os.close(write_end)
        child.wait()  # it forks and exits at once; the worker lives on in the grandchild
        select.select([read_end], [], [], START_TIMEOUT_S)  # a byte once it listens, end of file if it exits
    except OSError:
        pass
    finally:
        os.close(read_end)
    return connect(paths)  # also when another CLI's worker won the race


def _open_log(path) -> int:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    if os.fstat(fd).st_size > LOG_MAX_BYTES:
        os.ftruncate(fd, 0)
    return fd


def status() -> dict:
    """The running worker's status, or {"running": False, ...}."""
    try:
        paths = protocol.paths()
    except OSError as e:
        return {"running": False, "problem": str(e)}
    conn = connect(paths)
    if conn is None:
        return {"running": False, "socket": str(paths["socket"]), "log": str(paths["log"])}
    with conn:
        protocol.send(conn, {"op": "status"})
        return protocol.recv(conn) or {"running": False, "socket": str(paths["socket"])}


def stop(timeout: float = 10.0) -> dict:
    """Ask the worker to exit and wait up to `timeout` s; it finishes a running operation first."""
    try:
        paths = protocol.paths()
    except OSError as e:
        return {"running": False, "problem": str(e)}
    conn = connect(paths)
    if conn is None:
        return {"running": False, "stopped": False}
    with conn:
        protocol.send(conn, {"op": "stop"})
        reply = protocol.recv(conn) or {}
    pid = int(reply.get("pid", 0))
    gone = _wait_until_gone(pid, timeout)
    return {"running": not gone, "stopped": gone, "pid": pid, "running_op": reply.get("running_op")}


def _wait_until_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def alive(pid: int) -> bool:
    """Whether process `pid` runs (a zombie, exited but not yet reaped, does not)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def kill(pid: int) -> None:
    """SIGTERM a worker that did not stop when asked (tests' clean-up); only if `pid` is a vecdb worker."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            if b"vecdb.daemon.server" not in f.read():
                return
        os.kill(pid, signal.SIGTERM)
    except OSError:  # gone already
        pass
