"""The docs site builds with no warning (broken link, missing page), and the CLI reference is current."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_mkdocs_build_strict(tmp_path):
    out = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
                         cwd=ROOT, capture_output=True, text=True, timeout=600,
                         env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert out.returncode == 0, out.stderr[-3000:]
    assert (tmp_path / "site" / "api" / "index.html").exists()


@pytest.mark.slow
def test_cli_reference_is_what_vecdb_help_prints():
    out = subprocess.run([sys.executable, str(ROOT / "docs" / "tools" / "gen_cli.py"), "--check"], cwd=ROOT,
                         capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stdout + out.stderr


def test_benchmark_tables_are_generated_from_the_results():
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "report.py"), "--check"], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
