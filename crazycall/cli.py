"""The Typer application: parse flags, hand over to the command modules, map errors to exit codes.

Thin on purpose. Each command group lives in ``crazycall/commands/`` and imports its heavy dependencies
inside the command body, so ``crazycall --help`` and ``--version`` stay fast. This module owns the one place
where a ``CrazycallError`` becomes a printed line and an exit status.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import typer

from crazycall import __version__
from crazycall.errors import EXIT_INTERRUPTED, EXIT_UNEXPECTED, CrazycallError

F = TypeVar("F", bound=Callable[..., Any])

app = typer.Typer(
    name="crazycall",
    help="Run LLM tool calls from the command line: chat, responses, messages and gemini protocols.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"crazycall {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", "-V", help="Print the version and exit.", callback=_version, is_eager=True
    ),
) -> None:
    """crazycall: one CLI, four LLM wire protocols, your own tools."""


def print_error(err: BaseException, verbose: bool = False) -> None:
    """Print one redacted line (and the traceback with --verbose) to stderr."""
    from crazycall.redact import redact

    if verbose:
        import traceback

        sys.stderr.write(redact("".join(traceback.format_exception(err))))
    message = str(err) if isinstance(err, CrazycallError) else f"unexpected {type(err).__name__}: {err}"
    sys.stderr.write(f"crazycall: error: {redact(message)}\n")
    sys.stderr.flush()


def handled(func: F) -> F:
    """Decorate a command body: CrazycallError -> one line + its exit code; Ctrl-C -> 130."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        verbose = bool(kwargs.get("verbose")) or os.environ.get("CRAZYCALL_VERBOSE") == "1"
        try:
            return func(*args, **kwargs)
        except CrazycallError as err:
            print_error(err, verbose)
            raise SystemExit(err.exit_code) from None
        except KeyboardInterrupt:
            sys.stderr.write("crazycall: interrupted\n")
            raise SystemExit(EXIT_INTERRUPTED) from None
        except (typer.Exit, typer.Abort):
            raise
        except Exception as err:
            if hasattr(err, "show"):  # a click/typer usage error raised in the body: click prints it, exit 2
                raise
            print_error(err, verbose)  # a bug: one line (the traceback with --verbose), exit 1
            raise SystemExit(EXIT_UNEXPECTED) from None

    return wrapper  # type: ignore[return-value]


def _register() -> None:
    from crazycall.commands import ask, config, logs, offline, smoke, tools

    for module in (ask, config, tools, smoke, logs, offline):
        module.register(app)


_register()


def main() -> None:
    """Console-script entry point."""
    try:
        app(prog_name="crazycall")
    except CrazycallError as err:  # raised outside a @handled body (e.g. in a callback)
        print_error(err)
        raise SystemExit(err.exit_code) from None
