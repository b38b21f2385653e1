"""Run the code blocks of a Markdown page, in order, the way a reader would.

- ```sh blocks run in bash (`set -e`), ```python blocks in one Python session per page (later blocks
  see earlier blocks' names); both in a fresh workspace holding the example files of tests/docs/kit,
  with HOME and VECDB_PATH inside it and the project's `vecdb` first on PATH.
- The `vecdb` command runs as a reader's would, with its warm worker: one per page, in a folder of its
  own, stopped when the page ends.
- A block preceded by `<!-- skip: REASON -->` is not run (a network, a GPU, a hub model, a server
  that runs forever); the reason is reported. Other fences (text, json, console, ...) are prose.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

KIT = Path(__file__).with_name("kit")
FENCE = re.compile(r"^```(\w+)[^\n]*\n(.*?)^```\s*$", re.S | re.M)
SKIP = re.compile(r"<!--\s*skip:\s*(.+?)\s*-->\s*$")
RUN = {"sh": "sh", "bash": "sh", "shell": "sh", "python": "python", "py": "python"}
TIMEOUT = 600

DRIVER = r"""
import contextlib, json, sys, traceback
ns = {"__name__": "__main__"}
out = sys.stdout
for line in sys.stdin:
    block = json.loads(line)
    try:
        with contextlib.redirect_stdout(sys.stderr):  # the block's prints must not mix with our answers
            exec(compile(block["code"], block["name"], "exec"), ns)
        out.write(json.dumps({"ok": True}) + "\n")
    except BaseException:
        out.write(json.dumps({"ok": False, "error": traceback.format_exc(limit=4)}) + "\n")
    out.flush()
"""


@dataclass
class Block:
    page: str
    line: int
    lang: str          # "sh" or "python"
    code: str
    skip: str | None   # the reason it is not run

    @property
    def name(self) -> str:
        return f"{self.page}:{self.line}"


def blocks(path: Path, label: str | None = None) -> list[Block]:
    text = path.read_text(encoding="utf-8")
    out = []
    for m in FENCE.finditer(text):
        lang = RUN.get(m.group(1).lower())
        if lang is None:
            continue
        before = text[:m.start()].rstrip("\n").rsplit("\n", 1)[-1]
        skip = SKIP.search(before)
        out.append(Block(label or path.name, text.count("\n", 0, m.start()) + 1, lang, m.group(2),
                         skip.group(1) if skip else None))
    return out


def workspace(root: Path) -> dict:
    """Copy the example kit into `root`; the environment the blocks run in (the page's own warm worker)."""
    shutil.copytree(KIT, root, dirs_exist_ok=True)
    bindir = str(Path(sys.executable).parent)
    env = dict(os.environ, HOME=str(root), VECDB_PATH=str(root / "db"), PATH=bindir + os.pathsep + os.environ["PATH"],
               VECDB_NO_PROGRESS="1", HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false",
               VECDB_DAEMON_DIR=tempfile.mkdtemp(prefix="vecdb-p", dir="/tmp"), VECDB_DAEMON_IDLE="300",
               VECDB_CACHE_DIR=os.environ.get("VECDB_CACHE_DIR", str(Path.home() / ".cache" / "vecdb")))
    for k in ("VECDB_COLLECTION", "VECDB_FORMAT", "VECDB_MODEL", "VECDB_URI", "VECDB_BACKEND", "VECDB_NO_DAEMON"):
        env.pop(k, None)
    return env


def stop_worker(env: dict) -> None:
    """Stop the page's warm worker (`vecdb daemon stop`), kill it if it does not stop, remove its folder."""
    folder = Path(env["VECDB_DAEMON_DIR"])
    subprocess.run(["vecdb", "daemon", "stop"], env=env, capture_output=True, timeout=60)
    from vecdb.daemon import client

    for lock in folder.glob("*.lock"):
        pid = lock.read_text().strip()
        if pid.isdigit():
            client.kill(int(pid))  # only if it is still a vecdb worker
    shutil.rmtree(folder, ignore_errors=True)


def run_page(path: Path, root: Path, label: str | None = None) -> tuple[list[Block], list[Block], list[str]]:
    """(blocks run, blocks skipped, failures as 'page:line: message')."""
    env = workspace(root)
    ran, skipped, failures = [], [], []
    python = None
    try:
        for b in blocks(path, label):
            if b.skip:
                skipped.append(b)
                continue
            ran.append(b)
            if b.lang == "sh":
                p = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", b.code], cwd=root, env=env,
                                   capture_output=True, text=True, timeout=TIMEOUT)
                if p.returncode != 0:
                    failures.append(f"{b.name}: exit {p.returncode}: {(p.stderr or p.stdout).strip()[-1500:]}")
                    break
                continue
            if python is None:
                python = subprocess.Popen([sys.executable, "-c", DRIVER], cwd=root, env=env, text=True,
                                          stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
            python.stdin.write(json.dumps({"code": b.code, "name": b.name}) + "\n")
            python.stdin.flush()
            answer = python.stdout.readline()
            result = json.loads(answer) if answer else {"ok": False, "error": "the Python session died"}
            if not result["ok"]:
                failures.append(f"{b.name}: {result['error'].strip()[-1500:]}")
                break
    finally:
        if python is not None:
            python.stdin.close()
            try:
                python.wait(timeout=60)
            except subprocess.TimeoutExpired:
                python.kill()
        stop_leftovers(root)
        stop_worker(env)
    return ran, skipped, failures


def stop_leftovers(root: Path) -> None:
    """Kill what a page started in the background and left running (a server whose block failed)."""
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            cwd = Path(os.readlink(proc / "cwd"))
        except OSError:
            continue
        if cwd == root or root in cwd.parents:
            try:
                os.kill(int(proc.name), signal.SIGTERM)
            except ProcessLookupError:
                pass
