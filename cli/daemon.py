"""vecdb daemon status / stop: the warm worker that keeps models and indexes loaded between commands."""
from __future__ import annotations

import typer

from .common import Format, FormatOpt, emit, info

app = typer.Typer(help="The warm worker: started by the first command that embeds, exits when idle "
                       "(VECDB_DAEMON_IDLE seconds, default 900). --no-daemon / VECDB_NO_DAEMON=1 turn it off.",
                  no_args_is_help=True)


@app.command("status")
def status(fmt: FormatOpt = Format.table) -> None:
    """Whether the worker runs, its pid, socket, memory, requests served and open databases."""
    from vecdb.daemon import client

    data = client.status()
    if fmt in (Format.json, Format.jsonl):
        emit([data], fmt, [], as_object=data)
    elif not data.get("running"):
        info(f"not running ({data.get('problem') or 'socket ' + str(data.get('socket'))})")
    else:
        emit([{"field": k, "value": v} for k, v in data.items()], fmt, ["field", "value"])


@app.command("stop")
def stop(fmt: FormatOpt = Format.table) -> None:
    """Ask the worker to exit (after the operation it is running, if any)."""
    from vecdb.daemon import client

    data = client.stop()
    if fmt in (Format.json, Format.jsonl):
        emit([data], fmt, [], as_object=data)
    elif data.get("stopped"):
        info(f"stopped the warm worker (pid {data['pid']})")
    elif data.get("pid"):
        info(f"the warm worker (pid {data['pid']}) exits once it finishes {data.get('running_op') or 'its work'!r}")
    else:
        info("no warm worker running")
