"""The smoke matrix: defaults, --case parsing, smoke.yaml (every problem named as file:line)."""

from __future__ import annotations

from pathlib import Path

import pytest

from crazycall.errors import ConfigError, UsageError
from crazycall.smoke.cases import (
    DEFAULT_MATRIX,
    SmokeFile,
    build_matrix,
    default_cases,
    find_smoke_file,
    parse_case,
    read_smoke_file,
)
from crazycall.smoke.probe import BUILTIN_SOURCE, GET_TIME


def test_default_cases_are_the_routers_verified_matrix() -> None:
    cases = default_cases()
    assert [(c.model, c.protocol) for c in cases] == list(DEFAULT_MATRIX)
    assert [c.name for c in cases] == [
        "gpt-5.4 [chat]",
        "gpt-5.4 [responses]",
        "claude-sonnet-4-6 [messages]",
        "gemini-3-pro [gemini]",
    ]
    assert [c.marker for c in cases] == ["tool_calls", "function_call", "tool_use", "functionCall"]
    assert all(c.tool.spec == GET_TIME and c.tool.source == BUILTIN_SOURCE for c in cases)
    assert all("Europe/Paris" in c.prompt and "get_time" in c.prompt for c in cases)
    assert cases[0].tool is not cases[1].tool  # no probe state shared between cases


@pytest.mark.parametrize(
    ("spec", "model", "protocol"),
    [
        ("gpt-4o", "gpt-4o", "chat"),
        ("claude-opus-4-1", "claude-opus-4-1", "messages"),
        ("gemini-2.5-flash", "gemini-2.5-flash", "gemini"),
        ("gpt-5.4:responses", "gpt-5.4", "responses"),
        ("claude-sonnet-4-6:chat", "claude-sonnet-4-6", "chat"),
        ("gemini-3-pro:auto", "gemini-3-pro", "gemini"),
        ("  gpt-4o:messages ", "gpt-4o", "messages"),
        ("llama3:8b", "llama3:8b", "chat"),  # a suffix that is no protocol stays in the model name
        ("ollama/qwen3:32b:gemini", "ollama/qwen3:32b", "gemini"),
    ],
)
def test_parse_case(spec: str, model: str, protocol: str) -> None:
    case = parse_case(spec)
    assert (case.model, case.protocol, case.source) == (model, protocol, "--case")


def test_parse_case_uses_config_routes() -> None:
    assert parse_case("my-claude-x", {"my-claude-*": "messages"}).protocol == "messages"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("gpt-5.4:respones", "--case 'gpt-5.4:respones': unknown protocol 'respones' (did you mean 'responses'?)"),
        ("gpt-5.4:gemni", "unknown protocol 'gemni' (did you mean 'gemini'?)"),
        (":chat", "--case ':chat': no model name; expected MODEL[:PROTOCOL]"),
        ("", "--case '': no model name"),
        ("claude-sonnet-4-6:responses", "--protocol responses cannot be used with claude-sonnet-4-6"),
    ],
)
def test_parse_case_errors(spec: str, message: str) -> None:
    with pytest.raises(UsageError) as info:
        parse_case(spec)
    assert message in str(info.value)
    assert info.value.exit_code == 2


def test_build_matrix_adds_cases_after_the_defaults_without_duplicates() -> None:
    cases = build_matrix(["gpt-4o", "gpt-5.4:chat", "gpt-4o:chat"])
    assert [c.name for c in cases] == [
        "gpt-5.4 [chat]",
        "gpt-5.4 [responses]",
        "claude-sonnet-4-6 [messages]",
        "gemini-3-pro [gemini]",
        "gpt-4o [chat]",
    ]
    assert cases[0].source == "default"  # an identical --case does not run twice


def test_build_matrix_no_defaults() -> None:
    cases = build_matrix(["gpt-4o", "claude-sonnet-4-6"], no_defaults=True)
    assert [c.name for c in cases] == ["gpt-4o [chat]", "claude-sonnet-4-6 [messages]"]


def test_build_matrix_with_nothing_to_run_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="no smoke cases to run"):
        build_matrix([], no_defaults=True)
    with pytest.raises(UsageError, match="no smoke cases to run"):
        build_matrix([], SmokeFile((), defaults=False))


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "smoke.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def read(tmp_path: Path, text: str) -> SmokeFile:
    return read_smoke_file(write(tmp_path, text), "smoke.yaml")


def test_smoke_file_cases_replace_defaults_and_add(tmp_path: Path) -> None:
    smoke_file = read(
        tmp_path,
        """\
cases:
  - model: gpt-5.4
    protocol: chat
    prompt: What time is it in Asia/Tokyo?
  - model: deepseek-v3
""",
    )
    assert smoke_file.defaults is True
    assert [(c.name, c.source) for c in smoke_file.cases] == [
        ("gpt-5.4 [chat]", "smoke.yaml:2"),
        ("deepseek-v3 [chat]", "smoke.yaml:5"),
    ]
    cases = build_matrix(["gpt-4o"], smoke_file)
    assert [c.name for c in cases] == [
        "gpt-5.4 [chat]",
        "gpt-5.4 [responses]",
        "claude-sonnet-4-6 [messages]",
        "gemini-3-pro [gemini]",
        "deepseek-v3 [chat]",
        "gpt-4o [chat]",
    ]
    assert cases[0].prompt == "What time is it in Asia/Tokyo?"  # the file's case replaced the default
    assert cases[0].source == "smoke.yaml:2"


def test_smoke_file_defaults_false_and_marker_picks_protocol(tmp_path: Path) -> None:
    smoke_file = read(
        tmp_path,
        """\
defaults: false
cases:
  - {model: gpt-5.4, marker: function_call}
  - {model: my-model, protocol: messages, marker: tool_use, tool: get_time}
""",
    )
    cases = build_matrix([], smoke_file)
    assert [(c.name, c.marker) for c in cases] == [
        ("gpt-5.4 [responses]", "function_call"),
        ("my-model [messages]", "tool_use"),
    ]
    assert cases[1].tool.spec == GET_TIME


def test_smoke_file_inline_tool(tmp_path: Path) -> None:
    smoke_file = read(
        tmp_path,
        """\
cases:
  - model: gpt-5.4
    tool:
      name: lookup_order
      description: Find an order.
      parameters:
        type: object
        properties:
          order_id: {type: string, pattern: "^A[0-9]+$"}
        required: [order_id]
      result: {status: shipped}
""",
    )
    (case,) = smoke_file.cases
    tool = case.tool
    assert (tool.name, tool.spec.description, tool.source) == ("lookup_order", "Find an order.", "smoke.yaml:4")
    assert tool.spec.parameters["required"] == ["order_id"]
    assert tool({"order_id": "A1"}) == {"status": "shipped"}
    assert tool.validate({"order_id": "B"}) == ["$.order_id: 'B' does not match '^A[0-9]+$'"]
    assert case.prompt == "Call the lookup_order tool now, with arguments that fit its schema."


def test_smoke_file_routes_apply(tmp_path: Path) -> None:
    path = write(tmp_path, "cases:\n  - model: house-claude\n")
    (case,) = read_smoke_file(path, "smoke.yaml", {"house-*": "messages"}).cases
    assert case.protocol == "messages"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "cases:\n  - model: a\n    modle: b\n",
            "smoke.yaml:3: case at line 2: unknown key 'modle' (did you mean 'model'?)",
        ),
        ("cases:\n  - protocol: chat\n", "smoke.yaml:2: case at line 2: 'model' is required"),
        ("cases:\n  - model: 5\n", "smoke.yaml:2: case at line 2: 'model' must be a non-empty string"),
        ("cases:\n  - model: a\n    protocol: soap\n", "smoke.yaml:3: case at line 2: unknown protocol 'soap'"),
        (
            "cases:\n  - model: claude-sonnet-4-6\n    protocol: responses\n",
            "smoke.yaml:3: case at line 2: --protocol responses cannot be used with claude-sonnet-4-6",
        ),
        (
            "cases:\n  - model: gpt-5.4\n    protocol: chat\n    marker: tool_use\n",
            "smoke.yaml:4: case at line 2: marker 'tool_use' belongs to the messages protocol, but gpt-5.4 is run on "
            "chat (marker 'tool_calls')",
        ),
        ("cases:\n  - model: a\n    marker: tool_call\n", "smoke.yaml:3: case at line 2: unknown marker 'tool_call'"),
        (
            "cases:\n  - model: a\n    tool: get_weather\n",
            "smoke.yaml:3: case at line 2: unknown probe tool 'get_weather'",
        ),
        (
            "cases:\n  - model: a\n    tool: {description: x}\n",
            "smoke.yaml:3: case at line 2: an inline tool needs a 'name'",
        ),
        (
            "cases:\n  - model: a\n    tool: {name: 'bad name'}\n",
            "smoke.yaml:3: case at line 2: invalid tool name 'bad name'",
        ),
        (
            "cases:\n  - model: a\n    tool:\n      name: t\n      parameters: {type: string}\n",
            "smoke.yaml:5: case at line 2: tool parameters $.type: the root of a tool's parameters must have type",
        ),
        (
            "cases:\n  - model: a\n    tool:\n      name: t\n      parameters: {type: object, minProperties: -1}\n",
            "smoke.yaml:5: case at line 2: tool parameters $.minProperties: -1 is less than the minimum of 0",
        ),
        (
            "cases:\n  - model: a\n  - model: a\n    protocol: chat\n",
            "smoke.yaml:3: case a [chat] is defined twice (first at smoke.yaml:2)",
        ),
        ("case:\n  - model: a\n", "smoke.yaml:1: the smoke file: unknown key 'case' (did you mean 'cases'?)"),
        ("defaults: no-thanks\ncases: []\n", "smoke.yaml:1: 'defaults' must be true or false"),
        ("defaults: true\n", "smoke.yaml:1: the smoke file needs a 'cases:' list"),
        ("cases: {model: a}\n", "smoke.yaml:1: 'cases' must be a list of cases, got a mapping"),
        ("- model: a\n", "smoke.yaml:1: the smoke file must be a mapping with keys defaults, cases, got a list"),
        ("cases:\n  - model: [a\n", "smoke.yaml:3:1: invalid YAML: while parsing a flow sequence"),
        ("", "smoke.yaml: the smoke file is empty"),
    ],
)
def test_smoke_file_errors_name_file_and_line(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        read(tmp_path, text)
    assert str(info.value).startswith(message), str(info.value)
    assert info.value.exit_code == 3


def test_missing_smoke_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"smoke file not found: nope\.yaml"):
        read_smoke_file(tmp_path / "nope.yaml", "nope.yaml")


def test_find_smoke_file(tmp_path: Path) -> None:
    assert find_smoke_file(None, tmp_path) is None
    write(tmp_path, "cases: []\n")
    assert find_smoke_file(None, tmp_path) == (tmp_path / "smoke.yaml", "smoke.yaml")
    (tmp_path / "ci").mkdir()
    given = tmp_path / "ci" / "matrix.yaml"
    assert find_smoke_file(given, tmp_path) == (given, "ci/matrix.yaml")
    outside = Path("/elsewhere/smoke.yaml")
    assert find_smoke_file(outside, tmp_path) == (outside, "/elsewhere/smoke.yaml")
