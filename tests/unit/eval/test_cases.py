"""The eval cases file: YAML and JSON lines read into cases, every error as FILE:LINE: FIELD: ... (exit 3)."""

from __future__ import annotations

from pathlib import Path

import pytest

from crazycall.errors import ConfigError
from crazycall.eval.cases import read_cases

GOOD = """\
models: [gpt-5.4, claude-sonnet-4-6]
tools: tools.yaml
defaults: {max_turns: 3, repeat: 2}
cases:
  - id: weather
    prompt: Weather in Beijing?
    expect:
      calls:
        - name: get_weather
          arguments: {city: {regex: "(?i)beijing"}}
      text: {contains: [Beijing]}
      max_turns: 2
  - id: chained
    prompt: Paris weather, then time.
    repeat: 1
    expect:
      calls: {in_any_order: [get_weather, {name: get_time}]}
      no_calls: [search_products]
    mock: {get_weather: {temperature: 21}}
"""


def write(tmp_path: Path, text: str, name: str = "cases.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_a_good_file(tmp_path: Path) -> None:
    file = read_cases(write(tmp_path, GOOD))
    assert file.models == ("gpt-5.4", "claude-sonnet-4-6")
    assert file.tools == tmp_path / "tools.yaml"
    weather, chained = file.cases
    assert (weather.max_turns, weather.repeat, weather.expect.max_turns) == (3, 2, 2)
    assert weather.expect.calls is not None and weather.expect.calls[0].arguments == {"city": {"regex": "(?i)beijing"}}
    assert chained.repeat == 1 and chained.expect.in_any_order and chained.mock == {"get_weather": {"temperature": 21}}
    assert chained.expect.calls is not None and [c.name for c in chained.expect.calls] == ["get_weather", "get_time"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("cases: []\n", "cases.yaml:1: cases: must be a non-empty list of cases, got a list"),
        ("cases:\n  - id: a\n", "cases.yaml:2: cases[0]: a case needs 'prompt'"),
        ("cases:\n  - id: a\n    prompt: hi\n    expct: {}\n", "cases.yaml:4: cases[0].expct: unknown key;"),
        (
            "cases:\n  - id: a\n    prompt: hi\n    expect:\n      text: {regex: '('}\n",
            "cases.yaml:5: cases[0].expect.text.regex: invalid regular expression",
        ),
        (
            "cases:\n  - {id: a, prompt: hi}\n  - {id: a, prompt: ho}\n",
            "cases.yaml:3: cases[1].id: duplicate case id 'a' (first at cases[0])",
        ),
        (
            "cases:\n  - id: a\n    prompt: hi\n    expect:\n      calls: [{name: f, arguments: {x: {any: false}}}]\n",
            "cases.yaml:5: cases[0].expect.calls[0].arguments.x.any: must be true",
        ),
        (
            "cases:\n  - id: a\n    prompt: hi\n    expect:\n      text:\n        schema: {type: 12}\n",
            "cases.yaml:6: cases[0].expect.text.schema: invalid JSON Schema",
        ),
        (
            "defaults: {repeat: 0}\ncases: [{id: a, prompt: hi}]\n",
            "cases.yaml:1: defaults.repeat: must be a whole number",
        ),
        ("cases: [{id: a, prompt: hi, max_turns: yes}]\n", "cases.yaml:1: cases[0].max_turns: must be a whole number"),
        ("", "cases.yaml:1: the eval cases file is empty"),
        ("a: &a [*a]\n", "cases.yaml:1: a YAML alias refers to a node that contains it"),
    ],
)
def test_errors_name_file_line_and_field(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        read_cases(path, "cases.yaml")
    assert str(caught.value).startswith(message)


def test_json_lines(tmp_path: Path) -> None:
    path = write(
        tmp_path, '{"id": "a", "prompt": "hi", "expect": {"calls": []}}\n\n{"id": "b", "prompt": "ho"}\n', "c.jsonl"
    )
    file = read_cases(path)
    assert [c.id for c in file.cases] == ["a", "b"] and file.cases[0].expect.calls == ()
    write(tmp_path, '{"id": "a", "prompt": "hi"}\n{"id": "b", "prompt": "ho", "mock": []}\n', "c.jsonl")
    with pytest.raises(ConfigError, match=r"^c\.jsonl:2: cases\[1\]\.mock: must be a mapping"):
        read_cases(path, "c.jsonl")
    write(tmp_path, '{"id": "a", "prompt": "hi"}\n{"id": \n', "c.jsonl")
    with pytest.raises(ConfigError, match=r"^c\.jsonl:2: invalid JSON"):
        read_cases(path, "c.jsonl")
