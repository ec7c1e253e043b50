"""Rows, shards, resume keys and merging results files."""

from __future__ import annotations

import json
from pathlib import Path

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
