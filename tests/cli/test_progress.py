"""`vecdb add`'s progress bar as a user sees it: the command runs on a pseudo-terminal (pty) and we read
what it draws there."""
import json
import os
import pty
import re
import select
import subprocess

import pytest

from tests.conftest import vecdb_cmd

WORDS = ("protein cell gene river mountain ocean network query document vector index model data study "
         "result effect brain drug blood energy light water carbon plant animal city music history").split()


def write_docs(path, n: int, words: int) -> None:
    with open(path, "w") as f:
        for i in range(n):
            text = f"Document {i}: " + " ".join(WORDS[(i * 7 + j * 3) % len(WORDS)] for j in range(words))
            f.write(json.dumps({"id": f"d{i}", "text": text}) + "\n")


def on_terminal(args: list[str], env: dict, timeout: float = 600) -> tuple[int, str, str]:
    """Run `vecdb args` with stderr on a pty (stdout a pipe); (exit code, the terminal's text, stdout)."""
    master, slave = pty.openpty()
    p = subprocess.Popen(vecdb_cmd() + args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=slave,
                         env={**env, "COLUMNS": "160", "LINES": "40", "TERM": "xterm"})
    os.close(slave)
    shown = bytearray()
    try:
        while True:
            ready, _, _ = select.select([master], [], [], timeout)
            if not ready:
                p.kill()
                pytest.fail(f"vecdb {' '.join(args)} showed nothing for {timeout}s")
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the command closed the terminal
                break
            if not data:
                break
            shown += data
    finally:
        os.close(master)
    out = p.stdout.read().decode()
    p.stdout.close()
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", shown.decode("utf-8", "replace"))  # colours, cursor moves
    return p.wait(timeout=60), plain, out


def counts(shown: str, total: int) -> list[int]:
    """The distinct done-counts the bar showed, in order."""
    seen: list[int] = []
    for m in re.finditer(rf"(\d+)/{total}\b", shown):
        n = int(m.group(1))
        if not seen or n != seen[-1]:
            seen.append(n)
    return seen


@pytest.fixture
def env(tmp_path):
    return {**os.environ, "VECDB_PATH": str(tmp_path / "db")}


@pytest.mark.parametrize("worker", [False, True], ids=["in-process", "warm-worker"])
def test_bar_advances_per_batch_with_rate_and_eta(env, tmp_path, request, worker):
    if worker:
        request.getfixturevalue("daemon_dir")
        env = {**env, "VECDB_DAEMON_DIR": os.environ["VECDB_DAEMON_DIR"]}
        env.pop("VECDB_NO_DAEMON")
    write_docs(tmp_path / "docs.jsonl", 500, 20)
    code, shown, out = on_terminal(["add", "--model", "hash", "--jsonl", str(tmp_path / "docs.jsonl"),
                                    "--batch-size", "50"], env)
    assert code == 0, shown
    seen = [n for n in counts(shown, 500) if n > 0]
    assert seen == sorted(seen) and seen[-1] == 500 and len(seen) >= 5, seen
    assert re.search(r"[\d,.]+ docs/s", shown) and re.search(r"ETA \d+:\d\d:\d\d", shown)
    assert "added 500, updated 0, unchanged 0" in shown and out == ""


def test_quiet_and_json_draw_no_bar(env, tmp_path):
    write_docs(tmp_path / "docs.jsonl", 200, 10)
    code, shown, out = on_terminal(["add", "--model", "hash", "--jsonl", str(tmp_path / "docs.jsonl"), "-q"], env)
    assert code == 0 and shown == "" and out == ""
    write_docs(tmp_path / "more.jsonl", 300, 12)
    code, shown, out = on_terminal(["add", "--jsonl", str(tmp_path / "more.jsonl"), "-f", "json"], env)
    assert code == 0 and shown == "" and json.loads(out)["count"] == 300  # d0..d199 replaced, d200..d299 new


@pytest.mark.slow
def test_real_model_bar_advances_per_forward_pass(env, tmp_path, daemon_dir):
    """500 documents of ~90 tokens with MiniLM: about 8 forward passes, each one a step of the bar."""
    env = {**env, "VECDB_DAEMON_DIR": str(daemon_dir)}
    env.pop("VECDB_NO_DAEMON")
    write_docs(tmp_path / "docs.jsonl", 500, 80)
    code, shown, _ = on_terminal(["add", "--model", "minilm", "--jsonl", str(tmp_path / "docs.jsonl")], env)
    assert code == 0, shown
    seen = [n for n in counts(shown, 500) if n > 0]
    assert len(seen) >= 5 and seen[-1] == 500 and seen == sorted(seen), seen
    assert any(n % 256 for n in seen[:-1]), seen  # steps inside the 256-document storage batches
    assert re.search(r"[\d,.]+ docs/s", shown)
