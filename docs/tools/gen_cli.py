"""Write docs/cli.md from the `vecdb` app itself: every command's --help, as `vecdb CMD --help` prints it.

    python docs/tools/gen_cli.py            # rewrite docs/cli.md
    python docs/tools/gen_cli.py --check    # exit 1 if docs/cli.md differs (tests/docs/test_cli_reference.py)
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "cli.md"
ENV = {"COLUMNS": "100", "TERMINAL_WIDTH": "100", "NO_COLOR": "1", "TERM": "dumb", "_TYPER_FORCE_DISABLE_TERMINAL": "1"}
INTRO = """# Command line reference

Generated from the `vecdb` app by `python docs/tools/gen_cli.py` (a test checks that this page is
what `vecdb COMMAND --help` prints). Every command takes `--format table|json|jsonl|csv` where it
prints results, reads `-` as standard input, and ends a failure with one line,
`error: <argument>: <problem>`, and a non-zero exit. Options with `[env var: ...]` read the
environment when not given.
"""


def commands() -> list[str]:
    from typer.main import get_command

    from vecdb.cli.main import app

    group = get_command(app)
    return sorted(n for n, c in group.commands.items() if not getattr(c, "hidden", False))


def help_text(args: list[str]) -> str:
    env = {**os.environ, **ENV}
    out = subprocess.run([sys.executable, "-m", "vecdb.cli.main", *args, "--help"], capture_output=True, text=True,
                         env=env, timeout=120)
    if out.returncode != 0:
        raise SystemExit(f"vecdb {' '.join(args)} --help failed: {out.stderr}")
    return "\n".join(line.rstrip() for line in out.stdout.strip().splitlines())


def render() -> str:
    parts = [INTRO, "## vecdb", "", "```text", help_text([]), "```", ""]
    for name in commands():
        parts += [f"## vecdb {name}", "", "```text", help_text([name]), "```", ""]
    return "\n".join(parts)


def main() -> int:
    text = render()
    if "--check" in sys.argv:
        if not PAGE.exists() or PAGE.read_text() != text:
            print("docs/cli.md is out of date: run python docs/tools/gen_cli.py")
            return 1
        return 0
    PAGE.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
