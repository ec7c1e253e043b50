"""What a hostile router (or tool) sends, through the real CLI: bombs, huge lines, deep JSON, bad Unicode, a full
disk, an unreachable host. Every case ends in one line and the documented exit code, or in a run that goes on."""

from __future__ import annotations

import gzip
import json
import os
import resource
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from crazycall.offline.faults import CallFault, Fault
from crazycall.offline.server import OfflineRouter
from tests.integration.conftest import KEY, REPO, WEATHER, Canned, HostileServer, ask, assert_clean_failure, invoke

MIB = 1024 * 1024
CHAT_PATH = "/v1/chat/completions"


def chat_args(url: str, *extra: str, stream: bool = False) -> list[str]:
    args = ["ask", "--base-url", url, "--api-key", KEY, "-m", "gpt-4o", "-p", "chat", "--json"]
    return [*args, "--stream" if stream else "--no-stream", *extra, WEATHER]


def write_config(tmp_path: Path, **limits: int) -> dict[str, str]:
    path = tmp_path / "config.yaml"
    path.write_text("".join(f"{k}: {v}\n" for k, v in limits.items()), encoding="utf-8")
    return {"CRAZYCALL_CONFIG": str(path)}


def completion(text: str) -> bytes:
    message = {"role": "assistant", "content": text}
    choice = {"index": 0, "message": message, "finish_reason": "stop"}
    usage = {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}
    return json.dumps({"id": "c1", "object": "chat.completion", "choices": [choice], "usage": usage}).encode()


def sse(*datas: str) -> bytes:
    return "".join(f"data: {d}\n\n" for d in datas).encode()


STREAM_HEADERS = {"content-type": "text/event-stream"}


# ---------------------------------------------------------------- size limits, small (set in the config file)


def test_a_body_past_max_response_bytes_is_exit_6_and_not_retried(tmp_path: Path) -> None:
    with HostileServer(Canned(completion("x" * 5000))) as server:
        outcome = invoke(*chat_args(server.url, "--no-transcript"), env=write_config(tmp_path, max_response_bytes=1000))
    message = assert_clean_failure(outcome, 6)
    assert message.startswith(f"chat {CHAT_PATH}: the response body exceeds the 1000 bytes limit")
    assert "max_response_bytes" in message
    assert server.requests == 1


def test_a_body_too_large_ends_jsonl_output_with_an_error_event(tmp_path: Path) -> None:
    with HostileServer(Canned(completion("x" * 5000))) as server:
        args = [a for a in chat_args(server.url, "--no-transcript") if a != "--json"]
        outcome = invoke(*args[:-1], "-o", "jsonl", args[-1], env=write_config(tmp_path, max_response_bytes=1000))
    assert outcome.code == 6, outcome.stderr
    last = json.loads(outcome.stdout.splitlines()[-1])
    assert last["event"] == "error" and last["exit_code"] == 6 and "max_response_bytes" in last["message"]


def test_an_error_body_past_max_error_bytes_is_exit_6_and_not_retried(tmp_path: Path) -> None:
    canned = Canned(b'{"error": {"message": "' + b"e" * 3000 + b'"}}', status=503)
    with HostileServer(canned) as server:
        outcome = invoke(*chat_args(server.url, "--no-transcript"), env=write_config(tmp_path, max_error_bytes=500))
    message = assert_clean_failure(outcome, 6)
    assert "the HTTP 503 body exceeds the 500 bytes limit" in message and "max_error_bytes" in message
    assert server.requests == 1  # a 503 is retried; a 503 too large to read is not


@pytest.mark.parametrize("chunks", [1, 50])
def test_one_sse_event_past_max_event_bytes_is_exit_6(tmp_path: Path, chunks: int) -> None:
    # one long line, or one event of many short lines (never a blank line to end it)
    body = ("data: " + "x" * 5000 + "\n\n").encode() if chunks == 1 else ("data: " + "x" * 100 + "\n").encode() * 50
    with HostileServer(Canned(body, headers=STREAM_HEADERS)) as server:
        args = chat_args(server.url, "--no-transcript", stream=True)
        outcome = invoke(*args, env=write_config(tmp_path, max_event_bytes=1000))
    message = assert_clean_failure(outcome, 6)
    assert "one stream event exceeds the 1000 bytes limit (max_event_bytes in the config file); not retried" in message
    assert server.requests == 1


def test_a_stream_of_small_events_past_max_stream_bytes_is_exit_6(tmp_path: Path) -> None:
    delta = json.dumps({"id": "c1", "choices": [{"index": 0, "delta": {"content": "z" * 50}}]})
    body = gzip.compress(sse(*[delta] * 2000))  # each event is small; together about 180 KB
    headers = {"content-type": "text/event-stream", "content-encoding": "gzip"}
    target = tmp_path / "t.jsonl"
    with HostileServer(Canned(body, headers=headers)) as server:
        args = chat_args(server.url, "--transcript", str(target), stream=True)
        outcome = invoke(*args, env=write_config(tmp_path, max_stream_bytes=20_000))
    message = assert_clean_failure(outcome, 6)
    assert "the stream exceeds the 20000 bytes limit" in message and "(max_stream_bytes in the config file)" in message
    assert target.stat().st_size < 100_000
    assert server.requests == 1


def test_a_long_record_is_cut_in_the_transcript_with_a_marker(tmp_path: Path) -> None:
    target = tmp_path / "t.jsonl"
    with HostileServer(Canned(completion("y" * 20_000))) as server:
        args = chat_args(server.url, "--transcript", str(target))
        outcome = invoke(*args, env=write_config(tmp_path, max_transcript_record_bytes=4000))
    assert outcome.code == 0, outcome.stderr
    assert outcome.data["text"] == "y" * 20_000  # only the transcript is cut, never the answer
    lines = target.read_text(encoding="utf-8").splitlines()
    assert all(len(line) <= 4000 for line in lines)
    records = [json.loads(line) for line in lines]
    response = next(r for r in records if r["type"] == "response")
    assert "...[cut: " in json.dumps(response) and " more characters]" in json.dumps(response)
    assert [r["type"] for r in records][-1] == "end"


@pytest.mark.parametrize("encoding", ["gzip", "br"])
def test_a_body_that_does_not_decode_is_exit_6(encoding: str) -> None:
    headers = {"content-type": "application/json", "content-encoding": encoding}
    with HostileServer(Canned(b"\x1f\x8b not really gzip", headers=headers)) as server:
        outcome = invoke(*chat_args(server.url, "--no-transcript"))
    message = assert_clean_failure(outcome, 6)
    expected = "content-encoding gzip: corrupt data" if encoding == "gzip" else "unsupported content-encoding 'br'"
    assert expected in message and "config file" not in message
    assert server.requests == 1


def test_a_bad_limit_in_the_config_file_is_exit_3(tmp_path: Path) -> None:
    outcome = invoke(*chat_args("http://127.0.0.1:9"), env=write_config(tmp_path, max_event_bytes=0))
    message = assert_clean_failure(outcome, 3)
    assert "config.yaml:1: setting 'max_event_bytes' must be >= 1" in message


# ---------------------------------------------------------------- bombs, with the real defaults

BOMB_RUNNER = """
import resource, subprocess, sys
done = subprocess.run(sys.argv[1:], capture_output=True)
sys.stdout.buffer.write(done.stdout)
sys.stderr.buffer.write(done.stderr)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)
sys.exit(done.returncode)
"""


@pytest.fixture(scope="module")
def bomb() -> bytes:
    """About 64 KiB of gzip that inflates to 64 MiB: twice the default body limit."""
    return gzip.compress(b" " * (64 * MIB), compresslevel=9)


@pytest.mark.parametrize(("status", "stream"), [(200, False), (500, False), (200, True)])
def test_a_gzip_bomb_is_exit_6_at_once_with_bounded_memory(
    tmp_path: Path, bomb: bytes, status: int, stream: bool
) -> None:
    body = gzip.compress(b"data: " + b"a" * (64 * MIB), compresslevel=9) if stream else bomb
    ctype = "text/event-stream" if stream else "application/json"
    target = tmp_path / "t.jsonl"
    with HostileServer(Canned(body, status, {"content-type": ctype, "content-encoding": "gzip"})) as server:
        args = [sys.executable, "-m", "crazycall", *chat_args(server.url, "--transcript", str(target), stream=stream)]
        done = subprocess.run(
            [sys.executable, "-c", BOMB_RUNNER, *args], capture_output=True, text=True, timeout=60, env=os.environ
        )
    *lines, peak_kib = done.stderr.splitlines()
    assert done.returncode == 6, done.stderr
    assert [line for line in lines if "Traceback" in line] == []
    assert len(lines) == 1 and lines[0].startswith("crazycall: error: chat /v1/chat/completions: ")
    assert json.loads(done.stdout)["error"]["exit_code"] == 6
    assert server.requests == 1  # too large is never retried, not even on a 500
    assert int(peak_kib) < 100 * 1024  # maxrss is in KiB on Linux: the 64 MiB were never held
    assert target.stat().st_size < 2 * MIB


# ---------------------------------------------------------------- deep JSON

PROTOCOLS = ["chat", "responses", "messages", "gemini"]
DEEP = '{"a":' * 10_000 + "1" + "}" * 10_000


@pytest.mark.parametrize("where", ["body", "error body"])
@pytest.mark.parametrize("stream", [True, False])
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_deep_json_from_the_router_is_exit_6(router: OfflineRouter, protocol: str, stream: bool, where: str) -> None:
    if where == "error body":
        fault = Fault(status=400, body=DEEP)
    else:  # a stream's event, or the whole non-streamed body
        fault = Fault(body=f"data: {DEEP}\n\n" if stream else DEEP)
    router.script(fault)
    outcome = ask(router, protocol, WEATHER, stream=stream)
    message = assert_clean_failure(outcome, 6)
    assert message.startswith(protocol)
    if where == "error body":
        assert message.endswith("HTTP 400: error body is JSON nested too deeply to read; not retried")
    else:
        assert "nested too deeply" in message or "not JSON" in message
    assert len(router.requests) == 1


@pytest.mark.parametrize("stream", [True, False])
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_deep_arguments_are_an_error_result_and_the_run_goes_on(
    router: OfflineRouter, protocol: str, stream: bool, tmp_path: Path
) -> None:
    # 900 levels: the router can still parse them (so Anthropic and Gemini get an object); the transcript and
    # the secret masking must not overflow on them either
    deep = '{"a":' * 900 + "1" + "}" * 900
    router.script(Fault(calls=CallFault(arguments=deep)))
    target = tmp_path / "t.jsonl"
    outcome = ask(router, protocol, WEATHER, "--transcript", str(target), stream=stream)
    assert outcome.code == 0, outcome.stderr
    call = outcome.data["tool_calls"][0]
    assert call["is_error"] is True
    assert outcome.data["turns"] == 2  # the model read the error and answered
    records = [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]
    assert records[-1]["type"] == "end" and records[-1]["outcome"] == "ok"


def test_very_deep_argument_text_is_an_error_result(router: OfflineRouter) -> None:
    router.script(Fault(calls=CallFault(arguments=DEEP)))
    outcome = ask(router, "chat", WEATHER)
    assert outcome.code == 0, outcome.stderr
    assert outcome.data["tool_calls"][0]["is_error"] is True


SELF_CONTAINING = '''
import crazycall


@crazycall.tool
def loop_back(name: str) -> dict:
    """Return a dict that contains itself."""
    value: dict = {"name": name}
    value["self"] = value
    return value


@crazycall.tool
def deep_text(name: str) -> str:
    """Return JSON text nested 5000 levels deep."""
    return "[" * 5000 + "]" * 5000
'''


def test_a_tool_result_that_contains_itself_is_converted(
    router: OfflineRouter, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no tools.yaml here: only the plugin
    plugin = tmp_path / "loopy.py"
    plugin.write_text(SELF_CONTAINING, encoding="utf-8")
    target = tmp_path / "t.jsonl"
    base = ["ask", "--base-url", router.url, "--api-key", KEY, "--plugins", str(plugin), "--json", "-m", "gpt-4o"]
    outcome = invoke(*base, "--transcript", str(target), "Please call loop_back")
    assert outcome.code == 0, outcome.stderr
    call = outcome.data["tool_calls"][0]
    assert call["name"] == "loop_back" and call["is_error"] is False
    assert call["result"] == {"name": call["arguments"]["name"], "self": "[circular reference]"}
    assert all(json.loads(line) for line in target.read_text(encoding="utf-8").splitlines())


@pytest.mark.parametrize("output", ["json", "jsonl"])
def test_a_tool_result_of_deep_json_text_is_kept_as_text(
    router: OfflineRouter, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, output: str
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "deep.py").write_text(SELF_CONTAINING, encoding="utf-8")
    base = ["ask", "--base-url", router.url, "--api-key", KEY, "--plugins", "deep.py", "-o", output, "-m", "gpt-4o"]
    outcome = invoke(*base, "Please call deep_text")
    assert outcome.code == 0, outcome.stderr
    records = [json.loads(line) for line in outcome.stdout.splitlines()]
    results = [r["result"] for r in records if r.get("event") == "tool_result"] or [
        c["result"] for c in records[-1]["tool_calls"]
    ]
    assert results == ["[" * 5000 + "]" * 5000]


# ---------------------------------------------------------------- text that is not valid Unicode


@pytest.mark.parametrize("transcript", [True, False])
@pytest.mark.parametrize("stream", [True, False])
@pytest.mark.parametrize("protocol", ["chat", "responses", "messages"])
def test_a_lone_surrogate_in_arguments_is_no_crash(
    router: OfflineRouter, protocol: str, stream: bool, transcript: bool, tmp_path: Path
) -> None:
    router.script(Fault(calls=CallFault(arguments='{"city": "Par\\ud800is"}')))
    target = tmp_path / "t.jsonl"
    where = ["--transcript", str(target)] if transcript else ["--no-transcript"]
    outcome = ask(router, protocol, WEATHER, *where, stream=stream)
    assert outcome.code == 0, outcome.stderr
    city = outcome.data["tool_calls"][0]["arguments"]["city"]
    assert city.startswith("Par") and city.endswith("is")  # the text as it came, or its escape read back
    if transcript:
        text = target.read_text(encoding="utf-8")  # strict UTF-8: the file is valid
        assert "\\ud800" in text
        assert json.loads(text.splitlines()[-1])["type"] == "end"
        shown = invoke("logs", "show", str(target), "--json")  # printing it back does not fail either
        assert shown.code == 0 and json.loads(shown.stdout)["records"][-1]["type"] == "end"


def test_a_prompt_on_stdin_that_is_not_utf8(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONIOENCODING": "utf-8:surrogateescape"}  # stdin keeping bad bytes as surrogates
    command = [sys.executable, "-m", "crazycall", "ask", "--offline", "-q", "--json"]
    done = subprocess.run(command, input=b"caf\xe9: the weather in Paris?", capture_output=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["turns"] >= 1
    logs = subprocess.run([sys.executable, "-m", "crazycall", "logs", "--json"], capture_output=True, env=env)
    runs = json.loads(logs.stdout)
    assert runs[0]["outcome"] == "ok"
    records = Path(runs[0]["path"]).read_text(encoding="utf-8")
    assert "caf\ufffd: the weather in Paris?" in records  # the bad byte is U+FFFD, in the prompt sent and kept


# ---------------------------------------------------------------- a full disk


@pytest.mark.parametrize("output", ["json", "jsonl"])
def test_a_full_disk_stops_the_transcript_not_the_run(tmp_path: Path, output: str) -> None:
    target = tmp_path / "t.jsonl"
    command = [
        sys.executable,
        "-m",
        "crazycall",
        "ask",
        "--offline",
        "-o",
        output,
        "--transcript",
        str(target),
        WEATHER,
    ]
    limit = 6000  # bytes: the run record fits, the whole transcript does not

    def small_disk() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    done = subprocess.run(command, capture_output=True, text=True, timeout=60, preexec_fn=small_disk)
    assert done.returncode == 0, done.stderr
    warnings = [line for line in done.stderr.splitlines() if line.startswith("crazycall: warning: transcript: ")]
    assert len(warnings) == 1 and warnings[0].endswith(f"writing {target}; transcript stopped")
    data = json.loads(done.stdout.splitlines()[-1])  # --json's object, or jsonl's run_finished event
    assert data["turns"] == 2 and data["transcript_error"] == warnings[0].removeprefix("crazycall: warning: ")
    text = target.read_text(encoding="utf-8")
    assert 0 < len(text) <= limit and text.endswith("\n")  # never a torn line
    records = [json.loads(line) for line in text.splitlines()]  # every line whole
    assert records[0]["type"] == "run"


def test_an_unwritable_default_folder_is_exit_2_like_an_unwritable_path(
    router: OfflineRouter, clean_env: Path, tmp_path: Path
) -> None:
    data_home = clean_env / "data"
    data_home.parent.mkdir(parents=True, exist_ok=True)
    data_home.write_text("a file where the folder should be", encoding="utf-8")
    outcome = ask(router, "chat", WEATHER)
    message = assert_clean_failure(outcome, 2)
    assert message.startswith(f"cannot write the transcript {data_home / 'crazycall' / 'transcripts'}")


# ---------------------------------------------------------------- an unreachable host


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


@pytest.mark.parametrize("protocol", ["chat", "gemini"])
def test_a_connection_error_names_host_and_port_never_the_key(protocol: str) -> None:
    port = closed_port()
    model = {"chat": "gpt-4o", "gemini": "gemini-3-pro"}[protocol]
    outcome = invoke(
        "ask", "--base-url", f"http://127.0.0.1:{port}", "--api-key", KEY, "-m", model, "--json", "--max-retries", "0",
        "-t", str(REPO / "tools.yaml"), WEATHER,
    )  # fmt: skip
    message = assert_clean_failure(outcome, 5)
    assert f"ConnectError: cannot connect to 127.0.0.1:{port}: " in message
    assert KEY not in outcome.stdout + outcome.stderr
