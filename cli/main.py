"""The `vecdb` command."""
from __future__ import annotations

import os
import sys

import click
import typer
import typer.exceptions

_EXIT = (click.exceptions.Exit, typer.Exit)
_ABORT = (click.exceptions.Abort, typer.Abort)
# typer >= 0.20 ships its own copy of click, whose ClickException derives from TyperException
_CLICK = (click.ClickException, typer.exceptions.TyperException)

from . import admin, backends, daemon, docs, ingest, mcp, models, rag, search, serve, similar, transfer
from . import eval as eval_cmd
from . import train as train_cmd

app = typer.Typer(name="vecdb", help="A vector search database with a built-in LLM embedder.",
                  no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False)
app.callback()(backends.choose)
app.command("add")(docs.add)
app.command("search")(search.search)
app.command("similar")(similar.similar)
app.command("get")(docs.get)
app.command("delete")(docs.delete)
app.command("collections")(admin.collections)
app.command("create")(admin.create)
app.command("drop")(admin.drop)
app.command("info")(admin.show_info)
app.command("models")(models.models)
app.command("reembed")(models.reembed)
app.command("eval")(eval_cmd.evaluate)
app.command("reindex")(admin.reindex)
app.command("context")(rag.context)
app.command("ask")(rag.ask)
app.command("serve")(serve.serve)
app.command("mcp")(mcp.mcp)
app.command("export")(transfer.export)
app.command("import")(transfer.import_)
app.command("ingest")(ingest.ingest)
app.command("train")(train_cmd.train)
app.command("synth")(train_cmd.synth)
app.add_typer(daemon.app, name="daemon")


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; every failure ends with one line on stderr and a non-zero exit."""
    from vecdb.errors import VecdbError

    try:
        rv = app(args=argv, prog_name="vecdb", standalone_mode=False)
        return rv if isinstance(rv, int) else 0
    except VecdbError as e:
        _fail(str(e), 1)
    except _EXIT as e:
        return e.exit_code
    except _ABORT:
        _fail("aborted", 130)
    except _CLICK as e:
        if type(e).__name__ == "NoArgsIsHelpError":
            try:
                print(e.ctx.get_help() if getattr(e, "ctx", None) else e.format_message())
            except BrokenPipeError:
                pass
            return 2
        _fail(e.format_message() if hasattr(e, "format_message") else str(e), getattr(e, "exit_code", 2))
    except KeyboardInterrupt:
        _fail("interrupted", 130)
    except BrokenPipeError:
        return 0
    except Exception as e:  # a bug: still one line, with a way to see more
        if os.environ.get("VECDB_DEBUG"):
            raise
        _fail(f"internal error: {type(e).__name__}: {e} (set VECDB_DEBUG=1 for a traceback)", 1)
    return 1


def _fail(message: str, code: int) -> None:
    message = " ".join(str(message).split())
    print(f"error: {message}", file=sys.stderr)
    sys.exit(code)


if __name__ == "__main__":
    sys.exit(main())
