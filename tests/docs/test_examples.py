"""Every sh/python example in README.md and docs/ runs (tests/docs/runner.py); a typo in one fails."""
import re
from pathlib import Path

import pytest

from .runner import blocks, run_page

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def _label(p: Path) -> str:
    return str(p.relative_to(ROOT))


@pytest.mark.slow
@pytest.mark.parametrize("page", PAGES, ids=_label)
def test_page_examples_run(page, tmp_path, record_property):
    ran, skipped, failures = run_page(page, tmp_path / "work", _label(page))
    # read by tests/conftest.py's terminal summary (a property reaches it from pytest-xdist workers too)
    record_property("docs_examples", {"ran": [b.name for b in ran], "skipped": [[b.name, b.skip] for b in skipped]})
    assert not failures, "\n".join(failures)


def test_every_example_block_is_run_or_skipped_with_a_reason():
    for page in PAGES:
        for b in blocks(page, _label(page)):
            assert b.skip is None or len(b.skip) >= 8, f"{b.name}: say why it is skipped"


@pytest.mark.slow
def test_a_typo_in_a_block_fails(tmp_path):
    """On a copy of README.md: a misspelt command in an sh block, or a misspelt name in a python block.
    The blocks before the broken one become no-ops of the same length (lines keep their numbers), so the
    copy fails at once instead of first running the page's real work."""
    text = (ROOT / "README.md").read_text()
    for lang, typo in (("sh", lambda code: code.replace("vecdb ", "vecdbb ", 1)),
                       ("python", lambda code: code.replace("vecdb.", "vecdb_typo.", 1))):
        page = blocks(ROOT / "README.md")
        target = next(b for b in page if b.lang == lang and not b.skip)
        broken = text
        for b in page:
            if b.line < target.line and not b.skip:
                noop = "true" if b.lang == "sh" else "pass"
                lines = b.code.splitlines(keepends=True)
                broken = broken.replace(b.code, "".join(noop + "\n" * line.endswith("\n") for line in lines), 1)
        broken = broken.replace(target.code, typo(target.code), 1)
        assert broken != text
        copy = tmp_path / lang / "README.md"
        copy.parent.mkdir()
        copy.write_text(broken)
        _, _, failures = run_page(copy, tmp_path / lang / "work")
        assert failures and re.match(rf"README.md:{target.line}: ", failures[0]), failures
