"""The exception tree and the exit codes.

Every error crazycall raises on purpose is a ``CrazycallError``; its ``str()`` is one line, already redacted,
fit to print as is. ``cli.py`` maps ``exit_code`` to the process exit status. This module owns the names and
the numbers (a contract users' scripts rely on); it does not print anything.

::

    CrazycallError               exit 1 (unexpected)
    ├── UsageError          2    bad flags, unknown model or protocol
    ├── ConfigError         3    tools.yaml, plugins, config file: names path:line and field
    │   └── PluginImportError    a plugin module raised while being imported (.detail)
    ├── ProviderError       4    HTTP error from the router (protocol, status, request id, type, message)
    │   ├── AuthenticationError
    │   ├── RateLimitError       (.retry_after)
    │   └── ServerError
    ├── TransportError      5    the network failed us; split by kind so nobody matches on strings
    │   ├── TransportTimeout     connect, read, write or pool timeout
    │   │   └── DeadlineExceeded the whole-request deadline (--timeout) passed; never retried
    │   ├── ConnectFailed        no connection (refused, unknown host, TLS handshake)
    │   └── StreamCut            a body or stream that ended before its end (closed early, no terminal event)
    ├── ProtocolViolation   6    a body or stream that does not parse as the chosen protocol
    │   └── MalformedToolCall    the model's tool call failed on the provider's side twice in a row
    ├── LoopLimitExceeded   7    max turns reached with tool calls still pending
    │   ├── RepeatedToolCalls    the same call(s) with identical arguments 3 rounds in a row
    │   └── BudgetExceeded       --max-cost / --max-tokens-total reached before the next model turn
    ├── ToolErrorsPresent   8    --fail-on-tool-error and a tool ended in error
    ├── ReplayMismatch      9    --replay: the request built now differs from the recorded one
    ├── SchemaMismatch     10    --schema: the final answer stayed invalid after --schema-retries
    ├── SmokeFailed      4-6, 1  ``crazycall smoke``: a case failed (the most severe failure's code)
    ├── Interrupted       130    Ctrl-C
    │   └── Terminated    143    SIGTERM (handled like Ctrl-C where a command installs ``sigterm_as_interrupt``)
    └── OutputClosed      141    stdout's reader went away (``| head``): silent, like SIGPIPE
    OK 0
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_UNEXPECTED = 1
EXIT_USAGE = 2
EXIT_CONFIG = 3
EXIT_PROVIDER = 4
EXIT_TRANSPORT = 5
EXIT_PROTOCOL = 6
EXIT_MAX_TURNS = 7
EXIT_TOOL_ERROR = 8
EXIT_REPLAY_MISMATCH = 9
EXIT_SCHEMA = 10
EXIT_EVAL_FAILED = 11
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143
"""128 + SIGTERM: what a shell reports for a process ended by SIGTERM."""
EXIT_BROKEN_PIPE = 141
"""128 + SIGPIPE: what a shell reports for a Unix tool whose reader closed the pipe."""


def _one_line(message: str) -> str:
    from crazycall.redact import redact

    return redact(" ".join(message.split()))


class CrazycallError(Exception):
    """Base of every deliberate error. ``str(err)`` is a single redacted line."""

    exit_code: int = EXIT_UNEXPECTED
    #: short machine-readable name used in ``--json`` output (``error.type``)
    kind: str = "error"
    #: already in the machine-readable output (``--json`` object, ``error`` event): the CLI adds no second one
    reported: bool = False

    def __init__(self, message: str) -> None:
        self.message = _one_line(message)
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message


class UsageError(CrazycallError):
    exit_code = EXIT_USAGE
    kind = "usage_error"


class ConfigError(CrazycallError):
    exit_code = EXIT_CONFIG
    kind = "config_error"


class PluginImportError(ConfigError):
    """A plugin module raised while being imported; ``detail`` is the exception's last line."""

    def __init__(self, message: str, detail: str) -> None:
        self.detail = detail
        super().__init__(message)


class ProviderError(CrazycallError):
    """An error reported by the router/provider, over HTTP or inside a stream."""

    exit_code = EXIT_PROVIDER
    kind = "provider_error"

    def __init__(
        self,
        message: str,
        *,
        protocol: str = "",
        endpoint: str = "",
        status: int | None = None,
        error_type: str | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
        retryable: bool | None = None,
    ) -> None:
        self.protocol = protocol
        self.endpoint = endpoint
        self.status = status
        self.error_type = error_type
        self.provider_message = message
        self.request_id = request_id
        #: seconds the provider asked us to wait, when it said so
        self.retry_after = retry_after
        #: the provider's own opinion on retrying (None: decide from the status)
        self.retryable = retryable
        super().__init__(self._describe())

    def __str__(self) -> str:
        # recomputed: the transport may fill in the endpoint after the adapter built the error
        return _one_line(self._describe())

    def _describe(self) -> str:
        bits = [b for b in (self.protocol, self.endpoint) if b]
        head = " ".join(bits)
        status = f"HTTP {self.status}" if self.status is not None else "in-stream error"
        kind = f" {self.error_type}:" if self.error_type else ":"
        rid = f" (request id {self.request_id})" if self.request_id else ""
        prefix = f"{head}: " if head else ""
        return f"{prefix}{status}{kind} {self.provider_message}{rid}"


class AuthenticationError(ProviderError):
    kind = "authentication_error"


class RateLimitError(ProviderError):
    kind = "rate_limit_error"


class ServerError(ProviderError):
    kind = "server_error"


class TransportError(CrazycallError):
    """The exchange failed below the protocol. The subclasses say how; all share ``kind`` (a ``--json``
    contract) and exit 5, and a plain TransportError is any other httpx failure."""

    exit_code = EXIT_TRANSPORT
    kind = "transport_error"


class TransportTimeout(TransportError):
    """A connect, read, write or pool timeout (httpx's ``TimeoutException``)."""


class DeadlineExceeded(TransportTimeout):
    """The whole-request deadline (``--timeout``) passed; never retried."""


class ConnectFailed(TransportError):
    """No connection to the router: refused, unknown host, TLS handshake (a connect timeout is a TransportTimeout)."""


class StreamCut(TransportError):
    """The body or stream ended before its end: the peer closed it early, or no terminal event arrived."""


class ProtocolViolation(CrazycallError):
    exit_code = EXIT_PROTOCOL
    kind = "protocol_violation"


class MalformedToolCall(ProtocolViolation):
    """The provider ended the turn on a tool call it could not make (Gemini ``MALFORMED_FUNCTION_CALL`` and kin),
    again after one retry (exit 6, like any response that cannot be used)."""

    kind = "malformed_tool_call"


class LoopLimitExceeded(CrazycallError):
    exit_code = EXIT_MAX_TURNS
    kind = "max_turns"


class RepeatedToolCalls(LoopLimitExceeded):
    """The model asked for the same call(s) with identical arguments round after round (exit 7, like max turns)."""

    kind = "repeated_tool_calls"


class BudgetExceeded(LoopLimitExceeded):
    """The cost (``--max-cost``) or the tokens (``--max-tokens-total``) so far reached the budget before the next
    model turn (exit 7, like the turn limit; everything so far is kept)."""

    kind = "budget_exceeded"


class ToolErrorsPresent(CrazycallError):
    exit_code = EXIT_TOOL_ERROR
    kind = "tool_error"


class ReplayMismatch(CrazycallError):
    """A replay (``--replay``) built a request that differs from the recorded one, or one never recorded.
    ``request`` (1-based), ``path``, ``recorded`` and ``now`` go into ``--json``'s error object as ``replay``."""

    exit_code = EXIT_REPLAY_MISMATCH
    kind = "replay_mismatch"

    def __init__(self, message: str, request: int, path: str = "", recorded: object = None, now: object = None):
        super().__init__(message)
        self.request, self.path, self.recorded, self.now = request, path, recorded, now


class SchemaMismatch(CrazycallError):
    """The final answer was not valid against ``--schema`` after every retry; the last answer is kept."""

    exit_code = EXIT_SCHEMA
    kind = "schema_mismatch"


class SmokeFailed(CrazycallError):
    """At least one smoke case failed; ``exit_code`` is that of the most severe failure (smoke.runner.SEVERITY)."""

    kind = "smoke_failed"

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class EvalFailed(CrazycallError):
    """``crazycall eval``: conversations failed their assertions (or the pass rate is below --min-pass-rate)."""

    exit_code = EXIT_EVAL_FAILED
    kind = "eval_failed"


class Interrupted(CrazycallError):
    exit_code = EXIT_INTERRUPTED
    kind = "interrupted"


class Terminated(Interrupted):
    """Stopped by SIGTERM: the same cleanup and ``kind`` as Ctrl-C, the exit status of a SIGTERM."""

    exit_code = EXIT_TERMINATED


class OutputClosed(CrazycallError):
    """stdout (or stderr) was closed by its reader: not a failure worth a message, exit 141."""

    exit_code = EXIT_BROKEN_PIPE
    kind = "output_closed"

    def __init__(self, message: str = "the output was closed by its reader") -> None:
        super().__init__(message)


def provider_error_class(status: int | None) -> type[ProviderError]:
    """The most specific ProviderError subclass for an HTTP status."""
    if status in (401, 403):
        return AuthenticationError
    if status == 429:
        return RateLimitError
    if status is not None and status >= 500:
        return ServerError
    return ProviderError
