"""A real Milvus server for the tests: the `milvus` wheel's `milvus-server` (standalone Milvus 2.3 with
embedded etcd and local storage), started on free ports under a temp dir, stopped by its pids.

It installs nothing at run time: the dev extra depends on the wheel. About a minute to start on 2 cores.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

START_TIMEOUT = float(os.environ.get("VECDB_MILVUS_START_TIMEOUT", "300"))


def executable() -> str | None:
    here = Path(sys.executable).with_name("milvus-server")
    return str(here) if here.exists() else shutil.which("milvus-server")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MilvusServer:
    def __init__(self, data_dir: Path):
        self.data_dir = data_dir
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self.log = data_dir / "wrapper.log"

    @property
    def uri(self) -> str:
        return f"milvus://127.0.0.1:{self.port}"

    def start(self) -> "MilvusServer":
        exe = executable()
        if exe is None:
            raise RuntimeError("milvus-server is not installed (pip install milvus)")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        # The embedded etcd listens on a fixed peer port (2380) unless told otherwise: give it free ones,
        # through Milvus's environment override of etcd.config.path.
        client, peer = free_port(), free_port()
        etcd = self.data_dir / "embed-etcd.yaml"
        etcd.write_text(f"listen-client-urls: http://127.0.0.1:{client}\nadvertise-client-urls: http://127.0.0.1:{client}\n"
                        f"listen-peer-urls: http://127.0.0.1:{peer}\ninitial-advertise-peer-urls: http://127.0.0.1:{peer}\n"
                        f"initial-cluster: default=http://127.0.0.1:{peer}\n")
        env = dict(os.environ, ETCD_CONFIG_PATH=str(etcd))
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen([exe, "--data", str(self.data_dir), "--proxy-port", str(self.port),
                                          "--etcd-port", str(client)], stdout=log, stderr=subprocess.STDOUT,
                                         start_new_session=True, env=env)
        self._wait()
        return self

    def _wait(self) -> None:
        from pymilvus import MilvusClient

        deadline = time.time() + START_TIMEOUT
        last = None
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"milvus-server exited with {self.proc.returncode}: {self.tail()}")
            try:
                client = MilvusClient(uri=f"http://127.0.0.1:{self.port}", timeout=5)
                client.list_collections()
                client.close()
                return
            except Exception as e:  # not up yet
                last = e
                time.sleep(1)
        self.stop()
        raise RuntimeError(f"milvus-server did not answer within {START_TIMEOUT:.0f} s ({last}): {self.tail()}")

    def tail(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-2000:]
        except OSError:
            return ""

    def child_pids(self) -> list[int]:
        """The `milvus run standalone` process(es) the wrapper started."""
        if self.proc is None:
            return []
        out = subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True, text=True).stdout
        return [int(p) for p in out.split()]

    def stop(self) -> None:
        if self.proc is None:
            return
        pids = self.child_pids() + [self.proc.pid]
        for pid in pids:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.time() + 15
        while time.time() < deadline and any(_alive(p) for p in pids):
            time.sleep(0.2)
        for pid in pids:
            if _alive(pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        self.proc = None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie child of ours counts as gone
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False
