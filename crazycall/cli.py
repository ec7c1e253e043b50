"""The Typer application: parse flags, hand over to the command modules, map errors to exit codes.

Thin on purpose. Each command group lives in ``crazycall/commands/`` and imports its heavy dependencies
inside the command body, so ``crazycall --help`` and ``--version`` stay fast. This module words what happens
outside a command body (usage errors, a closed pipe); inside one, ``commands/_handling.py`` turns a
``CrazycallError`` into a printed line and an exit status.

The app is built on first use (``get_app``, or ``from crazycall.cli import app``), not at import: importing
typer and building every command takes longer than the whole ``--version`` start-up target, and a bare
``crazycall --version`` (or ``-V``) is answered by ``main`` before typer is imported at all, with the line
the ``--version`` option itself prints.
"""

from __future__ import annotations

import functools
import os
import sys
from typing import TYPE_CHECKING, Any

from crazycall import __version__
from crazycall.errors import EXIT_INTERRUPTED, EXIT_UNEXPECTED, EXIT_USAGE, CrazycallError, OutputClosed, UsageError

if TYPE_CHECKING:
    import typer

VERSION_FLAGS = ("--version", "-V")


def version_line() -> str:
    return f"crazycall {__version__}"


def __getattr__(name: str) -> Any:
    """``crazycall.cli.app``: the Typer app, built when first asked for."""
    if name == "app":
        return get_app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@functools.cache
def get_app() -> typer.Typer:
    """The root Typer app with every command group registered (built once per process)."""
    import typer

    app = typer.Typer(
        name="crazycall",
        help="Run LLM tool calls from the command line: chat, responses, messages and gemini protocols.",
        no_args_is_help=True,
        add_completion=True,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
        context_settings={"help_option_names": ["-h", "--help"]},
    )

    def _version(value: bool) -> None:
        if value:
            typer.echo(version_line())
            raise typer.Exit()

    @app.callback()
    def _root(
        version: bool = typer.Option(
            False, *VERSION_FLAGS, help="Print the version and exit.", callback=_version, is_eager=True
        ),
    ) -> None:
        """crazycall: one CLI, four LLM wire protocols, your own tools."""

    from crazycall.commands import ask, chat, config, logs, mcp_serve, offline, smoke, tools
    from crazycall.commands import eval as eval_command

    for module in (ask, config, tools, smoke, logs, offline, eval_command, mcp_serve):
        module.register(app)
    chat.register(app)
    return app


def _click_exceptions() -> Any:
    """Click's exception classes: recent typers carry their own copy of click (typer._click), older ones use click."""
    import importlib

    try:
        return importlib.import_module("typer._click.exceptions")
    except ImportError:  # pragma: no cover - depends on the installed typer
        return importlib.import_module("click.exceptions")


def usage_message(exc: Exception) -> str:
    """Click's usage error as one line: ``no such option --offlin (did you mean --offline?)``."""
    if isinstance(exc, _click_exceptions().NoSuchOption):
        possible = exc.possibilities or ()
        hint = f" (did you mean {' or '.join(possible)}?)" if possible else ""
        return f"no such option {exc.option_name}{hint}"
    text = " ".join(str(getattr(exc, "format_message", exc.__str__)()).split()).rstrip(".")
    return text[:1].lower() + text[1:]


def _identity(fd_or_path: int | str) -> tuple[int, int] | None:
    try:
        st = os.fstat(fd_or_path) if isinstance(fd_or_path, int) else os.stat(fd_or_path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def _pipe_gone(stdout_was: tuple[int, int] | None) -> bool:
    """Whether an exit 1 is a library's answer to a closed stdout: Click wraps sys.stdout (``--help | true``),
    Rich points fd 1 at /dev/null (a table into ``| head``). Both then exit 1; a closed pipe is 141 here."""
    if type(sys.stdout).__name__ == "PacifyFlushWrapper":
        return True
    now = _identity(1)
    return now is not None and now != stdout_was and now == _identity(os.devnull)


def _invoke(app: typer.Typer) -> int:
    """Run the app with Click's standalone mode off; usage errors, a closed pipe and errors raised outside a
    command body are worded here, one line each. Returns the exit status of a run that ended normally."""
    from typer import Abort

    from crazycall.commands._handling import output_closed, report_error

    click = _click_exceptions()
    try:
        code = app(prog_name="crazycall", standalone_mode=False)
    except click.NoArgsIsHelpError as exc:  # bare ``crazycall`` / ``crazycall tools``: the help, as before
        exc.show()
        raise SystemExit(EXIT_USAGE) from None
    except click.ClickException as exc:  # usage errors, and e.g. a file option Click could not open
        report_error(UsageError(usage_message(exc)))
        raise SystemExit(EXIT_USAGE) from None
    except Abort:
        sys.stderr.write("crazycall: interrupted\n")
        raise SystemExit(EXIT_INTERRUPTED) from None
    except (OutputClosed, BrokenPipeError):
        output_closed()
    except CrazycallError as err:  # raised outside a @handled body (e.g. in a callback)
        report_error(err)
        raise SystemExit(err.exit_code) from None
    # typer.Exit(code) comes back as a return value in this mode
    return code if isinstance(code, int) else 0


def main() -> None:
    """Console-script entry point."""
    if len(sys.argv) == 2 and sys.argv[1] in VERSION_FLAGS:
        sys.stdout.write(version_line() + "\n")
        return
    stdout_was = _identity(1)
    try:
        code = _invoke(get_app())
    except SystemExit as exc:
        if exc.code == EXIT_UNEXPECTED and _pipe_gone(stdout_was):
            from crazycall.commands._handling import output_closed

            output_closed()
        raise
    raise SystemExit(code)  # as Click's standalone mode does
