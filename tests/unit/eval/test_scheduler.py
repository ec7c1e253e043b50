"""Rows, shards, resume keys and merging results files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from crazycall.errors import UsageError
from crazycall.eval.cases import EvalCase
from crazycall.eval.report import build
from crazycall.eval.scheduler import Job, parse_shard, plan_jobs, read_rows, row_key

MODELS = [("gpt-5.4", "chat"), ("claude-sonnet-4-6", "messages")]


def cases(n: int) -> list[EvalCase]:
    return [EvalCase(f"case-{i}", "hi", repeat=2) for i in range(n)]


def test_shards_partition_the_matrix_and_survive_appended_cases() -> None:
    shards = [{j.key for j in plan_jobs(cases(10), MODELS, shard=(i, 4))} for i in range(4)]
    every = {j.key for j in plan_jobs(cases(10), MODELS)}
    assert sum(len(s) for s in shards) == len(every) == 40 and set().union(*shards) == every
    grown = [{j.key for j in plan_jobs(cases(15), MODELS, shard=(i, 4))} for i in range(4)]
    assert all(old <= new for old, new in zip(shards, grown, strict=True))


def test_done_rows_are_skipped_and_repeat_overrides() -> None:
    jobs = plan_jobs(cases(1), MODELS, repeat=3)
    assert len(jobs) == 6
    done = [jobs[0].key, jobs[4].key]
    assert [j.key for j in plan_jobs(cases(1), MODELS, repeat=3, done=done)] == [
        j.key for j in jobs if j.key not in done
    ]
    assert Job(cases(1)[0], "gpt-5.4", "chat", 1).key == row_key("case-0", "gpt-5.4:chat", 1)


def test_parse_shard() -> None:
    assert parse_shard("1/4", {}) == (1, 4)
    assert parse_shard("auto/4", {"JOB_COMPLETION_INDEX": "3"}) == (3, 4)
    assert parse_shard(None, {}) is None
    for bad in ("4/4", "1", "a/b", "-1/2", "auto/4"):
        with pytest.raises(UsageError, match="--shard"):
            parse_shard(bad, {})


def test_read_rows_counts_a_row_once_and_skips_torn_lines(tmp_path: Path) -> None:
    row = {"case": "a", "model": "m:chat", "repeat": 0, "passed": True, "latency_ms": 5, "turns": 1}
    other = {**row, "repeat": 1, "passed": False, "reason": "calls: x"}
    (tmp_path / "1.jsonl").write_text(json.dumps(row) + "\n" + json.dumps(other) + '\n{"case": "a", "mo')
    (tmp_path / "2.jsonl").write_text(json.dumps(row) + "\n")
    rows = read_rows([tmp_path / "1.jsonl", tmp_path / "2.jsonl", tmp_path / "missing.jsonl"])
    assert len(rows) == 2
    report = build(rows)
    assert (report["total"], report["passed"], report["cells"]["a"]["m:chat"]) == (2, 1, {"passed": 1, "rows": 2})
    assert report["failures"][0]["reason"] == "calls: x"


def test_mocks_replace_known_tools_and_add_unknown_ones() -> None:
    from crazycall.conversation import ToolSpec
    from crazycall.eval.scheduler import mocked_registry
    from crazycall.tools.registry import Tool, ToolRegistry

    def real(city: str) -> str:
        raise AssertionError("a mocked tool must not run")

    schema = {"type": "object", "properties": {"city": {"type": "string"}}}
    registry = ToolRegistry([Tool(ToolSpec("get_weather", "w", schema), real, "tools.yaml:1", confirm=True)])
    mocked, names = mocked_registry(registry, {"get_weather": {"t": 21}, "get_time": "noon"})
    assert names == {"get_weather", "get_time"}
    weather, time_tool = mocked.get("get_weather"), mocked.get("get_time")
    assert weather is not None and time_tool is not None
    assert weather({"city": "Paris"}) == {"t": 21} and not weather.confirm
    assert weather.spec.parameters == schema  # the model still sees the real schema
    assert time_tool({}) == "noon"
    assert registry.get("get_weather") is not None and registry.get("get_time") is None  # the original is untouched


def test_the_sharding_examples_use_the_documented_flags() -> None:
    import yaml

    root = Path(__file__).resolve().parents[3] / "examples"
    workflow = yaml.safe_load((root / "eval-github-actions.yml").read_text())
    steps = [s.get("run", "") for job in workflow["jobs"].values() for s in job["steps"]]
    assert any("--shard ${{ matrix.shard }}/4" in s and "--out results-${{ matrix.shard }}.jsonl" in s for s in steps)
    assert any(s.startswith("crazycall eval report results-*.jsonl") for s in steps)
    assert workflow["jobs"]["shard"]["strategy"]["matrix"]["shard"] == [0, 1, 2, 3]
    job = yaml.safe_load((root / "eval-k8s-job.yaml").read_text())
    assert job["spec"]["completionMode"] == "Indexed" and job["spec"]["completions"] == 4
    assert "--shard auto/4" in job["spec"]["template"]["spec"]["containers"][0]["args"][0]


def _scripted_row(turns: list[Any], case: EvalCase) -> dict[str, Any]:
    from crazycall.eval.scheduler import Context, run_job
    from crazycall.model import Model
    from crazycall.testing import ScriptedModel
    from crazycall.tools.registry import ToolRegistry
    from crazycall.transport import TransportOptions

    def scripted(_model: Model, _job: Job) -> Model:
        return ScriptedModel(turns, protocol="chat")

    ctx = Context(
        "http://127.0.0.1:9", "k", ToolRegistry(), TransportOptions(), save_transcripts=False, wrap_model=scripted
    )
    return run_job(Job(case, "gpt-5.4", "chat", 0), ctx)


def test_a_row_through_the_loop_with_a_mock_and_a_failing_argument() -> None:
    from crazycall.conversation import Message, ModelResponse, TextPart, ToolCall, Usage
    from crazycall.eval.cases import CallExpect, Expect

    call = ToolCall("c1", "get_weather", {"city": "Peking"}, '{"city": "Peking"}')
    turns = [
        ModelResponse(Message("assistant", (call,)), "tool_use", Usage(10, 5), "m"),
        ModelResponse(Message("assistant", (TextPart("Sunny."),)), "end_turn", Usage(20, 3), "m"),
    ]
    expect = Expect(calls=(CallExpect("get_weather", {"city": "Beijing"}),), contains=("Sunny",))
    case = EvalCase("w", "weather?", expect, mock={"get_weather": {"t": 21}})
    row = _scripted_row(turns, case)
    assert (row["passed"], row["turns"], row["text"], row["error"]) == (False, 2, "Sunny.", None)
    assert row["reason"] == 'calls: call 1: arguments.city: "Peking" does not match "Beijing"'
    assert row["calls"] == [
        {"name": "get_weather", "arguments": {"city": "Peking"}, "result": {"t": 21}, "is_error": False, "mocked": True}
    ]
    assert row["usage"] == {"input_tokens": 30, "output_tokens": 8}
    assert [a["name"] for a in row["assertions"]] == ["calls", "text.contains"]


def test_a_provider_error_is_the_rows_error_not_a_crash() -> None:
    from crazycall.errors import ServerError

    row = _scripted_row([ServerError("chat /v1/chat/completions: HTTP 503 overloaded")], EvalCase("w", "hi"))
    assert row["passed"] is False and row["error"]["type"] == "server_error" and row["error"]["exit_code"] == 4
    assert "HTTP 503 overloaded" in row["reason"]
