"""Transcripts through the real CLI: where they go, what they hold, when they are written, logs, resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from crazycall.offline.faults import Fault
from crazycall.offline.server import OfflineRouter
from tests.integration.conftest import CHAINED, FAST_503, KEY, REPO, WEATHER, Outcome, ask, invoke


def folder(home: Path) -> Path:
    return home / "data" / "crazycall" / "transcripts"


def records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def has_record(path: Path, kind: str) -> bool:
    """A whole record of type ``kind`` is in the transcript (the assistant's message before a tool_call record
    names "tool_call" too, as a part type: matching text would fire one record early)."""
    if not path.exists():
        return False
    lines = path.read_text(encoding="utf-8").split("\n")[:-1]  # the last piece may be a line still being written
    return any(json.loads(line)["type"] == kind for line in lines)


def only_transcript(home: Path) -> Path:
    files = sorted(folder(home).glob("*.jsonl"))
    assert len(files) == 1, files
    return files[0]


def kinds(recs: list[dict[str, Any]]) -> list[str]:
    """Record types with runs of stream events folded into one ``event*``."""
    out: list[str] = []
    for r in recs:
        kind = "event*" if r["type"] == "event" else r["type"]
        if not (out and kind == "event*" and out[-1] == "event*"):
            out.append(kind)
    return out


# ---------------------------------------------------------------- where and what


def test_each_run_writes_its_own_transcript_in_the_data_folder(router: OfflineRouter, clean_env: Path) -> None:
    assert ask(router, "chat", WEATHER).code == 0
    assert ask(router, "messages", WEATHER).code == 0
    files = sorted(folder(clean_env).glob("*.jsonl"))
    assert len(files) == 2
    first, second = (records(f)[0] for f in files)
    assert (first["protocol"], second["protocol"]) == ("chat", "messages")  # run ids sort by start time
    assert files[0].stem == first["id"] and files[1].stem == second["id"]


def test_a_streamed_run_records_every_step_in_order(router: OfflineRouter, clean_env: Path) -> None:
    outcome = ask(router, "chat", WEATHER)
    assert outcome.code == 0
    recs = records(only_transcript(clean_env))
    assert kinds(recs) == [
        "run",
        "turn",
        "request",
        "response",
        "event*",
        "message",
        "tool_call",
        "tool_result",
        "message",
        "turn",
        "request",
        "response",
        "event*",
        "message",
        "end",
    ]
    sent = [r["body"] for r in recs if r["type"] == "request"]
    assert sent == [r.body for r in router.requests]  # every request body, exactly as sent
    events = [r for r in recs if r["type"] == "event"]
    assert events[-1]["data"] == "[DONE]" and events[-1]["turn"] == 2
    run = recs[0]
    assert run["model"] == "gpt-4o" and run["protocol"] == "chat" and run["endpoint"] == "/v1/chat/completions"
    assert run["conversation"]["messages"][0]["parts"][0]["text"] == WEATHER
    call = next(r for r in recs if r["type"] == "tool_call")
    result = next(r for r in recs if r["type"] == "tool_result")
    assert (call["name"], json.loads(call["arguments"])) == ("get_weather", {"city": "Paris", "unit": "celsius"})
    assert result["is_error"] is False and json.loads(result["content"])["city"] == "Paris"
    end = recs[-1]
    assert (end["outcome"], end["turns"], end["text"]) == ("ok", 2, outcome.data["text"])


def test_a_non_streamed_response_body_is_recorded_raw(router: OfflineRouter, clean_env: Path) -> None:
    assert ask(router, "gemini", WEATHER, stream=False).code == 0
    responses = [r for r in records(only_transcript(clean_env)) if r["type"] == "response"]
    assert [r["status"] for r in responses] == [200, 200]
    first = json.loads(responses[0]["body"])
    assert "functionCall" in first["candidates"][0]["content"]["parts"][0]


def test_the_key_is_masked_in_the_settings_and_nowhere_in_the_file(router: OfflineRouter, clean_env: Path) -> None:
    assert ask(router, "gemini", WEATHER).code == 0
    path = only_transcript(clean_env)
    assert records(path)[0]["settings"]["api_key"] == "sk-***"
    assert KEY not in path.read_text(encoding="utf-8")
    assert router.requests[0].query["key"] == KEY  # it was sent, in the URL, and still never written


def test_transcript_flag_and_no_transcript(router: OfflineRouter, clean_env: Path, tmp_path: Path) -> None:
    target = tmp_path / "runs" / "mine.jsonl"
    assert ask(router, "responses", "--transcript", str(target), WEATHER).code == 0
    assert records(target)[-1]["outcome"] == "ok"
    assert ask(router, "responses", "--no-transcript", WEATHER).code == 0
    assert not folder(clean_env).exists()


def test_an_unwritable_transcript_path_is_a_usage_error(router: OfflineRouter, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    outcome = ask(router, "chat", "--transcript", str(blocker / "t.jsonl"), WEATHER)
    assert outcome.code == 2
    assert outcome.data["error"]["message"].startswith(f"cannot write the transcript {blocker / 't.jsonl'}: ")
    assert len(router.requests) == 0  # nothing was sent without a record


def test_a_failed_run_records_attempts_retries_and_the_error(router: OfflineRouter, clean_env: Path) -> None:
    router.script(FAST_503, FAST_503, FAST_503)
    outcome = ask(router, "messages", WEATHER)
    assert outcome.code == 4
    recs = records(only_transcript(clean_env))
    assert [r["status"] for r in recs if r["type"] == "response"] == [503, 503, 503]
    assert [r["attempt"] for r in recs if r["type"] == "request"] == [1, 2, 3]
    assert [r["wait"] for r in recs if r["type"] == "retry"] == [0.0, 0.0]
    error = next(r for r in recs if r["type"] == "error")
    assert error["error_type"] == "server_error" and error["exit_code"] == 4
    assert error["message"] == outcome.data["error"]["message"]
    assert recs[-1]["type"] == "end" and recs[-1]["outcome"] == "server_error"


def test_a_cut_stream_keeps_every_event_received(router: OfflineRouter, clean_env: Path) -> None:
    router.script("cut")
    outcome = ask(router, "messages", "What are the weather in Paris and the time in Europe/Paris?")
    assert outcome.code == 5
    recs = records(only_transcript(clean_env))
    events = [json.loads(r["data"]) for r in recs if r["type"] == "event"]
    assert events[0]["type"] == "message_start"
    assert events[-1]["delta"]["type"] == "input_json_delta"  # received up to the cut, mid-arguments
    assert recs[-1]["outcome"] == "transport_error"
    assert recs[-1]["text"] == "Calling get_weather and get_time."


PEEK = '''
import json
import crazycall

@crazycall.tool
def peek() -> list:
    """The record types already in the transcript while this tool runs."""
    with open({path!r}, encoding="utf-8") as f:
        return [json.loads(line)["type"] for line in f]
'''


def test_records_are_flushed_before_the_next_step(
    router: OfflineRouter, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    target = tmp_path / "live.jsonl"
    (tmp_path / "peek.py").write_text(PEEK.format(path=str(target)), encoding="utf-8")
    base = ["ask", "--base-url", router.url, "--api-key", KEY, "--plugins", "peek.py", "--json"]
    outcome = invoke(*base, "--transcript", str(target), "Please peek")
    assert outcome.code == 0, outcome.stderr
    seen = outcome.data["tool_calls"][0]["result"]
    # While the tool ran, the answer that asked for it and the call itself were already on disk.
    assert seen[:4] == ["run", "turn", "request", "response"]
    assert seen[-2:] == ["message", "tool_call"]
    assert "event" in seen


def test_ctrl_c_mid_run_is_recorded(router: OfflineRouter, tmp_path: Path) -> None:
    (tmp_path / "slow.py").write_text(
        "import time\nimport crazycall\n\n@crazycall.tool\ndef slumber() -> str:\n"
        '    """Sleeps."""\n    time.sleep(20)\n    return "late"\n',
        encoding="utf-8",
    )
    target = tmp_path / "t.jsonl"
    args = [sys.executable, "-m", "crazycall", "ask", "--base-url", router.url, "--api-key", KEY]
    args += ["--plugins", "slow.py", "--transcript", str(target), "--no-color", "Please slumber"]
    env = {**os.environ, "NO_COLOR": "1"}
    proc = subprocess.Popen(args, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not has_record(target, "tool_call"):
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err
    recs = records(target)
    assert [r["type"] for r in recs][-2:] == ["error", "end"]
    assert recs[-1]["outcome"] == "interrupted"
    assert any(r["type"] == "tool_call" and r["name"] == "slumber" for r in recs)


# ---------------------------------------------------------------- crazycall logs


def test_logs_lists_recent_runs(router: OfflineRouter, clean_env: Path) -> None:
    assert ask(router, "chat", CHAINED).code == 0
    router.script(FAST_503, FAST_503, FAST_503)
    assert ask(router, "gemini", WEATHER).code == 4
    listed = invoke("logs", "--json")
    assert listed.code == 0
    rows = json.loads(listed.stdout)
    assert [(r["model"], r["protocol"], r["turns"], r["outcome"]) for r in rows] == [
        ("gemini-3-pro", "gemini", 1, "server_error"),
        ("gpt-4o", "chat", 3, "ok"),
    ]
    assert all(r["time"].endswith("Z") and Path(r["path"]).stem == r["id"] for r in rows)
    table = invoke("logs", env={"COLUMNS": "200"}).stdout.splitlines()  # wide enough for every column
    assert table[0].split() == ["ID", "TIME", "MODEL", "PROTOCOL", "TURNS", "OUTCOME", "PROMPT"]
    assert table[1].split()[2:6] == ["gemini-3-pro", "gemini", "1", "server_error"]
    assert table[2].split()[0] == rows[1]["id"]
    assert invoke("logs", "-n", "1", "--json").stdout.count('"id"') == 1


def test_logs_with_no_runs(clean_env: Path) -> None:
    outcome = invoke("logs", "--json")
    assert (outcome.code, json.loads(outcome.stdout)) == (0, [])
    assert "no runs recorded yet" in invoke("logs").stderr


def test_logs_show_renders_one_run(router: OfflineRouter, clean_env: Path) -> None:
    assert ask(router, "messages", WEATHER).code == 0
    run_id = only_transcript(clean_env).stem
    shown = invoke("logs", "show", run_id[:22])  # a unique prefix is enough
    assert shown.code == 0
    lines = shown.stdout.splitlines()
    assert lines[0].startswith(f"run {run_id}  ") and lines[0].endswith("claude-sonnet-4-6 via messages")
    assert lines[1] == f"user: {WEATHER}"
    assert "  -> POST /v1/messages (attempt 1, stream)" in lines
    assert "  <- HTTP 200, request id req_1" in lines
    assert any(line.startswith("  tool get_weather ok: ") for line in lines)
    assert lines[-1].startswith("end: ok, 2 turns, ")
    as_json = json.loads(invoke("logs", "show", run_id, "--json").stdout)
    assert as_json["run"]["outcome"] == "ok"
    assert as_json["records"] == records(only_transcript(clean_env))


def test_logs_show_unknown_id_is_a_usage_error(clean_env: Path) -> None:
    outcome = invoke("logs", "show", "19990101")
    assert outcome.code == 2
    assert outcome.stderr.startswith("crazycall: error: no transcript with run id '19990101' in ")


def test_logs_tolerates_a_torn_last_line(router: OfflineRouter, clean_env: Path) -> None:
    assert ask(router, "chat", WEATHER).code == 0
    path = only_transcript(clean_env)
    text = path.read_text(encoding="utf-8")
    end = text.rstrip("\n").rsplit("\n", 1)[0]  # drop the end record, as if killed while writing it
    path.write_text(end + '\n{"type": "even', encoding="utf-8")
    rows = json.loads(invoke("logs", "--json").stdout)
    assert (rows[0]["outcome"], rows[0]["turns"]) == ("incomplete", 2)


# ---------------------------------------------------------------- --continue and --resume


def test_continue_on_another_protocol(router: OfflineRouter, clean_env: Path) -> None:
    first = ask(router, "responses", WEATHER)  # gpt-5.4 on /v1/responses: reasoning items in provider_data
    assert first.code == 0
    before = len(router.requests)
    outcome = ask(router, "messages", "--continue", "And the time in Asia/Tokyo?")
    assert outcome.code == 0, outcome.stderr
    assert "crazycall: note: dropped provider-only data from responses" in outcome.stderr
    assert outcome.data["protocol"] == "messages"
    body = router.requests[before].body
    assert [m["role"] for m in body["messages"]] == ["user", "assistant", "user", "assistant", "user"]
    assert body["messages"][0]["content"] == WEATHER
    assert body["messages"][1]["content"][-1]["type"] == "tool_use"
    assert body["messages"][2]["content"][0]["type"] == "tool_result"
    assert body["messages"][-1]["content"] == "And the time in Asia/Tokyo?"
    assert "reasoning" not in json.dumps(body)
    assert outcome.data["tool_calls"][0]["name"] == "get_time"
    newest = sorted(folder(clean_env).glob("*.jsonl"))[-1]
    run = records(newest)[0]
    assert run["resumed_from"] == sorted(folder(clean_env).glob("*.jsonl"))[0].stem
    assert len(run["conversation"]["messages"]) == 5


def test_resume_by_id_on_the_same_protocol_keeps_provider_data(router: OfflineRouter, clean_env: Path) -> None:
    assert ask(router, "responses", WEATHER).code == 0
    run_id = only_transcript(clean_env).stem
    assert ask(router, "chat", CHAINED).code == 0  # a later run: --resume must pick the one named
    before = len(router.requests)
    outcome = ask(router, "responses", "--resume", run_id, "Thanks. And the weather in Rome?")
    assert outcome.code == 0, outcome.stderr
    assert "dropped provider-only data" not in outcome.stderr
    items = router.requests[before].body["input"]
    reasoning = [i for i in items if i.get("type") == "reasoning"]
    assert len(reasoning) == 1 and reasoning[0]["encrypted_content"]  # echoed as received (§2.3)
    assert outcome.data["tool_calls"][0]["arguments"]["city"] == "Rome"


def test_resume_keeps_the_model_and_protocol_unless_told(router: OfflineRouter, clean_env: Path) -> None:
    assert ask(router, "gemini", WEATHER).code == 0
    base = ["ask", "--base-url", router.url, "--api-key", KEY, "-t", str(REPO / "tools.yaml")]
    base += ["--plugins", str(REPO / "plugins"), "--json", "--continue"]
    outcome = invoke(*base, "And in Oslo?")
    assert outcome.code == 0, outcome.stderr
    assert (outcome.data["model"], outcome.data["protocol"]) == ("gemini-3-pro", "gemini")
    contents = router.requests[-2].body["contents"]
    assert "thoughtSignature" in contents[1]["parts"][0]  # the earlier signature went back where it came from


def test_resume_after_a_run_stopped_with_calls_pending(router: OfflineRouter, clean_env: Path) -> None:
    assert ask(router, "chat", "--max-turns", "1", WEATHER).code == 7  # the call was never answered
    outcome = ask(router, "chat", "--continue", "Never mind. What is the time in Europe/Paris?")
    assert outcome.code == 0, outcome.stderr  # the router would refuse unanswered calls (§1.3)
    messages = router.requests[-2].body["messages"]
    assert [m["role"] for m in messages] == ["user", "user"]  # the unanswered assistant turn was left out
    assert messages[0]["content"] == WEATHER


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--continue"], "no earlier run to continue: "),
        (["--resume", "2001"], "no transcript with run id '2001' in "),
        (["--continue", "--resume", "x"], "--continue and --resume cannot be used together"),
    ],
)
def test_resume_usage_errors(router: OfflineRouter, clean_env: Path, args: list[str], message: str) -> None:
    outcome: Outcome = ask(router, "chat", *args, "hello")
    assert outcome.code == 2
    assert outcome.data["error"]["message"].startswith(message)


def test_resume_from_a_transcript_file(router: OfflineRouter, tmp_path: Path) -> None:
    target = tmp_path / "keep.jsonl"
    assert ask(router, "messages", "--transcript", str(target), WEATHER).code == 0
    outcome = ask(router, "messages", "--resume", str(target), "--no-transcript", "And the weather in Lima?")
    assert outcome.code == 0, outcome.stderr
    assert len(router.requests[-2].body["messages"]) == 5


def test_what_arrived_is_on_disk_and_on_stdout_while_the_stream_stalls(router: OfflineRouter, tmp_path: Path) -> None:
    # Stream events and plain text are buffered within one network read, and flushed before the next read:
    # while the router holds back the rest of the answer, what came before it must already be out.
    router.script(Fault(event_delay=0.6, text_only=True))
    target = tmp_path / "t.jsonl"
    args = [sys.executable, "-m", "crazycall", "ask", "--base-url", router.url, "--api-key", KEY, "-m", "gpt-4o"]
    args += ["-o", "plain", "--transcript", str(target), "Say hello"]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}  # buffered, as for any user
    shown, seen_mid_stream = b"", False
    with subprocess.Popen(args, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL) as proc:
        assert proc.stdout is not None
        os.set_blocking(proc.stdout.fileno(), False)
        try:
            deadline = time.monotonic() + 30
            while proc.poll() is None and time.monotonic() < deadline:
                shown += proc.stdout.read() or b""
                written = target.read_text(encoding="utf-8") if target.exists() else ""
                # mid-stream: the answer's message is not recorded yet, and its closing newline not printed
                if '"type": "message"' in written or shown.endswith(b"\n"):
                    break
                if shown.strip() and written.count('"type": "event"') >= 2:
                    seen_mid_stream = True
                    break
                time.sleep(0.05)
            proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert seen_mid_stream, (shown, target.read_text(encoding="utf-8") if target.exists() else None)
    assert proc.returncode == 0
    assert records(target)[-1]["outcome"] == "ok"
