"""What reaches a terminal or plain text: no control sequence from the network obeyed, the key never shown.

A hostile router (the offline router with a scripted body) answers with text holding ``ESC]0;title BEL``,
``ESC[2J``, a bare CR and a C1 CSI, and echoes the API key, whole or split between two stream deltas; an error
body carries the same. Each output mode is checked through the real CLI: stdout and stderr hold none of the
injected sequences (the renderer's own styling is allowed in rich mode) and never the key.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from crazycall.offline.faults import Fault
from crazycall.offline.server import OfflineRouter
from tests.integration.conftest import invoke

MARK = "QVZKTERMSECRET"
KEY = f"sk-{MARK}-77"
HOSTILE = "Hello \x1b]0;pwned\x07title \x1b[2Jcleared \x9b31mred\rover"
INJECTED = ("\x1b]0;", "\x1b[2J", "\x9b", "\x07", "red\rover")  # (Rich itself writes CRs)


def _chat_body(text: str) -> str:
    message = {"role": "assistant", "content": text}
    return json.dumps(
        {
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "model": "gpt-4o",
            "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7},
        }
    )


def _chat_stream(*deltas: str) -> str:
    chunks: list[dict[str, Any]] = [{"id": "c1", "object": "chat.completion.chunk", "model": "gpt-4o", "choices": []}]
    chunks[0]["choices"] = [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]
    for delta in deltas:
        chunks.append({"id": "c1", "object": "chat.completion.chunk", "model": "gpt-4o", "choices": []})
        chunks[-1]["choices"] = [{"index": 0, "delta": {"content": delta}, "finish_reason": None}]
    chunks.append({"id": "c1", "object": "chat.completion.chunk", "model": "gpt-4o", "choices": []})
    chunks[-1]["choices"] = [{"index": 0, "delta": {}, "finish_reason": "stop"}]
    return "".join(f"data: {json.dumps(c)}\n\n" for c in chunks) + "data: [DONE]\n\n"


@pytest.fixture
def router() -> Iterator[OfflineRouter]:
    with OfflineRouter() as running:
        yield running


def _ask(router: OfflineRouter, *args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    base = ["ask", "--base-url", router.url, "-m", "gpt-4o", "--no-transcript", *args, "Say hello"]
    outcome = invoke(*base, env={"CRAZYROUTER_API_KEY": KEY, **(env or {})})
    return outcome.code, outcome.stdout, outcome.stderr


def _assert_safe(*texts: str) -> None:
    for text in texts:
        for sequence in INJECTED:
            assert sequence not in text, f"{sequence!r} reached the output: {text!r}"
        assert MARK not in text, f"the key reached the output: {text!r}"


RICH = {"FORCE_COLOR": "1", "COLUMNS": "100"}  # Rich styles as at a terminal: its own ESCs are allowed


@pytest.mark.parametrize(("output", "env"), [(["-o", "plain"], {}), (["-o", "rich"], RICH)], ids=["plain", "rich"])
def test_model_text_with_control_sequences_and_the_key_is_shown_not_obeyed(
    router: OfflineRouter, clean_env: Path, output: list[str], env: dict[str, str]
) -> None:
    router.script(Fault(body=_chat_body(f"{HOSTILE} and the key {KEY} done")))
    code, stdout, stderr = _ask(router, *output, "--no-stream", env=env)
    assert code == 0, stderr
    _assert_safe(stdout, stderr)
    assert "␛]0;pwned␇title" in stdout  # made visible, not dropped
    assert "***" in stdout


@pytest.mark.parametrize("output", [["-o", "plain"], ["-o", "rich"], ["--json"], ["-o", "jsonl"]])
def test_a_key_split_between_two_stream_deltas_is_masked(
    router: OfflineRouter, clean_env: Path, output: list[str]
) -> None:
    half = len(KEY) // 2
    router.script(Fault(body=_chat_stream("The key is ", KEY[:half], KEY[half:], " and \x1b[2J that is all")))
    code, stdout, stderr = _ask(router, *output, "--stream")
    assert code == 0, stderr
    _assert_safe(stdout, stderr)
    if output[0] == "--json":
        assert json.loads(stdout)["text"] == "The key is *** and \x1b[2J that is all"  # JSON escapes it itself
    elif output[-1] == "jsonl":
        deltas = [json.loads(line) for line in stdout.splitlines()]
        text = "".join(d["text"] for d in deltas if d["event"] == "text_delta")
        assert text == "The key is *** and \x1b[2J that is all"  # nothing lost by holding back
    else:
        assert "The key is *** and ␛[2J that is all" in stdout


@pytest.mark.parametrize("output", [["-o", "plain"], ["-o", "rich"], ["--json"]])
def test_a_provider_error_message_with_control_sequences_is_one_safe_line(
    router: OfflineRouter, clean_env: Path, output: list[str]
) -> None:
    error = {"error": {"message": f"bad \x1b]0;pwned\x07 \x1b[2J request {KEY}", "type": "invalid_request_error"}}
    router.script(Fault(status=400, body=json.dumps(error)))
    code, stdout, stderr = _ask(router, *output, "--no-stream")
    assert code == 4, stderr
    _assert_safe(stderr)
    assert MARK not in stdout
    lines = [line for line in stderr.splitlines() if line.startswith("crazycall: error:")]
    assert len(lines) == 1 and "␛[2J" in lines[0], stderr
    if output == ["--json"]:
        assert json.loads(stdout)["error"]["exit_code"] == 4


@pytest.mark.parametrize(
    ("args", "env", "where", "what"),
    [
        ([], {"CRAZYROUTER_API_KEY": f"{KEY}\n"}, "environment variable CRAZYROUTER_API_KEY", "a newline"),
        (["--api-key", f"{KEY}é"], {}, "--api-key", "a non-ASCII character"),
        (["--api-key", f"{KEY}\x1b[2J"], {}, "--api-key", "a control character"),
    ],
)
def test_a_key_that_cannot_be_sent_is_a_usage_error_that_does_not_print_it(
    clean_env: Path, args: list[str], env: dict[str, str], where: str, what: str
) -> None:
    for output in (["--json"], ["-o", "plain"]):
        outcome = invoke("ask", "--base-url", "http://127.0.0.1:9", *args, *output, "Say hello", env=env)
        assert outcome.code == 2, outcome.stderr
        assert f"crazycall: error: the API key from {where} contains {what}" in outcome.stderr
        _assert_safe(outcome.stdout, outcome.stderr)


def test_a_very_short_key_echoed_by_the_model_is_masked(router: OfflineRouter, clean_env: Path) -> None:
    router.script(Fault(body=_chat_body("your key is Zq7 right?")))
    base = ["ask", "--base-url", router.url, "-m", "gpt-4o", "--no-stream", "--api-key", "Zq7"]
    for output in (["-o", "plain"], ["--json"]):
        router.script(Fault(body=_chat_body("your key is Zq7 right?")))
        outcome = invoke(*base, *output, "Say hello")
        assert outcome.code == 0, outcome.stderr
        assert "Zq7" not in outcome.stdout + outcome.stderr
        assert "your key is *** right?" in outcome.stdout


def test_credentials_in_the_base_url_are_masked_in_config_show_transcripts_and_errors(
    router: OfflineRouter, clean_env: Path
) -> None:
    secret_url = router.url.replace("://", "://bob:hunter2pw@")
    env = {"CRAZYROUTER_API_KEY": KEY, "CRAZYROUTER_BASE_URL": secret_url}
    shown = invoke("config", "show", env=env)
    assert shown.code == 0, shown.stderr
    assert "***@127.0.0.1" in shown.stdout
    ran = invoke("ask", "-m", "gpt-4o", "-o", "jsonl", "Say hello", env=env)
    failed = invoke(
        "ask",
        "-m",
        "gpt-4o",
        "--max-retries",
        "0",
        "Say hello",
        env={**env, "CRAZYROUTER_BASE_URL": ("http://bob:hunter2pw@127.0.0.1:9/v1")},
    )
    assert failed.code == 5, failed.stderr
    transcripts = clean_env / "data" / "crazycall" / "transcripts"
    written = "".join(p.read_text(encoding="utf-8") for p in transcripts.glob("*.jsonl"))
    assert written
    for text in (shown.stdout, shown.stderr, ran.stdout, ran.stderr, failed.stdout, failed.stderr, written):
        assert "hunter2pw" not in text, text


def test_logs_show_and_smoke_show_control_sequences_not_obey_them(router: OfflineRouter, clean_env: Path) -> None:
    router.script(Fault(body=_chat_body(HOSTILE)))
    args = ["ask", "--base-url", router.url, "-m", "gpt-4o", "--no-stream", "--json", "Say hello"]
    ran = invoke(*args, env={"CRAZYROUTER_API_KEY": KEY})
    assert ran.code == 0, ran.stderr
    run_id = json.loads(invoke("logs", "--json").stdout)[0]["id"]
    shown = invoke("logs", "show", run_id)
    assert shown.code == 0, shown.stderr
    _assert_safe(shown.stdout)
    assert "␛[2Jcleared" in shown.stdout

    from crazycall.smoke.cases import make_case
    from crazycall.smoke.report import write_plain
    from crazycall.smoke.runner import CaseResult

    out = io.StringIO()
    write_plain([CaseResult(make_case("gpt-5.4", "chat"), "/v1/chat/completions", 5.0, f"bad {HOSTILE}", 4)], out)
    _assert_safe(out.getvalue())
