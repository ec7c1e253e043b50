"""How a command body ends: a ``CrazycallError`` becomes one printed line and its exit status.

Owns ``handled`` (the decorator every command body wears), the error line (``print_error``), the JSON form of
an error that ``--json``/``-o jsonl`` ask for (``report_error``, ``machine_output``) and the quiet exit of a
closed pipe (``output_closed``). It lives apart from ``cli.py`` so that the command modules, which ``cli.py``
registers, can import it without importing ``cli.py`` back (no import circle; a test checks it).
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

from crazycall.errors import EXIT_BROKEN_PIPE, EXIT_INTERRUPTED, EXIT_UNEXPECTED, CrazycallError, OutputClosed

F = TypeVar("F", bound=Callable[..., Any])


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
        except KeyboardInterrupt as exc:  # crazycall.sigterm.SigTerm carries 143
            sys.stderr.write("crazycall: interrupted\n")
            raise SystemExit(getattr(exc, "exit_code", EXIT_INTERRUPTED)) from None
        except (Exit, Abort):
            raise
        except Exception as err:
            if hasattr(err, "show"):  # a click/typer usage error raised in the body: main words it, exit 2
                raise
            print_error(err, verbose)  # a bug: one line (the traceback with --verbose), exit 1
            raise SystemExit(EXIT_UNEXPECTED) from None

    return wrapper  # type: ignore[return-value]
