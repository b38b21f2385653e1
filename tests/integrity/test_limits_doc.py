"""README's table of limits lists exactly the limits in vecdb/limits.py, with the same values."""
from __future__ import annotations

import re
from pathlib import Path

from vecdb import limits

README = Path(__file__).resolve().parents[2] / "README.md"
ROW = re.compile(r"^\| `(MAX_[A-Z_]+)` \| ([\d,]+) \|", re.M)


def test_readme_lists_every_limit_with_its_value():
    section = README.read_text().split("\n## Limits\n", 1)[1].split("\n## ", 1)[0]
    documented = {name: int(value.replace(",", "")) for name, value in ROW.findall(section)}
    assert documented == limits.ALL


def test_limits_are_positive_integers():
    assert limits.ALL and all(isinstance(v, int) and v > 0 for v in limits.ALL.values())
