"""The Typer application: parse flags, hand over to the command modules, map errors to exit codes.

Thin on purpose. Each command group lives in ``crazycall/commands/`` and imports its heavy dependencies
inside the command body, so ``crazycall --help`` and ``--version`` stay fast. This module owns the one place
where a ``CrazycallError`` becomes a printed line and an exit status.

The app is built on first use (``get_app``, or ``from crazycall.cli import app``), not at import: importing
typer and building every command takes longer than the whole ``--version`` start-up target, and a bare
``crazycall --version`` (or ``-V``) is answered by ``main`` before typer is imported at all, with the line
the ``--version`` option itself prints.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from crazycall import __version__
from crazycall.errors import EXIT_INTERRUPTED, EXIT_UNEXPECTED, CrazycallError

if TYPE_CHECKING:
    import typer

F = TypeVar("F", bound=Callable[..., Any])

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
        add_completion=False,
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

    from crazycall.commands import ask, config, logs, offline, smoke, tools

    for module in (ask, config, tools, smoke, logs, offline):
        module.register(app)
    return app


def print_error(err: BaseException, verbose: bool = False) -> None:
    """Print one redacted line (and the traceback with --verbose) to stderr, control characters made visible
    (a provider's message is network text: it must not drive the terminal)."""
    from crazycall.redact import redact
    from crazycall.render.sanitize import visible

    if verbose:
        import traceback

        sys.stderr.write(visible(redact("".join(traceback.format_exception(err)))))
    message = str(err) if isinstance(err, CrazycallError) else f"unexpected {type(err).__name__}: {err}"
    sys.stderr.write(f"crazycall: error: {visible(redact(message))}\n")
    sys.stderr.flush()


def handled(func: F) -> F:
    """Decorate a command body: CrazycallError -> one line + its exit code; Ctrl-C -> 130."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from typer import Abort, Exit  # imported already: typer is what calls this

        verbose = bool(kwargs.get("verbose")) or os.environ.get("CRAZYCALL_VERBOSE") == "1"
        try:
            return func(*args, **kwargs)
        except CrazycallError as err:
            print_error(err, verbose)
            raise SystemExit(err.exit_code) from None
        except KeyboardInterrupt:
            sys.stderr.write("crazycall: interrupted\n")
            raise SystemExit(EXIT_INTERRUPTED) from None
        except (Exit, Abort):
            raise
        except Exception as err:
            if hasattr(err, "show"):  # a click/typer usage error raised in the body: click prints it, exit 2
                raise
            print_error(err, verbose)  # a bug: one line (the traceback with --verbose), exit 1
            raise SystemExit(EXIT_UNEXPECTED) from None

    return wrapper  # type: ignore[return-value]


def main() -> None:
    """Console-script entry point."""
    if len(sys.argv) == 2 and sys.argv[1] in VERSION_FLAGS:
        sys.stdout.write(version_line() + "\n")
        return
    try:
        get_app()(prog_name="crazycall")
    except CrazycallError as err:  # raised outside a @handled body (e.g. in a callback)
        print_error(err)
        raise SystemExit(err.exit_code) from None
