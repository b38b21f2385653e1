import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`vecdb serve` in a subprocess on a free loopback port."""

    def __init__(self, db: Path, api_key: str | None = None, *args: str):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.api_key = api_key
        env = dict(os.environ, PYTHONPATH=str(ROOT), TOKENIZERS_PARALLELISM="false", HF_HUB_OFFLINE="1")
        env.pop("VECDB_API_KEY", None)
        if api_key:
            env["VECDB_API_KEY"] = api_key
        self.log = open(db.parent / f"server-{self.port}.log", "w")
        self.proc = subprocess.Popen([sys.executable, "-m", "vecdb.cli.main", "serve", "--db", str(db), "--port",
                                      str(self.port), "--model", "minilm", "--log-level", "warning", *args],
                                     cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT)

    def wait(self) -> "Server":
        deadline = time.time() + 90
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {Path(self.log.name).read_text()[-2000:]}")
            try:
                if httpx.get(self.url + "/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.time() > deadline:
                self.stop()
                raise RuntimeError("server did not start")
            time.sleep(0.2)
        return self

    def client(self, **kw) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=120, **kw)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


KEY = "test-key-123"


@pytest.fixture(scope="session")
def servers(tmp_path_factory):
    """Two `vecdb serve` processes (minilm, API key KEY) on one database, shared by the live-server tests."""
    import vecdb

    db = tmp_path_factory.mktemp("http") / "db"
    vecdb.open(db).close()  # create the directory before two processes race for it
    a, b = Server(db, KEY), Server(db, KEY)  # started together, waited for together
    try:
        yield db, a.wait(), b.wait()
    finally:
        a.stop()
        b.stop()
