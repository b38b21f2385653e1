"""The warm worker: `python -m vecdb.daemon.server`, started by the CLI (vecdb.daemon.client).

It keeps databases, indexes and models loaded between CLI calls, answers on an owner-only Unix socket,
runs one operation at a time (vecdb.daemon.ops, the same code the CLI runs in-process) and exits after
an idle timeout, on `vecdb daemon stop`, on SIGTERM, or when a client with other code or another
environment needs a fresh worker. Reads never go stale: every search goes through the collection,
which catches up with SQLite's change counter first, and a database folder that was replaced on disk
is reopened."""
from __future__ import annotations

import fcntl
import json
import os
import signal
import socket
import sys
import threading
import time
import traceback
from collections import OrderedDict

from . import protocol

LOCK_WAIT_S = 60.0      # a new worker waits this long for the old one to finish and let go
BUSY_WAIT_S = 2.0       # a request waits this long for the one before it; then the CLI runs in-process
MAX_DATABASES = 8


class Databases:
    """Open databases by path; one whose SQLite file was replaced or removed is dropped unsaved."""

    def __init__(self):
        self.open: OrderedDict[str, tuple] = OrderedDict()

    def get(self, path: str, create: bool = True):
        import vecdb
        from vecdb.store.store import DB_FILE

        file = os.path.join(path, DB_FILE)
        entry = self.open.pop(path, None)
        if entry is not None:
            db, fd, _ = entry
            if _same_file(file, fd):
                self.open[path] = entry
                return db
            db.close(save=False)  # our index caches describe the old file, not this one
            os.close(fd)
        db = vecdb.open(path, create=create)
        fd = os.open(file, os.O_RDONLY)  # held open, so the inode cannot be reused while we compare
        self.open[path] = (db, fd, file)
        while len(self.open) > MAX_DATABASES:
            self._close(*self.open.popitem(last=False))
        return db

    def paths(self) -> list[str]:
        try:
            return list(self.open)
        except RuntimeError:  # changed by the running operation meanwhile
            return []

    def close_all(self) -> None:
        while self.open:
            self._close(*self.open.popitem(last=False))

    def _close(self, path: str, entry: tuple) -> None:
        db, fd, file = entry
        try:
            db.close(save=_same_file(file, fd))
        finally:
            os.close(fd)


def _same_file(path: str, fd: int) -> bool:
    try:
        a, b = os.stat(path), os.fstat(fd)
    except OSError:
        return False
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


class Worker:
    def __init__(self, paths: dict, listener: socket.socket, idle: float):
        self.paths = paths
        self.listener = listener
        self.idle = idle
        self.fingerprint = protocol.fingerprint()
        self.started = time.time()
        self.last_request = time.monotonic()
        self.requests = 0
        self.current: str | None = None
        self.busy = threading.Lock()
        self.stopping = threading.Event()
        self.databases = Databases()
        self.socket_id = _ident(paths["socket"])

    # ---- main loop -----------------------------------------------------------------
    def serve(self) -> None:
        self.listener.settimeout(0.5)
        while not self.stopping.is_set():
            try:
                conn, _ = self.listener.accept()
            except socket.timeout:
                if not self.busy.locked() and time.monotonic() - self.last_request > self.idle:
                    log(f"idle for {self.idle:g}s; exiting")
                    break
                continue
            except OSError:
                break
            threading.Thread(target=self.handle, args=(conn,), daemon=True).start()
        self.shutdown()

    def stop(self) -> None:
        """Stop taking connections now (the socket's name goes at once, so a new worker can take it);
        the main loop then waits for the running operation and exits."""
        self.stopping.set()
        if _ident(self.paths["socket"]) == self.socket_id:  # still ours, not a newer worker's
            self.paths["socket"].unlink(missing_ok=True)

    def shutdown(self) -> None:
        self.stop()
        self.listener.close()
        with self.busy:  # let the running operation finish
            self.databases.close_all()
        log(f"stopped after {self.requests} requests")

    # ---- one connection ----------------------------------------------------------------
    def handle(self, conn: socket.socket) -> None:
        with conn:
            try:
                if protocol.peer_uid(conn) not in (None, os.getuid()):
                    return
                req = protocol.recv(conn)
                if isinstance(req, dict):
                    self.answer(conn, req)
            except (OSError, protocol.ProtocolError) as e:  # the client went away
                log(f"connection: {type(e).__name__}: {e}")

    def answer(self, conn: socket.socket, req: dict) -> None:
        op = req.get("op")
        if op == "status":
            return protocol.send(conn, self.status())
        if op == "stop":
            self.stop()
            return protocol.send(conn, {"stopping": True, "pid": os.getpid(), "running_op": self.current})
        if req.get("fingerprint") != self.fingerprint:
            log("a client runs other code or another environment; making way for a fresh worker")
            self.stop()
            return protocol.send(conn, {"stale": True, "pid": os.getpid()})
        if not self.busy.acquire(timeout=BUSY_WAIT_S):
            return protocol.send(conn, {"busy": True})
        if self.stopping.is_set():
            self.busy.release()
            return protocol.send(conn, {"busy": True})
        try:
            self.current = op
            self.run(conn, req)
        finally:
            self.current = None
            self.requests += 1
            self.last_request = time.monotonic()
            self.busy.release()

    def run(self, conn: socket.socket, req: dict) -> None:
        from vecdb.errors import VecdbError

        from .ops import OPS

        started = time.perf_counter()
        op = req.get("op")
        try:
            os.chdir(req.get("cwd") or "/")  # relative model folders and templates, as in-process
        except OSError:
            os.chdir("/")
        try:
            if op not in OPS:
                raise VecdbError(f"daemon: unknown operation {op!r}", argument="daemon")
            database = self.databases.get(req["db"], bool(req.get("create", True)))
            result = OPS[op](database, lambda event: protocol.send(conn, {"event": event}), **req.get("args", {}))
            protocol.send(conn, {"result": result})
        except VecdbError as e:
            protocol.send(conn, {"error": {"type": type(e).__name__, "message": str(e), "argument": e.argument,
                                           "attrs": {k: v for k, v in vars(e).items()
                                                     if k != "argument" and _plain_json(v)}}})
        except (OSError, protocol.ProtocolError) as e:
            if isinstance(e, (BrokenPipeError, ConnectionError)):
                log(f"{op}: the client went away ({type(e).__name__})")
                return
            self.internal(conn, op, e)
        except Exception as e:
            self.internal(conn, op, e)
        finally:
            os.chdir("/")
            log(f"{op}: {time.perf_counter() - started:.3f}s")

    def internal(self, conn: socket.socket, op: str | None, e: Exception) -> None:
        log(f"{op}: {''.join(traceback.format_exception(e)).rstrip()}")
        try:
            protocol.send(conn, {"error": {"type": "internal", "name": type(e).__name__, "message": str(e)}})
        except OSError:
            pass

    def status(self) -> dict:
        return {"running": True, "pid": os.getpid(), "socket": str(self.paths["socket"]),
                "log": str(self.paths["log"]), "uptime_s": round(time.time() - self.started, 1),
                "idle_s": 0.0 if self.busy.locked() else round(time.monotonic() - self.last_request, 1),
                "idle_timeout_s": self.idle, "requests": self.requests, "running_op": self.current,
                "databases": self.databases.paths(), "rss_mb": _rss_mb(),
                "torch_loaded": "torch" in sys.modules, "fingerprint": self.fingerprint}


def _plain_json(value) -> bool:
    try:
        json.dumps(value)
        return True
    except (TypeError, ValueError):
        return False


def _ident(path) -> tuple | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def _rss_mb() -> float | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return None


def log(message: str) -> None:
    stamp = time.strftime("%Y-%m-%d %H:%M:%S")
    print(f"{stamp} [{os.getpid()}] {message}", file=sys.stderr, flush=True)


def take_lock(paths: dict) -> int | None:
    """Hold the worker lock (one worker per socket). Wait while an exiting worker lets go; give up at
    once when another worker already answers on the socket (two CLIs started one each)."""
    fd = os.open(paths["lock"], os.O_RDWR | os.O_CREAT, 0o600)
    deadline = time.monotonic() + LOCK_WAIT_S
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except BlockingIOError:
            if time.monotonic() > deadline or _answers(paths["socket"]):
                os.close(fd)
                return None
            time.sleep(0.1)


def _answers(path) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        try:
            s.connect(str(path))
            return True
        except OSError:
            return False


def listen(path) -> socket.socket:
    path.unlink(missing_ok=True)  # a dead worker's socket; we hold the lock, so no live one uses it
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o177)
    try:
        sock.bind(str(path))
    finally:
        os.umask(old)
    os.chmod(path, 0o600)
    sock.listen(64)
    return sock


def main(ready_fd: int | None = None) -> int:
    """Run a worker in this process; write one byte to `ready_fd` once it accepts connections."""
    paths = protocol.paths()
    lock = take_lock(paths)
    if lock is None:
        log("another worker holds the lock; exiting")
        return 1
    listener = listen(paths["socket"])
    os.ftruncate(lock, 0)
    os.write(lock, f"{os.getpid()}\n".encode())
    import vecdb.database  # noqa: F401 - SQLAlchemy and FAISS load now, not on the first request

    worker = Worker(paths, listener, protocol.idle_seconds())
    signal.signal(signal.SIGTERM, lambda *_: worker.stop())
    signal.signal(signal.SIGINT, lambda *_: worker.stop())
    log(f"listening on {paths['socket']} (idle timeout {worker.idle:g}s)")
    if ready_fd is not None:
        os.write(ready_fd, b"1")
        os.close(ready_fd)
    try:
        worker.serve()
    finally:
        os.ftruncate(lock, 0)  # no pid left behind for a process that no longer exists
        os.close(lock)
    return 0


def detach_and_run(ready_fd: int) -> int:
    """Fork so that the process the CLI started exits at once (no zombie, no terminal), then serve."""
    if os.fork() > 0:
        return 0  # nothing is loaded or buffered yet: this copy just ends
    os.chdir("/")
    try:
        return main(ready_fd)
    except BaseException:
        log(traceback.format_exc().rstrip())
        return 1


if __name__ == "__main__":
    sys.exit(detach_and_run(int(sys.argv[1])) if len(sys.argv) > 1 else main())
