"""`pip install .` adds exactly one top-level import name, `vecdb` (cli/ and server/ install under it)."""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_install_adds_only_the_vecdb_top_level_name(tmp_path):
    src = tmp_path / "src"
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    for f in files:
        if (ROOT / f).is_file():
            (src / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / f, src / f)
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                    "--disable-pip-version-check", "--target", str(target), str(src)], check=True)
    top = sorted(p.name for p in target.iterdir()
                 if not p.name.endswith((".dist-info", ".egg-info")) and p.name != "bin")
    assert top == ["vecdb"]
    for sub in ("cli/main.py", "server/app.py", "server/routers/search.py"):
        assert (target / "vecdb" / sub).is_file(), sub
    bin_script = (target / "bin" / "vecdb").read_text()
    assert "vecdb.cli.main" in bin_script
