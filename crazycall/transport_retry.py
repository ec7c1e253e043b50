"""Whether a failed model request is tried again, and after how long (PROTOCOLS.md §1.5, §3.5, §4.5, §5).

Owns the statuses the official SDKs retry, the decision (the provider's own word first, then the status; any
transport failure except the deadline) and the wait (a server-stated wait, capped; else exponential backoff,
capped and jittered). Pure functions: crazycall.transport counts the attempts, observes and sleeps.
"""

from __future__ import annotations

from collections.abc import Callable

from crazycall.errors import CrazycallError, DeadlineExceeded, ProviderError, TransportError

#: what the official SDKs retry (529 is Anthropic's overload)
RETRY_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504, 529})


def retryable(err: CrazycallError) -> bool:
    if isinstance(err, ProviderError):
        if err.retryable is not None:  # x-should-retry (§1.5) or the adapter's reading of the body
            return err.retryable
        return err.status in RETRY_STATUSES
    return isinstance(err, TransportError) and not isinstance(err, DeadlineExceeded)


def wait_before(
    err: CrazycallError, attempt_no: int, *, base: float, cap: float, max_wait: float, jitter: Callable[[], float]
) -> float:
    """Seconds to wait before attempt ``attempt_no + 1``."""
    stated = err.retry_after if isinstance(err, ProviderError) else None
    if stated is not None:
        return min(max(stated, 0.0), max_wait)
    backoff = min(base * float(2**attempt_no), cap)
    return backoff * (0.75 + jitter() * 0.25)  # jitter: spread clients that failed together
