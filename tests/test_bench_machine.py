"""Benchmarks describe the machine they ran on from what they read at run time, never from a label."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LABELS = re.compile(r"no GPU|\d+[- ]core (CPU|box|machine)|\bXeon\b|\bEPYC\b|\bGPU: none", re.I)


def test_no_hard_coded_machine_labels_in_bench():
    found = [f"{p.name}:{n}: {line.strip()}" for p in sorted((ROOT / "bench").glob("*.py")) if p.name != "machine.py"
             for n, line in enumerate(p.read_text().splitlines(), 1) if LABELS.search(line)]
    assert not found, "machine labels written into bench code:\n" + "\n".join(found)


def test_machine_description_is_read_at_run_time():
    import sys

    sys.path.insert(0, str(ROOT))
    from bench.machine import describe, label

    m = describe()
    assert m["cpu"]["cores"] >= 1 and m["cpu"]["model"] and m["date"][:2] == "20"
    assert isinstance(m["gpus"], list) and m["versions"]["python"]
    assert m["cpu"]["model"] in label(m) and ("no GPU" in label(m)) == (not m["gpus"])
