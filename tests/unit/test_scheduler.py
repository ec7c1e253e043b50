"""The one scheduler (crazycall.scheduler): smoke's cases and eval's rows both run on it; order, timeout, Ctrl-C."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import pytest

from crazycall import scheduler
from crazycall.errors import Interrupted

LOOPBACK = "http://127.0.0.1:9"


def _spy(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record the thread-name prefix of every run_all call (smoke's and eval's differ), then run it for real."""
    seen: list[str] = []
    real = scheduler.run_all

    def spy(items: Sequence[Any], work: Callable[[Any], Any], concurrency: int, **kwargs: Any) -> list[Any]:
        seen.append(kwargs.get("name", ""))
        return real(items, work, concurrency, **kwargs)

    monkeypatch.setattr(scheduler, "run_all", spy)
    return seen


def test_smoke_and_eval_run_on_the_same_scheduler(monkeypatch: pytest.MonkeyPatch) -> None:
    from crazycall.conversation import Message, ModelResponse, TextPart
    from crazycall.eval.cases import EvalCase, Expect
    from crazycall.eval.scheduler import Context, Job, run_jobs
    from crazycall.model import Model
    from crazycall.smoke.cases import make_case
    from crazycall.smoke.runner import CaseResult, run_cases
    from crazycall.testing import ScriptedModel
    from crazycall.tools.registry import ToolRegistry
    from crazycall.transport import TransportOptions

    seen = _spy(monkeypatch)
    case = make_case("gpt-5.4", "chat")
    smoke_results = run_cases([case], lambda c: CaseResult(c, "/v1/chat/completions", 1.0), 2, LOOPBACK)
    assert [r.case for r in smoke_results] == [case]

    reply = ModelResponse(Message("assistant", (TextPart("hi"),)), "end_turn")

    def scripted(_model: Model, _job: Job) -> Model:
        return ScriptedModel([reply], protocol="chat")

    ctx = Context(LOOPBACK, "k", ToolRegistry(), TransportOptions(), save_transcripts=False, wrap_model=scripted)
    rows: list[dict[str, Any]] = []
    job = Job(EvalCase("hello", "Say hello.", Expect()), "gpt-5.4", "chat", 0)
    returned = run_jobs([job], ctx, 2, rows.append)
    assert [r["text"] for r in rows] == ["hi"] and returned == rows
    assert seen == ["crazycall-smoke", "crazycall-eval"]


def test_results_in_item_order_and_on_result_sees_each_as_it_ends() -> None:
    release = threading.Event()
    ended: list[int] = []

    def work(item: int) -> int:
        if item == 0:
            release.wait(5)  # the first item ends last
        return item * 10

    def on_result(result: int) -> None:
        ended.append(result)
        if len(ended) == 2:
            release.set()

    assert scheduler.run_all([0, 1, 2], work, 3, on_result=on_result) == [0, 10, 20]
    assert ended[-1] == 0 and sorted(ended) == [0, 10, 20]


def test_at_most_concurrency_jobs_at_once() -> None:
    lock = threading.Lock()
    running = [0, 0]  # now, peak

    def work(item: int) -> int:
        with lock:
            running[0] += 1
            running[1] = max(running[1], running[0])
        time.sleep(0.01)
        with lock:
            running[0] -= 1
        return item

    assert scheduler.run_all(list(range(8)), work, 2) == list(range(8))
    assert running[1] <= 2


def test_the_run_holds_the_shared_client_of_its_base_url() -> None:
    from crazycall.transport_clients import open_clients

    before = open_clients()
    during = scheduler.run_all([1], lambda _item: open_clients(), 1, base_url=LOOPBACK)
    assert during == [before + 1] and open_clients() == before


def test_within_gives_the_timeout_result_when_work_hangs() -> None:
    hang = threading.Event()
    try:
        assert scheduler.within(lambda: hang.wait(5) and "late", 0.05, lambda: "timed out") == "timed out"
    finally:
        hang.set()
    assert scheduler.within(lambda: "done", 5, lambda: "timed out") == "done"


def test_ctrl_c_in_a_job_is_interrupted() -> None:
    def work(_item: int) -> int:
        raise KeyboardInterrupt

    with pytest.raises(Interrupted):
        scheduler.run_all([1, 2], work, 1)


def test_within_raises_what_work_raised_at_once() -> None:
    def work() -> str:
        raise ValueError("bug")

    with pytest.raises(ValueError, match="bug"):
        scheduler.within(work, 30, lambda: "timed out")
