"""Cost and budgets end to end: cached and reasoning tokens read from the wire, ``prices:`` -> ``cost_usd``, and
``--max-cost`` / ``--max-tokens-total`` stopping the loop before the next model turn (exit 7)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from crazycall.cli import app
from crazycall.conversation import Usage
from crazycall.cost import Price, cost_usd, price_for
from crazycall.offline.server import OfflineRouter
from tests.integration.conftest import Canned, HostileServer

REPO = Path(__file__).resolve().parents[2]
KEY = "sk-test-cost-0001"
CHAINED = "Tell me the weather in Paris, then the time in Europe/Paris"

# A Chat Completions answer whose usage has the detail objects (platform.openai.com, chat object "usage").
ANSWER = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "model": "gpt-5.4",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "done"}, "finish_reason": "stop"}],
    "usage": {
        "prompt_tokens": 2_000_000,
        "completion_tokens": 100_000,
        "total_tokens": 2_100_000,
        "prompt_tokens_details": {"cached_tokens": 1_500_000},
        "completion_tokens_details": {"reasoning_tokens": 40_000},
    },
}


@pytest.fixture
def cached_server() -> Iterator[str]:
    with HostileServer(Canned(json.dumps(ANSWER).encode())) as server:
        yield server.url


@pytest.fixture(scope="module")
def router() -> Iterator[OfflineRouter]:
    with OfflineRouter(api_key=KEY) as r:
        yield r


def _config(clean_env: Path, text: str) -> Path:
    path = clean_env / "config" / "crazycall" / "config.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _ask(base_url: str, *args: str) -> tuple[int, dict[str, Any], str]:
    base = ["ask", "--base-url", base_url, "--api-key", KEY, "--no-transcript", "--json"]
    result = CliRunner().invoke(app, [*base, *args])
    data = json.loads(result.stdout)
    assert isinstance(data, dict)
    return result.exit_code, data, result.stderr


def test_cost_arithmetic_with_cached_tokens() -> None:
    usage = Usage(2_000_000, 100_000, cached_input_tokens=1_500_000, reasoning_tokens=40_000)
    # 0.5M uncached at $2 + 1.5M cached at $0.5 + 0.1M out at $8 (reasoning is output)
    assert cost_usd(usage, Price(2.0, 8.0, 0.5)) == pytest.approx(1.0 + 0.75 + 0.8)
    assert cost_usd(usage, Price(2.0, 8.0)) == pytest.approx(4.0 + 0.8)  # no cached price: the input price


def test_price_for_prefers_the_exact_name_then_the_first_glob() -> None:
    prices = {"gpt-*": {"input": 1, "output": 2}, "gpt-5.4": {"input": 3, "output": 4}, "*": {"input": 5, "output": 6}}
    assert price_for("gpt-5.4", prices) == Price(3.0, 4.0)
    assert price_for("gpt-4o", prices) == Price(1.0, 2.0)
    assert price_for("claude-x", {"gpt-*": {"input": 1, "output": 2}}) is None


def test_json_reports_cached_and_reasoning_tokens_and_cost(clean_env: Path, cached_server: str) -> None:
    _config(clean_env, 'prices:\n  "gpt-5*": {input: 2, output: 8, cached_input: 0.5}\n')
    code, data, err = _ask(cached_server, "-m", "gpt-5.4", "--no-stream", "hi")
    assert code == 0, err
    assert data["usage"] == {
        "input_tokens": 2_000_000,
        "output_tokens": 100_000,
        "cached_input_tokens": 1_500_000,
        "reasoning_tokens": 40_000,
    }
    assert data["cost_usd"] == pytest.approx(2.55)


def test_no_price_no_cost(clean_env: Path, cached_server: str) -> None:
    _config(clean_env, 'prices:\n  "claude-*": {input: 3, output: 15}\n')
    code, data, _ = _ask(cached_server, "-m", "gpt-5.4", "--no-stream", "hi")
    assert code == 0
    assert "cost_usd" not in data


def test_max_tokens_total_stops_before_the_next_turn(router: OfflineRouter) -> None:
    args = ["-t", str(REPO / "tools.yaml"), "--plugins", str(REPO / "plugins"), "--max-turns", "10"]
    code, data, err = _ask(router.url, *args, CHAINED)
    assert code == 0 and data["turns"] == 3  # without a budget the chained prompt takes three turns
    code, data, err = _ask(router.url, *args, "--max-tokens-total", "50", CHAINED)
    assert code == 7
    assert data["error"]["type"] == "budget_exceeded" and "--max-tokens-total 50" in data["error"]["message"]
    assert data["turns"] == 1
    assert [c["name"] for c in data["tool_calls"]] == ["get_weather"]  # the tool run before the stop is kept
    assert err.startswith("crazycall: error: stopped after 1 turns")


def test_max_cost_from_the_config_file_stops_the_loop(clean_env: Path, router: OfflineRouter) -> None:
    _config(clean_env, 'max_cost: 0.000001\nprices:\n  "gpt-*": {input: 1.25, output: 10}\n')
    args = ["-t", str(REPO / "tools.yaml"), "--plugins", str(REPO / "plugins")]
    code, data, _ = _ask(router.url, *args, CHAINED)
    assert code == 7
    assert data["error"]["type"] == "budget_exceeded" and "--max-cost" in data["error"]["message"]
    assert data["turns"] == 1
    assert data["cost_usd"] > 0.000001


def test_max_cost_without_a_price_is_a_usage_error(clean_env: Path, router: OfflineRouter) -> None:
    start = len(router.requests)
    code, data, _ = _ask(router.url, "--max-cost", "1", "hi")
    assert code == 2
    assert "--max-cost needs a price for model 'gpt-5.4'" in data["error"]["message"]
    assert len(router.requests) == start


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ('prices:\n  "gpt-*": {input: 1}\n', ":2: price 'gpt-*': missing output"),
        ('prices:\n  "gpt-*": {input: 1, output: -2}\n', ":2: price 'gpt-*': output must be US dollars"),
        ('prices:\n  "gpt-*": {input: 1, output: 2, cache: 1}\n', ":2: price 'gpt-*': unknown key 'cache'"),
        ("prices:\n  gpt: 5\n", ":2: price 'gpt' must be a mapping"),
        ("max_cost: 0\n", ":1: setting 'max_cost' must be > 0"),
    ],
)
def test_bad_prices_name_the_file_and_line(clean_env: Path, text: str, said: str) -> None:
    path = _config(clean_env, text)
    result = CliRunner().invoke(app, ["ask", "--offline", "--no-transcript", "hi"])
    assert result.exit_code == 3
    assert f"{path}{said}" in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_max_cost_flag_is_a_usage_error(clean_env: Path) -> None:
    result = CliRunner().invoke(app, ["ask", "--offline", "--no-transcript", "--max-cost", "nan", "hi"])
    assert result.exit_code == 2
    assert "--max-cost" in result.stderr


def test_cost_reaches_the_transcript_and_logs(clean_env: Path, router: OfflineRouter) -> None:
    _config(clean_env, 'prices:\n  "gpt-*": {input: 1.25, output: 10}\n')
    base = ["ask", "--base-url", router.url, "--api-key", KEY, "--json", "-t", str(REPO / "tools.yaml")]
    result = CliRunner().invoke(app, [*base, "--plugins", str(REPO / "plugins"), "Weather in Paris?"])
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    lines = Path(data["transcript"]).read_text(encoding="utf-8").splitlines()
    end = json.loads(lines[-1])
    assert end["cost_usd"] == data["cost_usd"] > 0
    shown = CliRunner().invoke(app, ["logs", "show", data["run_id"]])
    assert shown.exit_code == 0, shown.stderr
    assert f"${data['cost_usd']:.6f}" in shown.stdout


def test_every_protocol_reads_cached_and_reasoning_tokens() -> None:
    from crazycall.protocols import get_adapter

    bodies: dict[str, tuple[dict[str, Any], Usage]] = {
        "responses": (
            {
                "id": "resp_1",
                "status": "completed",
                "output": [
                    {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "ok"}]}
                ],
                "usage": {
                    "input_tokens": 100,
                    "output_tokens": 50,
                    "input_tokens_details": {"cached_tokens": 80},
                    "output_tokens_details": {"reasoning_tokens": 30},
                },
            },
            Usage(100, 50, 80, 30),
        ),
        "messages": (
            {
                "id": "msg_1",
                "type": "message",
                "role": "assistant",
                "content": [{"type": "text", "text": "ok"}],
                "stop_reason": "end_turn",
                "usage": {"input_tokens": 10, "cache_read_input_tokens": 90, "output_tokens": 5},
            },
            Usage(100, 5, 90),
        ),
        "gemini": (
            {
                "candidates": [{"content": {"role": "model", "parts": [{"text": "ok"}]}, "finishReason": "STOP"}],
                "usageMetadata": {
                    "promptTokenCount": 100,
                    "cachedContentTokenCount": 60,
                    "candidatesTokenCount": 20,
                    "thoughtsTokenCount": 15,
                },
            },
            Usage(100, 35, 60, 15),
        ),
    }
    for protocol, (body, expected) in bodies.items():
        assert get_adapter(protocol).parse_response(body).usage == expected, protocol
