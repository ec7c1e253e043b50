"""``crazycall offline-router``: serve the built-in offline router until Ctrl-C.

Only typer is imported at module level; the server is imported when the command runs. The router itself
(what it answers, which faults it knows) lives in ``crazycall/offline/``; this module owns the flags, the
one "listening on" line scripts wait for, the ``-v`` request log on stderr, and a clean exit (0) on Ctrl-C or
SIGTERM, even when the shell that started it made it ignore SIGINT.
"""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

import typer

from crazycall.commands._handling import handled

if TYPE_CHECKING:
    from crazycall.offline.replaying import ReplayBook
    from crazycall.transcript.recording import Recording

_PROTOCOLS = ("chat", "responses", "messages", "gemini", "*")


def parse_faults(specs: list[str]) -> dict[str, str]:
    """``["chat=cut", "*=http500"]`` -> ``{"chat": "cut", "*": "http500"}``; a bad spec is a UsageError."""
    from crazycall.errors import UsageError
    from crazycall.offline.faults import FAULT_MODES

    faults: dict[str, str] = {}
    for spec in specs:
        protocol, sep, mode = (s.strip() for s in spec.partition("="))
        if not sep or protocol not in _PROTOCOLS:
            raise UsageError(f"--fault {spec!r}: expected PROTOCOL=MODE with PROTOCOL one of {', '.join(_PROTOCOLS)}")
        if mode not in FAULT_MODES:
            raise UsageError(f"--fault {spec!r}: unknown mode {mode!r} (one of {', '.join(FAULT_MODES)})")
        faults[protocol] = mode
    return faults


def _interrupt(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _log_line(line: str) -> None:
    sys.stderr.write(f"{time.strftime('%H:%M:%S')} {line}\n")
    sys.stderr.flush()


def _load_recordings(source: Path) -> list[Recording]:
    """The recording at ``source`` (a transcript), or every recording in it (a folder of transcripts; files
    that hold no request are skipped). A folder without one is a UsageError."""
    from crazycall.errors import UsageError
    from crazycall.transcript.recording import load_recording

    if not source.is_dir():
        return [load_recording(source)]
    found: list[Recording] = []
    for path in sorted(source.glob("*.jsonl")):
        try:
            found.append(load_recording(path))
        except UsageError:
            continue  # a run that failed before its first request, or one written without a transcript
    if not found:
        raise UsageError(f"--replay {source}: the folder holds no recording (*.jsonl transcript with a request)")
    return found


def _book(source: str | None) -> ReplayBook | None:
    """``--replay``: the recordings to answer from (a folder of transcripts, a transcript, or a run id)."""
    if source is None:
        return None
    from crazycall.offline.replaying import ReplayBook
    from crazycall.transcript import find_transcript

    path = Path(source)
    return ReplayBook(_load_recordings(path if path.is_dir() else find_transcript(source)))


def register(app: typer.Typer) -> None:
    """Add ``offline-router`` to the root app."""

    @app.command("offline-router")
    @handled
    def offline_router(
        host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
        port: int = typer.Option(0, "--port", min=0, max=65535, help="Port; 0 picks a free one (printed)."),
        api_key: str | None = typer.Option(None, "--api-key", help="Accept only this key (default: any key)."),
        fault: list[str] = typer.Option(
            [],
            "--fault",
            metavar="PROTOCOL=MODE",
            help="Inject a fault: text, http500, http401, http429, cut, garbage.",
        ),
        verbose: bool = typer.Option(False, "--verbose", "-v", help="Log one line per request on stderr."),
        replay: str | None = typer.Option(
            None,
            "--replay",
            metavar="TRANSCRIPT_OR_DIR",
            help="Answer from recordings (a transcript, run id or folder of them); a request none matches gets a 400.",
        ),
    ) -> None:
        """Serve the deterministic offline router (all four protocols) until Ctrl-C."""
        from crazycall.errors import UsageError
        from crazycall.offline.server import OfflineRouter

        faults, log = parse_faults(fault), _log_line if verbose else None
        router = OfflineRouter(host, port, api_key=api_key, faults=faults, log=log, replay=_book(replay))
        try:
            router.start()
        except OSError as err:
            raise UsageError(f"cannot listen on {host}:{port}: {err.strerror or err}") from None
        try:
            # Before the line scripts wait for, so a signal sent right after it is not lost. A process started in
            # the background by a shell inherits SIGINT ignored: stop on it all the same.
            signal.signal(signal.SIGTERM, _interrupt)
            signal.signal(signal.SIGINT, signal.default_int_handler)
            sys.stdout.write(f"crazycall offline router listening on {router.url}\n")
            sys.stdout.flush()
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            # Ctrl-C or SIGTERM is how this command is meant to end: exit 0, the terminal's "^C" line ended
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the clean stop short
            sys.stderr.write(("\n" if sys.stderr.isatty() else "") + "crazycall offline router stopped\n")
            sys.stderr.flush()
        finally:
            router.stop()
