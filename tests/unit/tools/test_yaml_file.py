"""tools.yaml parsing: entries with line numbers, and every error message with its file:line."""

from __future__ import annotations

from pathlib import Path

import pytest

from crazycall.errors import ConfigError
from crazycall.tools.yaml_file import ToolEntry, read_tools_file

ALLOWED = (
    "allowed: description, parameters, function, command, stdin, cwd, env, "
    "allow_options, ok_exit_codes, timeout, confirm"
)

GOOD = """\
# a comment
get_weather:
  description: Current weather
  function: plugins/weather.py:get_weather
  parameters:
    type: object
    properties:
      city: {type: string}
      unit:
        type: string
        enum: [celsius, fahrenheit]
    required: [city]
  timeout: 10

get_time:
  description: Time in a zone
"""


def read(tmp_path: Path, text: str) -> list[ToolEntry]:
    path = tmp_path / "tools.yaml"
    path.write_text(text, encoding="utf-8")
    return read_tools_file(path, "tools.yaml")


def error(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as info:
        read(tmp_path, text)
    return str(info.value)


def test_entries_keep_their_values_and_lines(tmp_path: Path) -> None:
    weather, clock = read(tmp_path, GOOD)
    assert (weather.name, weather.line, weather.source) == ("get_weather", 2, "tools.yaml:2")
    assert weather.description == "Current weather"
    assert weather.function == "plugins/weather.py:get_weather"
    assert weather.timeout == 10.0 and isinstance(weather.timeout, float)
    assert weather.parameters == {
        "type": "object",
        "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
        "required": ["city"],
    }
    assert weather.lines == {"description": 3, "function": 4, "parameters": 5, "timeout": 13}
    assert weather.file == tmp_path / "tools.yaml"
    assert (clock.name, clock.line, clock.function, clock.parameters, clock.timeout) == (
        "get_time",
        15,
        None,
        None,
        None,
    )
    assert clock.where("function") == "tools.yaml:15" and weather.where("timeout") == "tools.yaml:13"


def test_line_of_follows_a_path_into_the_parameters(tmp_path: Path) -> None:
    (weather, _) = read(tmp_path, GOOD)
    assert weather.line_of(()) == 5  # the `parameters:` key
    assert weather.line_of(("type",)) == 6
    assert weather.line_of(("properties",)) == 7
    assert weather.line_of(("properties", "city", "type")) == 8
    assert weather.line_of(("properties", "unit", "enum", 1)) == 11
    assert weather.line_of(("required", 0)) == 12
    assert weather.line_of(("properties", "nope", "type")) == 7  # the deepest node that exists


def test_a_tools_section_is_accepted(tmp_path: Path) -> None:
    (entry,) = read(tmp_path, "tools:\n  tools:\n    function: m:f\n")
    assert (entry.name, entry.line, entry.function) == ("tools", 2, "m:f")
    assert read(tmp_path, "tools:\n") == []


@pytest.mark.parametrize("text", ["", "# only a comment\n", "---\n"])
def test_an_empty_file_declares_no_tools(tmp_path: Path, text: str) -> None:
    assert read(tmp_path, text) == []


def test_yaml_anchors_are_resolved(tmp_path: Path) -> None:
    base, other = read(tmp_path, "base: &b\n  function: m:f\nother: *b\n")
    assert (base.function, other.function, other.line) == ("m:f", "m:f", 3)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "get_weather:\n  description: x\n   function: y\n",
            "tools.yaml:3:12: invalid YAML: mapping values are not allowed here",
        ),
        (
            "a:\n  description: [1, 2\n",
            "tools.yaml:3:1: invalid YAML: while parsing a flow sequence, expected ',' or ']', but got '<stream end>'",
        ),
        (
            "a:\n\tdescription: x\n",
            "tools.yaml:2:1: invalid YAML: while scanning for the next token, found character '\\t' that cannot "
            "start any token",
        ),
        (
            "a:\n  function: m:f\n---\nb: {}\n",
            "tools.yaml:3:1: invalid YAML: expected a single document in the stream, but found another document",
        ),
    ],
)
def test_yaml_syntax_errors_name_file_line_and_column(tmp_path: Path, text: str, message: str) -> None:
    assert error(tmp_path, text) == message


def test_unknown_key_names_the_line_and_the_key(tmp_path: Path) -> None:
    text = "get_weather:\n  description: x\n  descripton: y\n"
    assert error(tmp_path, text) == (
        f"tools.yaml:3: tool 'get_weather': unknown key 'descripton' (did you mean 'description'?); {ALLOWED}"
    )
    text = "get_weather:\n  function: m:f\n\n  strict: true\n"
    assert error(tmp_path, text) == f"tools.yaml:4: tool 'get_weather': unknown key 'strict'; {ALLOWED}"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("- a\n- b\n", "tools.yaml:1: expected a mapping of tool names to tool entries, got a list"),
        ("just text\n", "tools.yaml:1: expected a mapping of tool names to tool entries, got the scalar 'just text'"),
        (
            "a: hello\n",
            "tools.yaml:1: tool 'a': expected a mapping with keys description, parameters, function, command, "
            "stdin, cwd, env, allow_options, ok_exit_codes, timeout, confirm, got the scalar 'hello'",
        ),
        (
            "\nget weather:\n  function: m:f\n",
            "tools.yaml:2: invalid tool name 'get weather': names must match ^[a-zA-Z0-9_-]{1,64}$",
        ),
        ("[x]: {}\n", "tools.yaml:1: a tool name must be a plain string, got a list"),
        (
            "a:\n  function: m:f\nb:\n  function: m:g\na:\n  function: m:h\n",
            "tools.yaml:5: tool 'a' is defined twice in this file (first at tools.yaml:1)",
        ),
        ("a:\n  function: m:f\n  function: m:g\n", "tools.yaml:3: tool 'a': key 'function' is given twice"),
        (
            "a:\n  function: nocolon\n",
            "tools.yaml:2: tool 'a': 'function' must be 'module:callable' or 'path/to/file.py:callable', got 'nocolon'",
        ),
        (
            "a:\n  function: m:f\n  timeout: -1\n",
            "tools.yaml:3: tool 'a': timeout must be a number of seconds > 0, got -1",
        ),
        (
            "a:\n  function: m:f\n  timeout: soon\n",
            "tools.yaml:3: tool 'a': timeout must be a number of seconds > 0, got 'soon'",
        ),
        (
            "a:\n  function: m:f\n  description: 12\n",
            "tools.yaml:3: tool 'a': 'description' must be a string, got the scalar '12'",
        ),
        (
            "a:\n  function: m:f\n  parameters: [1]\n",
            "tools.yaml:3: tool 'a': 'parameters' must be a JSON Schema mapping, got a list",
        ),
        (
            "a:\n  function: m:f\n  parameters:\n    type: object\n    properties:\n"
            "      d: {type: string, default: 2024-01-01}\n",
            "tools.yaml:3: tool 'a': 'parameters' must be plain JSON: $.properties.d.default is a date "
            "(quote it to make it a string)",
        ),
        (
            "a:\n  function: m:f\n  parameters:\n    type: object\n    properties:\n      1: {type: string}\n",
            "tools.yaml:3: tool 'a': 'parameters' must be plain JSON: $.properties has a non-string key 1",
        ),
        (
            "tools:\n  a:\n    function: m:f\nservers: {}\n",
            "tools.yaml:4: unknown top-level key 'servers'; with sections the top-level keys are 'tools' and "
            "'mcp_servers' (tool entries go under 'tools:')",
        ),
        ("tools: [a]\n", "tools.yaml:1: 'tools' must be a mapping of tool names to tool entries"),
        (
            "a:\n  function: !!python/name:os.system\n",
            "tools.yaml:2: invalid YAML value: could not determine a constructor for the tag "
            "'tag:yaml.org,2002:python/name:os.system'",
        ),
    ],
)
def test_bad_entries(tmp_path: Path, text: str, message: str) -> None:
    assert error(tmp_path, text) == message


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        read_tools_file(tmp_path / "nope.yaml", "nope.yaml")
    assert str(info.value) == "tools file not found: nope.yaml"


def test_unreadable_file(tmp_path: Path) -> None:
    (tmp_path / "bin.yaml").write_bytes(b"a: \xff\xfe\n")
    with pytest.raises(ConfigError) as info:
        read_tools_file(tmp_path / "bin.yaml", "bin.yaml")
    assert str(info.value).startswith("bin.yaml: cannot read the tools file: 'utf-8' codec can't decode byte 0xff")
