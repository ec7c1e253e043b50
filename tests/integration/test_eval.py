"""``crazycall eval`` end to end: the real CLI (a subprocess) against the offline router on 127.0.0.1.

Passing and failing cases on all four protocols, the exit codes (0, 11 for failed assertions, 3 for a bad cases
file), the JSON report, JUnit (validated against the same XSD smoke uses), Markdown, resume after a torn
results file, and four shards run as separate processes merging into the unsharded run's report.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import xmlschema

ROOT = Path(__file__).resolve().parents[2]
XSD = ROOT / "tests" / "fixtures" / "junit" / "junit-10.xsd"
TOOLS = ROOT / "tools.yaml"

FAILING = f"""\
models: [gpt-5.4]
tools: {TOOLS}
cases:
  - id: wrong-tool
    prompt: What is the weather in Beijing?
    expect: {{calls: [{{name: search_products}}]}}
  - id: wrong-arg
    prompt: What is the weather in Beijing?
    expect: {{calls: [{{name: get_weather, arguments: {{city: Peking}}}}]}}
  - id: banned
    prompt: What is the weather in Beijing?
    expect: {{no_calls: [get_weather], max_turns: 1}}
  - id: text
    prompt: What is the weather in Beijing?
    expect: {{text: {{contains: [Tokyo], regex: "^xyz", schema: {{type: object}}}}}}
  - id: right
    prompt: What is the weather in Beijing?
    expect: {{calls: [{{name: get_weather, arguments: {{city: {{regex: "^Bei"}}, unit: {{any: true}}}}}}]}}
"""

MATRIX = f"""\
models: [gpt-5.4, gpt-5.4:responses, claude-sonnet-4-6, gemini-3-pro]
tools: {TOOLS}
defaults: {{repeat: 2}}
cases:
  - id: weather
    prompt: What is the weather in Beijing?
    expect: {{calls: [get_weather], text: {{contains: [Beijing]}}}}
  - id: hello
    prompt: Say hello.
    expect: {{calls: []}}
  - id: wrong
    prompt: What is the weather in Paris?
    expect: {{calls: [get_time]}}
"""


def crazycall(cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "crazycall", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        env=full_env,
        check=False,
    )


def rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_the_example_passes_on_all_four_protocols_with_mocks_marked(tmp_path: Path) -> None:
    out = tmp_path / "r.jsonl"
    done = crazycall(ROOT, "eval", "examples/eval.yaml", "--offline", "--json", "--out", str(out))
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["total"] == 12 and report["passed"] == 12
    assert sorted(report["model_names"]) == [
        "claude-sonnet-4-6:messages",
        "gemini-3-pro:gemini",
        "gpt-5.4:chat",
        "gpt-5.4:responses",
    ]
    by_case = {(r["case"], r["model"]): r for r in rows(out)}
    mocked = by_case[("weather-then-time", "gpt-5.4:chat")]["calls"]
    assert {c["name"]: c["mocked"] for c in mocked} == {"get_weather": True, "get_time": False}
    assert mocked[0]["result"] == {"temperature": 21, "conditions": "sunny"}
    row = by_case[("weather-beijing", "gemini-3-pro:gemini")]
    records = [json.loads(line) for line in Path(row["transcript"]).read_text().splitlines()]
    assert records[0]["type"] == "run" and records[0]["eval"] == {"case": "weather-beijing", "repeat": 0}
    assert records[-1]["type"] == "end" and records[-1]["outcome"] == "ok"
    assert done.stderr.count("PASS") == 12


def test_failed_assertions_exit_11_with_reasons_junit_and_markdown(tmp_path: Path) -> None:
    (tmp_path / "cases.yaml").write_text(FAILING)
    junit, md = tmp_path / "j.xml", tmp_path / "m.md"
    args = ["eval", "cases.yaml", "--offline", "--no-transcript", "--json", "--junit", str(junit)]
    done = crazycall(tmp_path, *args, "--markdown", str(md))
    assert done.returncode == 11, done.stderr
    assert "Traceback" not in done.stderr
    assert "crazycall: error: eval: 1 of 5 conversations passed" in done.stderr
    report = json.loads(done.stdout)
    message = done.stderr.splitlines()[-1].removeprefix("crazycall: error: ")
    assert report["error"] == {"type": "eval_failed", "message": message, "exit_code": 11}
    reasons = {f["case"]: f["reason"] for f in report["failures"]}
    assert reasons == {
        "wrong-tool": "calls: call 1: expected search_products, got get_weather",
        "wrong-arg": 'calls: call 1: arguments.city: "Beijing" does not match "Peking"',
        "banned": "no_calls: called get_weather; max_turns: 2 turns, at most 1 expected",
        "text": reasons["text"],
    }
    assert reasons["text"].startswith('text.contains: answer lacks "Tokyo"; text.regex: answer does not match /^xyz/;')
    assert "text.schema: answer is not JSON" in reasons["text"]
    xmlschema.XMLSchema(str(XSD)).validate(str(junit))
    xml = junit.read_text()
    assert 'tests="5" failures="4"' in xml and "expected search_products, got get_weather" in xml
    text = md.read_text()
    assert "| case | gpt-5.4:chat |" in text and "| wrong-arg | 0/1 |" in text and "| right | 1/1 |" in text


def test_min_pass_rate_turns_a_partial_pass_into_success(tmp_path: Path) -> None:
    (tmp_path / "cases.yaml").write_text(FAILING)
    base = ["eval", "cases.yaml", "--offline", "--no-transcript"]
    assert crazycall(tmp_path, *base, "--min-pass-rate", "0.2").returncode == 0
    assert crazycall(tmp_path, *base, "--min-pass-rate", "0.3").returncode == 11


def test_a_router_that_is_down_is_reported_per_row(tmp_path: Path) -> None:
    (tmp_path / "cases.yaml").write_text(FAILING)
    args = ["eval", "cases.yaml", "--base-url", "http://127.0.0.1:9", "--api-key", "sk-eval-test-0001"]
    done = crazycall(tmp_path, *args, "--max-retries", "0", "--no-transcript", "--out", "r.jsonl", "--json")
    assert done.returncode == 11, done.stderr
    assert "Traceback" not in done.stderr
    found = rows(tmp_path / "r.jsonl")
    assert len(found) == 5
    assert all(r["error"]["type"] == "transport_error" and not r["passed"] for r in found)
    assert json.loads(done.stdout)["models"]["gpt-5.4:chat"]["errors"] == 5
    assert "sk-eval-test-0001" not in (tmp_path / "r.jsonl").read_text() + done.stdout + done.stderr


def test_a_cases_file_with_errors_names_file_line_and_field(tmp_path: Path) -> None:
    bad = (
        "models: [gpt-5.4]\ncases:\n  - id: a\n    prompt: hi\n    expect:\n      calls:\n        - nme: get_weather\n"
    )
    (tmp_path / "cases.yaml").write_text(bad)
    done = crazycall(tmp_path, "eval", "cases.yaml", "--offline")
    assert done.returncode == 3
    assert done.stderr.strip() == (
        "crazycall: error: cases.yaml:7: cases[0].expect.calls[0].nme: unknown key; expected one of: name, arguments"
    )
    (tmp_path / "cases.jsonl").write_text('{"id": "a", "prompt": "hi"}\n{"id": "b", "prompt": 5}\n')
    done = crazycall(tmp_path, "eval", "cases.jsonl", "--offline", "-m", "gpt-5.4")
    assert done.returncode == 3
    assert done.stderr.startswith("crazycall: error: cases.jsonl:2: cases[1].prompt: must be a non-empty string")


def test_resume_runs_only_the_missing_rows(tmp_path: Path) -> None:
    (tmp_path / "cases.yaml").write_text(MATRIX)
    out = tmp_path / "r.jsonl"
    base = ["eval", "cases.yaml", "--offline", "--no-transcript", "--out", str(out), "--json"]
    first = crazycall(tmp_path, *base)
    assert first.returncode == 11 and len(rows(out)) == 24
    kept = out.read_text().splitlines()[:10]
    out.write_text("\n".join(kept) + '\n{"case": "weather", "mod')  # a run killed mid-write
    again = crazycall(tmp_path, *base, "--resume")
    assert again.returncode == 11
    assert again.stderr.count("] PASS ") + again.stderr.count("] FAIL ") == 14
    assert json.loads(again.stdout)["cells"] == json.loads(first.stdout)["cells"]
    last = crazycall(tmp_path, *base, "--resume")
    assert "] PASS " not in last.stderr and "] FAIL " not in last.stderr
    assert json.loads(last.stdout)["total"] == 24


def _stable(report: dict[str, Any]) -> dict[str, Any]:
    """The report without timings (they differ from run to run)."""
    models = {
        name: {k: v for k, v in summary.items() if "latency" not in k} for name, summary in report["models"].items()
    }
    failures = [{k: v for k, v in f.items() if k != "run_id"} for f in report["failures"]]
    return {**report, "models": models, "failures": failures}


def test_four_shards_merge_into_the_unsharded_report(tmp_path: Path) -> None:
    (tmp_path / "cases.yaml").write_text(MATRIX)
    base = [sys.executable, "-m", "crazycall", "eval", "cases.yaml", "--offline", "--no-transcript"]
    procs = [
        subprocess.Popen([*base, "--shard", f"{i}/4", "--out", f"s{i}.jsonl"], cwd=tmp_path, stdout=subprocess.DEVNULL)
        for i in range(3)
    ]
    env = {**os.environ, "JOB_COMPLETION_INDEX": "3"}  # the fourth as a Kubernetes Indexed Job would run it
    procs.append(
        subprocess.Popen(
            [*base, "--shard", "auto/4", "--out", "s3.jsonl"], cwd=tmp_path, stdout=subprocess.DEVNULL, env=env
        )
    )
    assert all(p.wait(timeout=60) in (0, 11) for p in procs)
    keys = [{(r["case"], r["model"], r["repeat"]) for r in rows(tmp_path / f"s{i}.jsonl")} for i in range(4)]
    assert sum(len(k) for k in keys) == 24 and len(set().union(*keys)) == 24
    assert all(keys)  # every shard got some rows
    whole = crazycall(tmp_path, "eval", "cases.yaml", "--offline", "--no-transcript", "--json")
    files = [f"s{i}.jsonl" for i in range(4)]
    merged = crazycall(tmp_path, "eval", "report", *files, "s0.jsonl", "--json")  # a file given twice counts once
    assert merged.returncode == 11
    assert _stable(json.loads(merged.stdout)) == _stable(json.loads(whole.stdout))


def test_bad_models_and_flags_are_one_line_errors(tmp_path: Path) -> None:
    (tmp_path / "cases.yaml").write_text("models:\n  - gpt-5.4\n  - gpt-5.4:grpc\ncases: [{id: a, prompt: hi}]\n")
    done = crazycall(tmp_path, "eval", "cases.yaml", "--offline")
    assert done.returncode == 3
    assert done.stderr.startswith("crazycall: error: cases.yaml:3: models: 'gpt-5.4:grpc': unknown protocol 'grpc'")
    for args, message in [
        (["-m", "x:grpc"], "--model 'x:grpc': unknown protocol 'grpc'"),
        (["--resume"], "--resume needs --out FILE"),
        (["--shard", "4/4"], "--shard '4/4': expected I/N"),
        (["--concurrency", "0"], "--concurrency must be from 1 to 1024, got 0"),
        (["--case", "nope"], "--case 'nope': no such case; known: a"),
    ]:
        done = crazycall(tmp_path, "eval", "cases.yaml", "--offline", *args)
        assert done.returncode == 2 and len(done.stderr.splitlines()) == 1
        assert done.stderr.startswith(f"crazycall: error: {message}")


def test_resume_after_a_kill_runs_only_what_was_lost(tmp_path: Path) -> None:
    import signal
    import time

    (tmp_path / "slow.py").write_text(
        "import time\n\ndef get_weather(city: str) -> str:\n"
        '    """Weather (slowly)."""\n    time.sleep(0.2)\n    return "sunny"\n'
    )
    (tmp_path / "tools.yaml").write_text("get_weather:\n  function: slow.py:get_weather\n")
    cases = 'models: [gpt-5.4]\ntools: tools.yaml\ncases:\n  - {id: w, prompt: "weather in Paris", repeat: 12}\n'
    (tmp_path / "cases.yaml").write_text(cases)
    out = tmp_path / "r.jsonl"
    cmd = [sys.executable, "-m", "crazycall", "eval", "cases.yaml", "--offline", "--no-transcript", "--out", str(out)]
    proc = subprocess.Popen(
        [*cmd, "--concurrency", "1"], cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and (not out.exists() or out.read_text().count("\n") < 3):
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    kept = len(rows(out))
    assert 3 <= kept < 12
    again = crazycall(tmp_path, *cmd[3:], "--resume", "--concurrency", "4", "--json")
    assert again.returncode == 0, again.stderr
    assert again.stderr.count("] PASS ") == 12 - kept
    assert json.loads(again.stdout)["total"] == 12 and len(rows(out)) == 12
