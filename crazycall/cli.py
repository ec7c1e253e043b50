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
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

from crazycall import __version__
from crazycall.errors import (
    EXIT_BROKEN_PIPE,
    EXIT_INTERRUPTED,
    EXIT_UNEXPECTED,
    EXIT_USAGE,
    CrazycallError,
    OutputClosed,
    UsageError,
)

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

    from crazycall.commands import ask, config, logs, mcp_serve, offline, smoke, tools

    for module in (ask, config, tools, smoke, logs, offline, mcp_serve):
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


def machine_output(argv: list[str]) -> str | None:
    """``"json"`` or ``"jsonl"`` when the command line asks for machine-readable output, else None.

    Read from the raw arguments because a usage error happens before (or instead of) parsing them.
    """
    json_flag, value = False, ""
    for i, arg in enumerate(argv):
        if arg == "--":  # what follows is a prompt, not a flag
            break
        if arg == "--json":
            json_flag = True
        elif arg in ("-o", "--output") and i + 1 < len(argv):
            value = argv[i + 1]
        elif arg.startswith("--output="):
            value = arg.partition("=")[2]
        elif arg.startswith("-o") and not arg.startswith("--"):
            value = arg[2:]
    if json_flag:  # --json wins over -o, as in the commands themselves
        return "json"
    return value if value in ("json", "jsonl") else None


def report_error(err: CrazycallError, verbose: bool = False) -> None:
    """The error line on stderr, and (unless the command already did) the JSON form the command line asked for:
    ``{"error": {...}}`` with ``--json``, an ``error`` event with ``-o jsonl``."""
    print_error(err, verbose)
    mode = None if err.reported else machine_output(sys.argv[1:])
    if mode is None:
        return
    import json

    from crazycall.render.summary import error_dict

    data = {"error": error_dict(err)} if mode == "json" else {"event": "error", **error_dict(err)}
    try:
        sys.stdout.write(json.dumps(data, ensure_ascii=False) + "\n")
        sys.stdout.flush()
    except BrokenPipeError:
        output_closed()


def output_closed() -> NoReturn:
    """stdout's reader went away (``| head -1``): no message, exit 141 like a tool killed by SIGPIPE.

    stdout is pointed at /dev/null first, so the interpreter's flush at exit finds nowhere to fail.
    """
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # no real stdout (a test's capture): nothing will be flushed to a pipe
        pass
    raise SystemExit(EXIT_BROKEN_PIPE)


def _escape_bad_unicode() -> None:
    """Print text that is not valid Unicode (a lone surrogate from a model, a tool or a transcript) as its
    ``\\uXXXX`` escape instead of failing on it: in JSON output the escape reads back as the same text."""
    for stream in (sys.stdout, sys.stderr):
        if callable(getattr(stream, "reconfigure", None)):
            stream.reconfigure(errors="backslashreplace")  # type: ignore[union-attr]


def handled(func: F) -> F:
    """Decorate a command body: CrazycallError -> one line + its exit code; Ctrl-C -> 130; a closed pipe -> 141."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from typer import Abort, Exit  # imported already: typer is what calls this

        verbose = bool(kwargs.get("verbose")) or os.environ.get("CRAZYCALL_VERBOSE") == "1"
        _escape_bad_unicode()
        try:
            return func(*args, **kwargs)
        except (OutputClosed, BrokenPipeError):
            output_closed()
        except CrazycallError as err:
            report_error(err, verbose)
            raise SystemExit(err.exit_code) from None
        except KeyboardInterrupt:
            sys.stderr.write("crazycall: interrupted\n")
            raise SystemExit(EXIT_INTERRUPTED) from None
        except (Exit, Abort):
            raise
        except Exception as err:
            if hasattr(err, "show"):  # a click/typer usage error raised in the body: main words it, exit 2
                raise
            print_error(err, verbose)  # a bug: one line (the traceback with --verbose), exit 1
            raise SystemExit(EXIT_UNEXPECTED) from None

    return wrapper  # type: ignore[return-value]


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
            output_closed()
        raise
    raise SystemExit(code)  # as Click's standalone mode does
