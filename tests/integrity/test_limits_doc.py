"""docs/limits.md lists exactly the limits in vecdb/limits.py, with the same values."""
from __future__ import annotations

import re
from pathlib import Path

from vecdb import limits

PAGE = Path(__file__).resolve().parents[2] / "docs" / "limits.md"
ROW = re.compile(r"^\| `(MAX_[A-Z_]+)` \| ([\d,]+) \|", re.M)


def test_the_limits_page_lists_every_limit_with_its_value():
    documented = {name: int(value.replace(",", "")) for name, value in ROW.findall(PAGE.read_text())}
    assert documented == limits.ALL


def test_limits_are_positive_integers():
    assert limits.ALL and all(isinstance(v, int) and v > 0 for v in limits.ALL.values())
