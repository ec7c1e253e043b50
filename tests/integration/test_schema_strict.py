"""``ask --strict`` through the real CLI against the offline router, which enforces strict mode's rules."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from crazycall.cli import app
from crazycall.offline.server import OfflineRouter

REPO = Path(__file__).resolve().parents[2]
KEY = "sk-test-strict-0001"
LOOSE = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "note": {"type": "string"}},
    "required": ["city"],
}


@pytest.fixture(scope="module")
def router() -> Iterator[OfflineRouter]:
    with OfflineRouter(api_key=KEY) as r:
        yield r


def _ask(router: OfflineRouter, model: str, protocol: str, *extra: str) -> tuple[int, dict[str, Any]]:
    args = ["ask", "--base-url", router.url, "--api-key", KEY, "-m", model, "-p", protocol, "--no-transcript"]
    args += ["--json", "-t", str(REPO / "tools.yaml"), *extra, "What is the weather in Paris?"]
    result = CliRunner().invoke(app, args)
    data = json.loads(result.stdout)
    assert isinstance(data, dict)
    return result.exit_code, data


@pytest.mark.parametrize("protocol", ["chat", "responses"])
def test_strict_sends_a_strict_mode_schema_the_router_accepts(router: OfflineRouter, protocol: str) -> None:
    start = len(router.requests)
    code, data = _ask(router, "gpt-5.4", protocol, "--strict", "--schema", json.dumps(LOOSE))
    assert code == 0, data
    assert data["output"]["city"] == "Paris"
    body = router.requests[start].body
    fmt = body["response_format"]["json_schema"] if protocol == "chat" else body["text"]["format"]
    assert fmt["strict"] is True
    assert fmt["schema"]["required"] == ["city", "note"]
    assert fmt["schema"]["properties"]["note"] == {"type": ["string", "null"]}


def test_strict_leaves_other_protocols_schema_as_given(router: OfflineRouter) -> None:
    start = len(router.requests)
    code, data = _ask(router, "claude-sonnet-4-6", "messages", "--strict", "--schema", json.dumps(LOOSE))
    assert code == 0, data
    assert router.requests[start].body["output_config"]["format"]["schema"] == LOOSE


def test_strict_without_schema_is_a_usage_error(router: OfflineRouter) -> None:
    start = len(router.requests)
    code, data = _ask(router, "gpt-5.4", "chat", "--strict")
    assert code == 2
    assert data["error"]["type"] == "usage_error" and "--strict needs --schema" in data["error"]["message"]
    assert len(router.requests) == start
