"""`crazycall tools list|show|call` through the real Typer app, plus real subprocess runs."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import REPO
from tests.integration.conftest import cli as run

PLUGIN = """\
    from __future__ import annotations

    import threading
    from typing import Literal

    import crazycall

    RELEASE = threading.Event()


    @crazycall.tool
    def get_weather(city: str, unit: Literal["celsius", "fahrenheit"] = "celsius") -> dict:
        \"\"\"Weather for a city.\"\"\"
        return {"city": city, "unit": unit, "temperature": 21}


    @crazycall.tool
    def boom(reason: str = "kaput") -> None:
        \"\"\"Always fails.\"\"\"
        raise RuntimeError(reason)


    @crazycall.tool(timeout=0.2)
    def slow() -> str:
        \"\"\"Waits until released.\"\"\"
        RELEASE.wait(5)
        return "late"
    """

TOOLS_YAML = """\
    get_weather:
      description: Current weather (YAML) [sample]
      timeout: 9
    """


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    (tmp_path / "plugins").mkdir()
    (tmp_path / "plugins" / "weather.py").write_text(textwrap.dedent(PLUGIN), encoding="utf-8")
    (tmp_path / "tools.yaml").write_text(textwrap.dedent(TOOLS_YAML), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "200")
    before = set(sys.modules)
    yield tmp_path
    for name in set(sys.modules) - before:
        if name.startswith("crazycall_plugin_"):
            module = sys.modules.pop(name)
            if hasattr(module, "RELEASE"):
                module.RELEASE.set()


EXPECTED_LIST: list[dict[str, Any]] = [
    {
        "name": "get_weather",
        "description": "Current weather (YAML) [sample]",
        "source": "tools.yaml:1",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"], "default": "celsius"},
            },
            "required": ["city"],
            "additionalProperties": False,
        },
        "timeout": 9.0,
        "kind": "python",
        "confirm": False,
        "function_source": "plugins/weather.py:12",  # the def that tools.yaml refines
    },
    {
        "name": "boom",
        "description": "Always fails.",
        "source": "plugins/weather.py:18",
        "parameters": {
            "type": "object",
            "properties": {"reason": {"type": "string", "default": "kaput"}},
            "additionalProperties": False,
        },
        "timeout": None,
        "kind": "python",
        "confirm": False,
    },
    {
        "name": "slow",
        "description": "Waits until released.",
        "source": "plugins/weather.py:24",
        "parameters": {"type": "object", "properties": {}, "additionalProperties": False},
        "timeout": 0.2,
        "kind": "python",
        "confirm": False,
    },
]


def test_list_json(project: Path) -> None:
    code, out, err = run("tools", "list", "--json")
    assert (code, err) == (0, "")
    assert json.loads(out) == EXPECTED_LIST


def test_list_table(project: Path) -> None:
    code, out, _ = run("tools", "list")
    assert code == 0
    rows = [line.split("\t") for line in out.splitlines()]  # not a terminal: tab-separated, one tool a line
    assert rows == [
        [
            "get_weather",
            "city: string, unit?: celsius|fahrenheit",
            "tools.yaml:1, def plugins/weather.py:12",
            "Current weather (YAML) [sample]",
        ],
        ["boom", "reason?: string", "plugins/weather.py:18", "Always fails."],
        ["slow", "", "plugins/weather.py:24", "Waits until released."],
    ]


def test_list_with_no_tools(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert run("tools", "list", "--json") == (0, "[]\n", "")
    code, out, err = run("tools", "list")
    assert (code, out) == (0, "")
    assert err == "no tools found (looked for ./tools.yaml and ./plugins; see -t/--tools, --plugins)\n"


def test_explicit_tools_and_plugins_flags_are_repeatable(project: Path) -> None:
    (project / "more").mkdir()
    (project / "more" / "a.yaml").write_text("echo:\n  function: json:dumps\n  parameters: {type: object}\n")
    (project / "more" / "b.yaml").write_text("slow:\n  description: Overridden slow\n")
    (project / "more" / "extra.py").write_text(
        "import crazycall\n\n@crazycall.tool\ndef extra() -> int:\n    return 1\n"
    )
    code, out, err = run(
        "tools",
        "list",
        "--json",
        "-t",
        "more/a.yaml",
        "--tools",
        "more/b.yaml",
        "--plugins",
        "plugins",
        "--plugins",
        "more/extra.py",
    )
    assert (code, err) == (0, "")
    assert [(t["name"], t["source"], t["description"]) for t in json.loads(out)] == [
        ("echo", "more/a.yaml:1", "Serialize ``obj`` to a JSON formatted ``str``."),  # json.dumps's docstring
        ("slow", "more/b.yaml:1", "Overridden slow"),
        ("get_weather", "plugins/weather.py:12", "Weather for a city."),
        ("boom", "plugins/weather.py:18", "Always fails."),
        ("extra", "more/extra.py:4", ""),
    ]


def test_list_check_runs_the_meta_schema_check(project: Path) -> None:
    (project / "tools.yaml").write_text(
        "n:\n  function: json:dumps\n  parameters:\n    type: object\n    properties:\n"
        "      obj: {type: integer, minimum: five}\n"
    )
    code, out, _ = run("tools", "list", "--json")
    assert code == 0 and [t["name"] for t in json.loads(out)] == ["n", "get_weather", "boom", "slow"]
    code, out, err = run("tools", "list", "--check")
    assert (code, out) == (3, "")
    assert err == (
        "crazycall: error: tools.yaml:6: tool 'n': parameters are not a valid JSON Schema at "
        "$.properties.obj.minimum: 'five' is not of type 'number'\n"
    )


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        (
            "a:\n  description: [1\n",
            "tools.yaml:3:1: invalid YAML: while parsing a flow sequence, expected ',' or ']', but got '<stream end>'",
        ),
        (
            "get_weather:\n  descripton: x\n",
            "tools.yaml:2: tool 'get_weather': unknown key 'descripton' (did you "
            "mean 'description'?); allowed: description, parameters, function, command, stdin, cwd, env, "
            "allow_options, ok_exit_codes, timeout, confirm",
        ),
        (
            "t:\n  function: nowhere_xyz:f\n",
            "tools.yaml:2: tool 't': cannot import 'nowhere_xyz:f': ModuleNotFoundError: No module named 'nowhere_xyz'",
        ),
        (
            "boom:\n  function: json:dumps\n  parameters: {type: object}\n",
            "tool 'boom' is defined twice: plugins/weather.py:18 and tools.yaml:1; rename one of them",
        ),
    ],
)
def test_bad_configuration_is_one_line_and_exit_3(project: Path, yaml_text: str, message: str) -> None:
    (project / "tools.yaml").write_text(yaml_text)
    for command in (["tools", "list"], ["tools", "show", "x"], ["tools", "call", "x", "{}"]):
        assert run(*command) == (3, "", f"crazycall: error: {message}\n")


def test_missing_tools_file_and_broken_plugin(project: Path) -> None:
    assert run("tools", "list", "-t", "nope.yaml") == (3, "", "crazycall: error: tools file not found: nope.yaml\n")
    (project / "plugins" / "broken.py").write_text("import no_such_dependency_xyz\n")
    assert run("tools", "list") == (
        3,
        "",
        "crazycall: error: plugins/broken.py: plugin failed to import: ModuleNotFoundError: No module named "
        "'no_such_dependency_xyz'\n",
    )


def test_show(project: Path) -> None:
    code, out, err = run("tools", "show", "get_weather", "--json")
    assert (code, err) == (0, "")
    assert json.loads(out) == EXPECTED_LIST[0]
    code, out, _ = run("tools", "show", "get_weather")
    assert code == 0
    lines = out.splitlines()
    assert lines[:3] == [
        "get_weather  (tools.yaml:1, def plugins/weather.py:12)",
        "Current weather (YAML) [sample]",
        "timeout: 9s",
    ]
    assert json.loads("\n".join(lines[3:])) == EXPECTED_LIST[0]["parameters"]


def test_show_unknown_tool_lists_the_known_ones(project: Path) -> None:
    assert run("tools", "show", "nope") == (
        2,
        "",
        "crazycall: error: unknown tool 'nope'; known: get_weather, boom, slow\n",
    )


def test_call_prints_the_result_as_json(project: Path) -> None:
    code, out, err = run("tools", "call", "get_weather", '{"city": "Beijing"}')
    assert (code, err) == (0, "")
    assert json.loads(out) == {"city": "Beijing", "unit": "celsius", "temperature": 21}
    code, out, _ = run("tools", "call", "get_weather", "-", input='{"city": "Oslo", "unit": "fahrenheit"}')
    assert (code, json.loads(out)) == (0, {"city": "Oslo", "unit": "fahrenheit", "temperature": 21})


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            "{city: Beijing}",
            "arguments for tool 'get_weather' are not valid JSON: Expecting property name "
            "enclosed in double quotes: line 1 column 2 (char 1)",
        ),
        ('["Beijing"]', "arguments for tool 'get_weather' must be a JSON object, got list"),
        (
            '{"unit": "kelvin", "town": 1}',
            "invalid arguments for tool 'get_weather': $: 'city' is a required "
            "property; $: Additional properties are not allowed ('town' was unexpected); $.unit: 'kelvin' is not one "
            "of ['celsius', 'fahrenheit']",
        ),
    ],
)
def test_call_with_bad_arguments_exits_2(project: Path, arguments: str, message: str) -> None:
    assert run("tools", "call", "get_weather", arguments) == (2, "", f"crazycall: error: {message}\n")


def test_call_unknown_tool_exits_2(project: Path) -> None:
    assert run("tools", "call", "nope", "{}")[0::2] == (
        2,
        "crazycall: error: unknown tool 'nope'; known: get_weather, boom, slow\n",
    )


def test_call_a_tool_that_raises_exits_8(project: Path) -> None:
    assert run("tools", "call", "boom") == (8, "", "crazycall: error: tool boom failed: RuntimeError: kaput\n")
    assert run("tools", "call", "boom", '{"reason": "no\\nway"}') == (
        8,
        "",
        "crazycall: error: tool boom failed: RuntimeError: no way\n",
    )


def test_call_gives_up_after_the_tool_timeout(project: Path) -> None:
    assert run("tools", "call", "slow") == (
        8,
        "",
        "crazycall: error: tool slow failed: TimeoutError: no result after 0.2s\n",
    )
    assert any(t.name == "tool-slow" for t in threading.enumerate())  # released by the fixture


# --- real processes ------------------------------------------------------------------------------------------


def python(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False)


def test_subprocess_tools_list_json(project: Path) -> None:
    done = python("-m", "crazycall", "tools", "list", "--json", cwd=project)
    assert (done.returncode, done.stderr) == (0, "")
    assert json.loads(done.stdout) == EXPECTED_LIST


PROBE = """\
import json, sys
from crazycall.cli import main
sys.argv = ["crazycall", "tools", "list", *sys.argv[1:]]
try:
    main()
except SystemExit as exc:
    code = exc.code
heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("httpx", "httpx_sse", "jsonschema"))
print(json.dumps({"code": code, "heavy": heavy}), file=sys.stderr)
"""


@pytest.mark.parametrize("flags", [[], ["--json"]])
def test_tools_list_does_not_import_httpx_or_jsonschema(project: Path, flags: list[str]) -> None:
    done = python("-c", PROBE, *flags, cwd=project)
    assert json.loads(done.stderr.splitlines()[-1]) == {"code": 0, "heavy": []}
    assert "get_weather" in done.stdout


def test_tools_list_check_does_import_jsonschema(project: Path) -> None:
    # a control for the test above: the probe does see jsonschema once something imports it
    done = python("-c", PROBE, "--check", cwd=project)
    probe = json.loads(done.stderr.splitlines()[-1])
    assert probe["code"] == 0 and "jsonschema" in probe["heavy"]


def test_the_repository_example_runs_from_the_repo_root() -> None:
    weather = python("-m", "crazycall", "tools", "call", "get_weather", '{"city": "Beijing"}', cwd=REPO)
    assert (weather.returncode, weather.stderr) == (0, "")
    result = json.loads(weather.stdout)
    assert (result["city"], result["unit"], result["sample_data"]) == ("Beijing", "celsius", True)
    clock = python("-m", "crazycall", "tools", "call", "get_time", '{"timezone": "Asia/Shanghai"}', cwd=REPO)
    assert (clock.returncode, clock.stderr) == (0, "")
    assert json.loads(clock.stdout)["utc_offset"] == "+08:00"
    bad = python("-m", "crazycall", "tools", "call", "get_time", '{"timezone": "Mars/Base"}', cwd=REPO)
    assert (bad.returncode, bad.stdout) == (8, "")
    assert bad.stderr == (
        "crazycall: error: tool get_time failed: ValueError: unknown time zone 'Mars/Base'; use an IANA name "
        "such as 'Europe/Paris' or 'Asia/Shanghai'\n"
    )
