"""Where the log records of the MCP SDK (and of any library it uses) go while MCP sessions are open.

The SDK logs with ``logging``; with no handler configured, Python's last-resort handler would print warnings
and their tracebacks on stderr (an 11-line traceback for a server that writes one non-JSON line), breaking the
rule that stderr holds only crazycall's own lines. While a hub runs, ``LogRouter`` takes those records: each
becomes one redacted line, kept (bounded) for the error message of a server that fails to start, handed to the
transcript (``library_logs``: ``log`` records), and written to stderr as ``crazycall: mcp: ...`` only with ``-v``
(or ``CRAZYCALL_VERBOSE=1``). It is attached to the root
logger only when nobody configured logging (an embedding program's own handlers are left alone).
"""

from __future__ import annotations

import collections
import logging
import sys

from crazycall import library_logs

KEPT = 20
"""Lines kept for error messages; older ones are dropped."""
LINE_LIMIT = 300


class LogRouter(logging.Handler):
    def __init__(self, verbose: bool) -> None:
        super().__init__(logging.DEBUG)
        self.verbose = verbose
        self.lines: collections.deque[str] = collections.deque(maxlen=KEPT)
        self._saved: list[tuple[logging.Logger, bool, int]] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = one_line(record)
            self.lines.append(line)
            library_logs.add(line)
            if self.verbose:
                sys.stderr.write(f"crazycall: mcp: {line}\n")
                sys.stderr.flush()
        except Exception:  # a log record must never break a run
            pass

    def install(self) -> None:
        library_logs.clear()  # a line left from an earlier run in this process is not this run's
        sdk = logging.getLogger("mcp")
        self._saved.append((sdk, sdk.propagate, sdk.level))
        sdk.addHandler(self)
        sdk.propagate = False
        sdk.setLevel(logging.INFO if self.verbose else logging.WARNING)
        root = logging.getLogger()
        if not root.handlers:  # otherwise the last-resort handler would print other libraries' warnings
            self._saved.append((root, root.propagate, root.level))
            root.addHandler(self)

    def uninstall(self) -> None:
        for logger, propagate, level in reversed(self._saved):
            logger.removeHandler(self)
            logger.propagate = propagate
            logger.setLevel(level)
        self._saved.clear()


def one_line(record: logging.LogRecord) -> str:
    """``mcp.client.stdio: Failed to parse ... (ValidationError: 1 validation error ...)``, redacted, cut."""
    from crazycall.redact import redact

    text = record.getMessage()
    if record.exc_info and record.exc_info[1] is not None:
        exc = record.exc_info[1]
        detail = (str(exc).strip().splitlines() or [""])[0]
        text += f" ({type(exc).__name__}: {detail})" if detail else f" ({type(exc).__name__})"
    text = " ".join(f"{record.name}: {text}".split())
    if len(text) > LINE_LIMIT:
        text = text[: LINE_LIMIT - 1] + "…"
    return redact(text)
