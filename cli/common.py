"""Shared CLI options, input readers and output formatting."""
from __future__ import annotations

import csv
import io
import json
import os
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Iterable, Optional

import typer

from vecdb.errors import InvalidArgument, LimitExceeded


class Format(str, Enum):
    table = "table"
    json = "json"
    jsonl = "jsonl"
    csv = "csv"


DbOpt = Annotated[Optional[str], typer.Option("--db", envvar="VECDB_PATH", show_default=False,
                                              help="Database directory or milvus://host:port, milvus-lite://PATH "
                                                   "[env: VECDB_PATH; default ~/.local/share/vecdb]")]
CollectionOpt = Annotated[str, typer.Option("--collection", "-c", envvar="VECDB_COLLECTION", help="Collection name")]
FormatOpt = Annotated[Format, typer.Option("--format", "-f", envvar="VECDB_FORMAT", case_sensitive=False,
                                           help="Output format")]
ModelOpt = Annotated[Optional[str], typer.Option("--model", "-m", envvar="VECDB_MODEL",
                                                 help="Preset, model folder or hub id (see `vecdb models`)")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar and no summary line")]
PoolingOpt = Annotated[Optional[str], typer.Option("--pooling", help="Pooling mode, by its registered name (default: the model's); see vecdb.embed.registry")]


def open_db(db: str | Path | None, create: bool = True):
    """--db, else the global --uri (with --backend), else the default directory. Read commands pass
    create=False: a path with no database is then an error, not a new empty database."""
    import vecdb
    from vecdb.paths import default_db_path

    backend = os.environ.get("VECDB_BACKEND") or None
    uri = db or os.environ.get("VECDB_URI") or None
    if backend == "milvus" and not uri:
        raise InvalidArgument("--uri: --backend milvus needs --uri (milvus://host:19530 or a Milvus Lite .db path)",
                              argument="--uri")
    return vecdb.open(str(uri) if uri else default_db_path(), backend=backend if uri else None, create=create)


def read_text_file(path: Path, argument: str = "--file") -> str:
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise InvalidArgument(f"{argument}: cannot read {str(path)!r}: {e.strerror}", argument=argument) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise InvalidArgument(f"{argument}: {str(path)!r} is not UTF-8 text (byte {e.start})", argument=argument) from None


def read_stdin_text(argument: str) -> str:
    data = sys.stdin.buffer.read()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise InvalidArgument(f"{argument}: standard input is not UTF-8 text (byte {e.start})", argument=argument) from None


def parse_json_object(value: str | None, argument: str) -> dict | None:
    if value is None:
        return None
    try:
        obj = json.loads(value)
    except ValueError as e:
        raise InvalidArgument(f"{argument}: not valid JSON ({e.msg} at position {e.pos})", argument=argument) from None
    except RecursionError:  # the decoder's own depth limit, far past vecdb's (vecdb/limits.py)
        from vecdb import limits

        name = "MAX_FILTER_DEPTH" if argument == "--where" else "MAX_METADATA_DEPTH"
        raise LimitExceeded(f"{argument}: nested too deeply, over the limit of {getattr(limits, name)} ({name})",
                            argument=argument, limit=name) from None
    if not isinstance(obj, dict):
        raise InvalidArgument(f"{argument}: must be a JSON object, got {type(obj).__name__}", argument=argument)
    return obj


def emit(rows: list[dict], fmt: Format, columns: list[str], *, as_object: Any = None, title: str | None = None) -> None:
    """Print rows in the chosen format. `as_object` replaces the array for --format json."""
    out = sys.stdout
    if fmt == Format.json:
        out.write(json.dumps(rows if as_object is None else as_object, ensure_ascii=False, indent=2) + "\n")
    elif fmt == Format.jsonl:
        for r in rows:
            out.write(json.dumps(r, ensure_ascii=False) + "\n")
    elif fmt == Format.csv:
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(columns)
        for r in rows:
            w.writerow([_cell(r.get(c), csv_mode=True) for c in columns])
        out.write(buf.getvalue())
    else:
        from rich.console import Console
        from rich.table import Table

        table = Table(title=title, show_lines=False)
        for c in columns:
            table.add_column(c, overflow="fold")
        for r in rows:
            table.add_row(*[_cell(r.get(c)) for c in columns])
        Console(soft_wrap=False, width=None if sys.stdout.isatty() else 160).print(table)


def _cell(v: Any, csv_mode: bool = False) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.4f}" if not csv_mode else repr(v)
    if isinstance(v, (dict, list)):
        return json.dumps(v, ensure_ascii=False)
    s = str(v)
    if not csv_mode and len(s) > 200:
        s = s[:197] + "..."
    return s


def progress_bar(total: int, description: str, *, quiet: bool = False, fmt: Format | None = None):
    """A progress bar on stderr (advanced per forward pass, with docs/s and an ETA) when stderr is a terminal;
    a no-op callback when quiet, for JSON output, for small jobs, or with VECDB_NO_PROGRESS set."""
    if (quiet or fmt in (Format.json, Format.jsonl) or total < 64 or not sys.stderr.isatty()
            or os.environ.get("VECDB_NO_PROGRESS")):
        return _NoBar()
    return _Bar(total, description)


class _NoBar:
    def __enter__(self):
        return lambda n: None

    def __exit__(self, *exc):
        return False


class _Bar:
    def __init__(self, total: int, description: str):
        from rich.console import Console
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress, ProgressColumn, TextColumn,
                                   TimeElapsedColumn, TimeRemainingColumn)
        from rich.text import Text

        class Rate(ProgressColumn):
            def render(self, task) -> Text:
                return Text(f"{task.speed:,.1f} docs/s" if task.speed else "- docs/s", style="progress.data.speed")

        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), Rate(),
                                 TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                                 console=Console(stderr=True), transient=False, speed_estimate_period=60)
        self.total, self.description = total, description

    def __enter__(self):
        self.progress.__enter__()
        task = self.progress.add_task(self.description, total=self.total)

        def advance(n: int) -> None:
            if n:
                self.progress.advance(task, n)
                self.progress.refresh()  # every forward pass shows, not only the 10 Hz redraws

        return advance

    def __exit__(self, *exc):
        return self.progress.__exit__(*exc)


def info(message: str) -> None:
    typer.echo(message, err=True)
