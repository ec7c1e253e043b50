"""``crazycall chat`` end to end against the offline router: piped stdin (one prompt per line, plain output)
and a real pseudo-terminal (pexpect): answers, tool calls carried across /model and /protocol switches (checked
in the request bodies the transcript keeps), /undo, /retry, /save, /usage, /transcript, did-you-mean, Ctrl-C
mid-tool and on an empty prompt, Ctrl-D, history after a restart, and ``ask --continue`` picking up a chat."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pexpect
import pytest

PY = json.dumps(sys.executable)
TOOLS = f"""\
get_weather:
  description: Weather for a city.
  parameters:
    type: object
    properties:
      city: {{type: string}}
  command: [{PY}, -c, "print('sunny, 21 C')"]
slow_job:
  description: A job that takes very long.
  command: [{PY}, -c, "import os, time; open('pid', 'w').write(str(os.getpid())); time.sleep(60)"]
"""
RUN_TIMEOUT = 60


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "tools.yaml").write_text(TOOLS, encoding="utf-8")
    return tmp_path


def child_env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    env.update(XDG_DATA_HOME=str(home / "data"), XDG_STATE_HOME=str(home / "state"), **extra)
    return env


def chat_piped(cwd: Path, lines: str, *args: str, offline: bool = True) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "crazycall", "chat", *(["--offline"] if offline else []), *args]
    return subprocess.run(
        command, cwd=cwd, input=lines, capture_output=True, text=True, timeout=RUN_TIMEOUT, env=child_env(cwd)
    )


def transcripts(cwd: Path) -> list[Path]:
    return sorted((cwd / "data" / "crazycall" / "transcripts").glob("*.jsonl"))


def records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def requests(path: Path) -> list[dict[str, Any]]:
    return [r for r in records(path) if r["type"] == "request"]


def test_piped_chat_carries_tool_results_across_protocols(project: Path) -> None:
    lines = (
        "What is the weather in Paris?\n/model claude-sonnet-4-6\nThanks, and now?\n"
        "/model gemini-3-pro\nOne more thing?\n/usage\n"
    )
    done = chat_piped(project, lines)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("get_weather returned sunny, 21 C.") == 1
    assert "now claude-sonnet-4-6 via messages" in done.stdout
    assert "now gemini-3-pro via gemini" in done.stdout
    assert "claude-sonnet-4-6: " in done.stdout and "gemini-3-pro: " in done.stdout and "total: " in done.stdout
    assert "Traceback" not in done.stderr
    assert "chat ended: " in done.stderr
    (path,) = transcripts(project)  # one transcript for the whole session
    sent = requests(path)
    assert [r["path"].split("/")[-1].split(":")[0] for r in sent][:2] == ["completions", "completions"]
    messages_body = json.dumps(next(r["body"] for r in sent if r["path"] == "/v1/messages"))
    assert '"tool_result"' in messages_body and "sunny, 21 C" in messages_body  # chat's result, in Anthropic form
    assert '"tool_use"' in messages_body and "What is the weather in Paris?" in messages_body
    gemini_body = json.dumps(next(r["body"] for r in sent if "gemini-3-pro" in r["path"]))
    assert '"functionResponse"' in gemini_body and '"functionCall"' in gemini_body
    assert "Thanks, and now?" in gemini_body


def test_piped_chat_can_be_continued_by_ask(project: Path) -> None:
    done = chat_piped(project, "What is the weather in Paris?\n")
    assert done.returncode == 0, done.stderr
    (path,) = transcripts(project)
    env = child_env(project)
    command = [sys.executable, "-m", "crazycall", "ask", "--offline", "--continue", "--json", "And then?"]
    asked = subprocess.run(command, cwd=project, capture_output=True, text=True, timeout=RUN_TIMEOUT, env=env)
    assert asked.returncode == 0, asked.stderr
    assert f"continuing run {path.stem}" in asked.stderr
    newest = max(transcripts(project), key=lambda p: p.stem)
    body = json.dumps(requests(newest)[0]["body"])
    assert "What is the weather in Paris?" in body and "sunny, 21 C" in body


def test_a_continued_chat_goes_on_with_the_model_it_switched_to(project: Path) -> None:
    done = chat_piped(project, "What is the weather in Paris?\n/model claude-sonnet-4-6\nThanks\n")
    assert done.returncode == 0, done.stderr
    (path,) = transcripts(project)
    env = child_env(project)
    command = [sys.executable, "-m", "crazycall", "ask", "--offline", "--continue", "-o", "plain", "And then?"]
    asked = subprocess.run(command, cwd=project, capture_output=True, text=True, timeout=RUN_TIMEOUT, env=env)
    assert asked.returncode == 0, asked.stderr
    assert f"continuing run {path.stem} (claude-sonnet-4-6, messages)" in asked.stderr


def test_chat_continue_picks_up_an_ask_run(project: Path) -> None:
    command = [sys.executable, "-m", "crazycall", "ask", "--offline", "-o", "plain", "What is the weather in Rome?"]
    env = child_env(project)
    asked = subprocess.run(command, cwd=project, capture_output=True, text=True, timeout=RUN_TIMEOUT, env=env)
    assert asked.returncode == 0, asked.stderr
    done = chat_piped(project, "And tomorrow?\n", "--continue")
    assert done.returncode == 0, done.stderr
    assert "continuing run" in done.stderr
    newest = max(transcripts(project), key=lambda p: p.stem)
    body = json.dumps(requests(newest)[0]["body"])
    assert "What is the weather in Rome?" in body and "And tomorrow?" in body
    assert "(chat)" not in body  # the planner's placeholder never reaches a model


def test_undo_and_retry_change_what_is_sent(project: Path) -> None:
    done = chat_piped(project, "first message\nsecond message\n/undo\nthird message\n/retry\n")
    assert done.returncode == 0, done.stderr
    assert "dropped the last exchange (2 messages)" in done.stderr
    sent = [json.dumps(r["body"]) for p in transcripts(project) for r in requests(p)]
    assert len(sent) == 4
    assert "second message" not in sent[2] and "first message" in sent[2] and "third message" in sent[2]
    assert "third message" in sent[3] and sent[3].count("third message") == 1  # resent in its own place


def test_unknown_command_bad_switch_and_save(project: Path) -> None:
    lines = "/mdoel x\n/protocol nope\nWhat is the weather in Paris?\n/save out.md\n/transcript\n/exit\nnot sent\n"
    done = chat_piped(project, lines)
    assert done.returncode == 0, done.stderr
    assert "crazycall: error: unknown command /mdoel (did you mean /model?); /help lists the commands" in done.stderr
    assert "crazycall: error: unknown protocol 'nope'" in done.stderr
    saved = (project / "out.md").read_text(encoding="utf-8")
    assert "## User\n\nWhat is the weather in Paris?" in saved
    assert "**Tool call** `get_weather`" in saved and "**Tool result** `get_weather`" in saved
    assert "get_weather returned sunny, 21 C." in saved
    (path,) = transcripts(project)
    assert str(path) in done.stdout
    assert len(requests(path)) == 2  # nothing after /exit was sent


def test_piped_chat_exits_with_the_code_of_a_failed_message(project: Path) -> None:
    # nothing listens on port 9: each message fails with one line, the session goes on to the next
    args = ("--base-url", "http://127.0.0.1:9", "--api-key", "k", "--max-retries", "0")
    done = chat_piped(project, "hello\n/usage\nhello again\n", *args, offline=False)
    assert done.returncode == 5, done.stderr
    assert done.stderr.count("crazycall: error: ") == 2 and "Traceback" not in done.stderr
    assert "gpt-5.4: 0 in / 0 out" in done.stdout
    (path,) = transcripts(project)
    assert not [r for r in records(path) if r["type"] == "message"]  # no unanswered user message is kept


# ---- a real terminal ----


def spawn(cwd: Path, *args: str) -> pexpect.spawn:
    return pexpect.spawn(
        sys.executable,
        ["-m", "crazycall", "chat", "--offline", *args],
        cwd=str(cwd),
        env=child_env(cwd, TERM="xterm-256color", NO_COLOR="1", PROMPT_TOOLKIT_NO_CPR="1"),
        dimensions=(30, 120),
        encoding="utf-8",
        codec_errors="replace",
        timeout=RUN_TIMEOUT,
    )


def ready(child: pexpect.spawn) -> None:
    """The prompt is drawn and reading keys: prompt_toolkit shows the cursor once it has drawn the prompt in
    raw mode (keys sent before that could reach a terminal still in cooked mode)."""
    child.expect_exact("you>")
    child.expect_exact("\x1b[?25h")


def wait_for_pid(path: Path) -> int:
    for _ in range(200):
        if path.exists() and path.read_text():
            return int(path.read_text())
        time.sleep(0.05)
    raise AssertionError(f"{path} never written")


def gone(pid: int) -> bool:
    """Whether the process has ended (polled for a few seconds: the kill is asynchronous)."""
    for _ in range(100):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


def leave(child: pexpect.spawn) -> str:
    """Ctrl-D at the prompt. Sent again if the first one was lost: a key pressed in the instant prompt_toolkit
    switches the terminal to raw mode can be swallowed (what is tested is that Ctrl-D leaves, not that race)."""
    for _ in range(5):
        child.sendcontrol("d")
        if child.expect_exact(["chat ended: ", pexpect.TIMEOUT], timeout=3) == 0:
            break
    else:
        raise AssertionError(f"Ctrl-D did not leave: {child.before!r}")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before
    return str(child.before)


def test_terminal_session_answers_switches_and_leaves(project: Path) -> None:
    child = spawn(project)
    ready(child)
    child.sendline("What is the weather in Paris?")
    child.expect_exact("get_weather returned sunny, 21 C.")
    ready(child)
    child.sendline("/protocol responses")
    child.expect_exact("now gpt-5.4 via responses")
    ready(child)
    child.sendline("/usage")
    child.expect_exact("total: ")
    ready(child)
    child.sendline("/exit")
    child.expect_exact("chat ended: 2 turns, 1 tool call,")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def test_ctrl_c_stops_a_running_tool_and_the_session_goes_on(project: Path) -> None:
    child = spawn(project)
    ready(child)
    child.sendcontrol("c")  # on an empty prompt: how to leave
    child.expect_exact("Ctrl-D or /exit leaves")
    ready(child)
    child.sendline("Run the slow job")
    child.expect_exact("slow_job")
    child.expect_exact("running")
    pid = wait_for_pid(project / "pid")
    child.sendcontrol("c")
    child.expect_exact("turn interrupted")
    assert gone(pid), "the command tool was not killed"
    ready(child)
    child.sendline("What is the weather in Paris?")
    child.expect_exact("get_weather returned sunny, 21 C.")
    ready(child)
    leave(child)
    (path,) = transcripts(project)
    recs = records(path)
    assert any(r["type"] == "end" and r["outcome"] == "interrupted" for r in recs)
    sent = json.dumps(requests(path)[-1]["body"])
    assert "interrupted this call" in sent  # the cut call got a result: the next request is valid everywhere


def test_history_is_recalled_after_a_restart(project: Path) -> None:
    child = spawn(project, "--no-transcript")
    ready(child)
    child.sendline("remember this line")
    child.expect_exact("remember this line")
    ready(child)
    leave(child)
    child = spawn(project, "--no-transcript")
    ready(child)
    child.send("\x1b[A")  # up
    child.send("\r")
    child.expect_exact('you said "remember this line"')
    ready(child)
    leave(child)
    assert (project / "state" / "crazycall" / "chat_history").exists()


def test_an_approval_is_answered_inline(project: Path) -> None:
    tools = TOOLS + (
        "wipe_disk:\n  description: Wipe the disk (a marker file).\n"
        f"  command: [{PY}, -c, \"open('wiped', 'a').write('x'); print('disk wiped')\"]\n  confirm: true\n"
    )
    (project / "tools.yaml").write_text(tools, encoding="utf-8")
    child = spawn(project, "--no-transcript")
    ready(child)
    child.sendline("Please wipe the disk")
    child.expect_exact("Tool wipe_disk needs your approval.")
    child.expect_exact("(default): ")
    child.sendline("y")
    child.expect_exact("wipe_disk returned disk wiped.")
    ready(child)
    leave(child)
    assert (project / "wiped").read_text() == "x"


def test_switching_protocol_says_what_provider_data_is_dropped(project: Path) -> None:
    done = chat_piped(
        project, "think about the weather in Paris\n/model gemini-3-pro\nand now?\n", "-m", "claude-sonnet-4-6"
    )
    assert done.returncode == 0, done.stderr
    assert "crazycall: note: dropped provider-only data from messages (not understood by gemini)" in done.stderr
    assert done.stderr.count("crazycall: error") == 0


def test_help_does_not_import_the_line_editor(project: Path) -> None:
    command = [sys.executable, "-X", "importtime", "-m", "crazycall", "chat", "--help"]
    done = subprocess.run(command, cwd=project, capture_output=True, text=True, timeout=RUN_TIMEOUT)
    assert done.returncode == 0
    assert "--continue" in done.stdout and "--tools" in done.stdout and "--approve" in done.stdout
    assert "prompt_toolkit" not in done.stderr


class _SlowStream:
    """A Chat Completions server on 127.0.0.1:0 whose first answer streams a few words and then stalls; later
    answers are whole."""

    def __init__(self) -> None:
        import http.server
        import threading

        self.release = threading.Event()
        self.requests = 0
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("content-length", "0")))
                owner.requests += 1
                first = owner.requests == 1
                self.send_response(200)
                self.send_header("content-type", "text/event-stream")
                self.end_headers()
                self.chunk({"content": "partial words" if first else "second answer"}, None)
                if first:
                    owner.release.wait(30)
                    return
                self.chunk({}, "stop")
                self.wfile.write(b"data: [DONE]\n\n")

            def chunk(self, delta: dict[str, Any], finish: str | None) -> None:
                choice = {"index": 0, "delta": delta, "finish_reason": finish}
                body = {"id": "c1", "object": "chat.completion.chunk", "model": "gpt-5.4", "choices": [choice]}
                self.wfile.write(f"data: {json.dumps(body)}\n\n".encode())
                self.wfile.flush()

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def test_ctrl_c_mid_stream_keeps_what_arrived(project: Path) -> None:
    server = _SlowStream()
    try:
        child = pexpect.spawn(
            sys.executable,
            ["-m", "crazycall", "chat", "--base-url", server.url, "--api-key", "k", "--no-reasoning"],
            cwd=str(project),
            env=child_env(project, TERM="xterm-256color", NO_COLOR="1", PROMPT_TOOLKIT_NO_CPR="1"),
            dimensions=(30, 120),
            encoding="utf-8",
            codec_errors="replace",
            timeout=RUN_TIMEOUT,
        )
        ready(child)
        child.sendline("Say something long")
        child.expect_exact("partial words")
        child.sendcontrol("c")
        child.expect_exact("turn interrupted")
        ready(child)
        child.sendline("Go on")
        child.expect_exact("second answer")
        ready(child)
        leave(child)
    finally:
        server.close()
    (path,) = transcripts(project)
    assert any(r["type"] == "end" and r["outcome"] == "interrupted" for r in records(path))
    second = json.dumps(requests(path)[-1]["body"])
    assert "Say something long" in second and "partial words" in second and "Go on" in second


def test_esc_enter_inserts_a_newline_and_tab_completes_a_command(project: Path) -> None:
    child = spawn(project)
    ready(child)
    child.send("/usa\t")
    child.expect_exact("/usage")
    child.send("\r")
    child.expect_exact("no tokens used yet")
    ready(child)
    child.send("line one\x1b\rline two\r")
    child.expect_exact("Offline router: you said")
    ready(child)
    leave(child)
    (path,) = transcripts(project)
    assert "line one\nline two" in json.dumps(requests(path)[0]["body"], ensure_ascii=False).replace("\\n", "\n")
