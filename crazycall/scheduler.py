"""The one job scheduler: many independent conversations at once, for ``smoke`` and ``eval`` alike.

Owns the thread pool (at most ``concurrency`` jobs at a time), the per-job hard timeout (``within``: a job
runs in a daemon thread that is waited for at most ``timeout`` seconds, so a hung job cannot stall the run
or keep the process alive), the shared HTTP client every job's Transport joins (``transport_clients.shared``
for the whole run), results handed to ``on_result`` as each job ends and returned in job order, and Ctrl-C
(-> ``Interrupted``). What a job does -- a smoke probe, an eval conversation -- is the caller's ``work``.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from contextlib import ExitStack
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def within(work: Callable[[], R], timeout: float, on_timeout: Callable[[], R], name: str = "crazycall-job") -> R:
    """``work()``'s result, or ``on_timeout()``'s when ``work`` is not done within ``timeout`` seconds.

    ``work`` runs in a daemon thread: a job blocked on a socket is left behind (``on_timeout`` may close
    what it waits on) and its late result is dropped."""
    box: queue.Queue[tuple[R | None, BaseException | None]] = queue.Queue(maxsize=1)

    def run() -> None:
        try:
            box.put((work(), None))
        except BaseException as exc:  # handed to the caller: a bug must not pass for a timeout
            box.put((None, exc))

    threading.Thread(target=run, name=name, daemon=True).start()
    try:
        result, error = box.get(timeout=timeout)
    except queue.Empty:
        return on_timeout()
    if error is not None:
        raise error
    return result  # type: ignore[return-value]  # R itself may be None


def run_all(
    items: Sequence[T],
    work: Callable[[T], R],
    concurrency: int,
    *,
    base_url: str | None = None,
    on_result: Callable[[R], None] | None = None,
    name: str = "crazycall-job",
) -> list[R]:
    """``work(item)`` for every item, at most ``concurrency`` at a time; results in item order.

    ``on_result`` (called under a lock, in the order jobs end) sees each result as soon as it is ready.
    With ``base_url`` the run holds that URL's shared client, so one job that ends does not close the warm
    connections the next would open again. ``work`` should not raise: its exception ends the run."""
    lock = threading.Lock()
    pool = ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix=name)
    with ExitStack() as stack:
        if base_url is not None:
            from crazycall.transport_clients import shared

            stack.enter_context(shared(base_url, concurrency))
        futures: list[Future[R]] = [pool.submit(work, item) for item in items]
        try:
            for future in as_completed(futures):
                result = future.result()
                if on_result is not None:
                    with lock:
                        on_result(result)
        except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM under sigterm_as_interrupt
            from crazycall.sigterm import interrupted
            from crazycall.tools import processes

            pool.shutdown(wait=False, cancel_futures=True)
            processes.kill_running()  # else exit waits for the pool's threads, so for their command tools
            raise interrupted(exc) from None
        pool.shutdown(wait=True)
    return [future.result() for future in futures]
