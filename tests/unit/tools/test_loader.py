"""load_registry: plugin folders, tools.yaml entries, entry points, overrides, duplicates and error messages."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from crazycall.errors import ConfigError
from crazycall.tools.loader import load_registry
from crazycall.tools.registry import ToolRegistry

TYPES = "array, boolean, integer, null, number, object, string"


@pytest.fixture(autouse=True)
def _forget_plugin_modules() -> Iterator[None]:
    """Plugin files land in sys.modules (as imports do); drop the ones a test added."""
    before = set(sys.modules)
    yield
    for name in set(sys.modules) - before:
        if name.startswith(("crazycall_plugin_", "fakeplug", "helper_tools")):
            del sys.modules[name]


def write(root: Path, relative: str, text: str) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def load(cwd: Path, **kwargs: Any) -> ToolRegistry:
    kwargs.setdefault("entry_points", False)
    return load_registry(cwd=cwd, **kwargs)


def load_error(cwd: Path, **kwargs: Any) -> str:
    with pytest.raises(ConfigError) as info:
        load(cwd, **kwargs)
    return str(info.value)


WEATHER_PLUGIN = """\
    from __future__ import annotations

    from typing import Literal

    import crazycall


    @crazycall.tool
    def get_weather(city: str, unit: Literal["celsius", "fahrenheit"] = "celsius") -> dict:
        \"\"\"Weather for a city.

        Args:
            city: The city.
        \"\"\"
        return {"city": city, "unit": unit}


    def helper() -> None:
        \"\"\"Not decorated, not a tool.\"\"\"


    @crazycall.tool(name="get-time", timeout=3)
    def clock(zone: str) -> str:
        return zone
    """


def test_defaults_missing_is_an_empty_registry(tmp_path: Path) -> None:
    assert len(load(tmp_path)) == 0


def test_plugin_folder_by_default(tmp_path: Path) -> None:
    write(tmp_path, "plugins/weather.py", WEATHER_PLUGIN)
    registry = load(tmp_path)
    assert registry.names() == ["get_weather", "get-time"]
    weather, clock = registry.get("get_weather"), registry.get("get-time")
    assert weather is not None and clock is not None
    assert (weather.source, clock.source) == ("plugins/weather.py:9", "plugins/weather.py:23")
    assert weather.spec.description == "Weather for a city."
    assert weather.spec.parameters == {
        "type": "object",
        "properties": {
            "city": {"type": "string", "description": "The city."},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"], "default": "celsius"},
        },
        "required": ["city"],
        "additionalProperties": False,
    }
    assert (weather.timeout, clock.timeout) == (None, 3.0)
    assert weather({"city": "Oslo"}) == {"city": "Oslo", "unit": "celsius"}
    assert clock({"zone": "UTC"}) == "UTC"


def test_explicit_plugin_file_and_folder_and_sources_outside_cwd(tmp_path: Path) -> None:
    write(tmp_path, "elsewhere/a.py", "import crazycall\n\n@crazycall.tool\ndef a() -> int:\n    return 1\n")
    write(tmp_path, "elsewhere/b.py", "import crazycall\n\n@crazycall.tool\ndef b() -> int:\n    return 2\n")
    write(tmp_path, "one.py", "import crazycall\n\n\n@crazycall.tool\ndef one() -> int:\n    return 3\n")
    project = tmp_path / "project"
    project.mkdir()
    registry = load(project, plugin_paths=[tmp_path / "elsewhere", Path("../one.py")])
    assert registry.names() == ["a", "b", "one"]
    assert [t.source for t in registry] == [
        f"{tmp_path}/elsewhere/a.py:4",
        f"{tmp_path}/elsewhere/b.py:4",
        f"{tmp_path}/one.py:5",
    ]


def test_optional_without_default_receives_none(tmp_path: Path) -> None:
    write(
        tmp_path,
        "plugins/p.py",
        """\
        from typing import Optional
        import crazycall

        @crazycall.tool
        def f(a: str, b: Optional[int]) -> list:
            return [a, b]
        """,
    )
    tool = load(tmp_path).get("f")
    assert tool is not None
    assert tool.spec.parameters["required"] == ["a"]
    assert tool({"a": "x"}) == ["x", None]
    assert tool({"a": "x", "b": 2}) == ["x", 2]


YAML_WITH_ALL_FORMS = """\
    get_weather:
      description: From YAML
      timeout: 7
    lookup:
      function: lib/shop.py:search
      parameters:
        type: object
        properties:
          q: {type: string}
        required: [q]
    dumps:
      function: json:dumps
      description: Serialise
      parameters: {type: object, properties: {obj: {}}, required: [obj]}
    derived:
      function: lib/shop.py:derived
    """


def test_yaml_entries_override_and_define(tmp_path: Path) -> None:
    write(tmp_path, "plugins/weather.py", WEATHER_PLUGIN)
    write(tmp_path, "tools.yaml", YAML_WITH_ALL_FORMS)
    write(
        tmp_path,
        "lib/shop.py",
        """\
        def search(q):
            return ["result for " + q]

        def derived(n: int = 2) -> int:
            \"\"\"Twice n.\"\"\"
            return n * 2
        """,
    )
    registry = load(tmp_path)
    assert registry.names() == ["get_weather", "lookup", "dumps", "derived", "get-time"]
    weather = registry.get("get_weather")
    assert weather is not None
    # description and timeout from YAML, parameters still derived from the plugin function
    assert (weather.spec.description, weather.timeout, weather.source) == ("From YAML", 7.0, "tools.yaml:1")
    assert weather.spec.parameters["required"] == ["city"]
    lookup, dumps, derived = registry.get("lookup"), registry.get("dumps"), registry.get("derived")
    assert lookup is not None and dumps is not None and derived is not None
    assert (lookup.spec.description, lookup.source, lookup({"q": "shoes"})) == (
        "",
        "tools.yaml:4",
        ["result for shoes"],
    )
    assert dumps({"obj": [1]}) == "[1]" and dumps.spec.description == "Serialise"
    assert derived.spec == derived.spec.__class__(
        name="derived",
        description="Twice n.",
        parameters={
            "type": "object",
            "properties": {"n": {"type": "integer", "default": 2}},
            "additionalProperties": False,
        },
    )
    assert derived({}) == 4


def test_yaml_parameters_override_a_plugin_schema(tmp_path: Path) -> None:
    write(tmp_path, "plugins/weather.py", WEATHER_PLUGIN)
    write(
        tmp_path,
        "tools.yaml",
        "get_weather:\n  parameters: {type: object, properties: {city: {type: string}}, required: [city]}\n",
    )
    tool = load(tmp_path).get("get_weather")
    assert tool is not None
    assert tool.spec.parameters == {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    assert tool.spec.description == "Weather for a city."


def test_a_file_named_by_function_and_in_the_plugin_folder_runs_once(tmp_path: Path) -> None:
    write(tmp_path, "plugins/weather.py", textwrap.dedent(WEATHER_PLUGIN) + "\nRUNS = []\nRUNS.append(1)\n")
    write(tmp_path, "tools.yaml", "get_weather:\n  function: plugins/weather.py:get_weather\n")
    registry = load(tmp_path)
    assert registry.names() == ["get_weather", "get-time"]
    tool = registry.get("get_weather")
    assert tool is not None and tool.source == "tools.yaml:1"
    assert sys.modules[tool.func.__module__].RUNS == [1]


def test_only_the_named_callable_of_a_function_file_becomes_a_tool(tmp_path: Path) -> None:
    write(tmp_path, "lib/weather.py", WEATHER_PLUGIN)
    write(tmp_path, "tools.yaml", "w:\n  function: lib/weather.py:get_weather\n")
    assert load(tmp_path).names() == ["w"]


def test_the_same_function_reached_twice_counts_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = tmp_path / "site"
    write(site, "helper_tools.py", "import crazycall\n\n@crazycall.tool\ndef shared() -> int:\n    return 1\n")
    monkeypatch.syspath_prepend(str(site))
    write(tmp_path, "plugins/a.py", "from helper_tools import shared\n")
    write(tmp_path, "plugins/b.py", "from helper_tools import shared as again\n")
    registry = load(tmp_path)
    assert registry.names() == ["shared"]
    assert registry.get("shared").source == "site/helper_tools.py:4"  # type: ignore[union-attr]


def test_two_plugin_tools_with_one_name_name_both_sources(tmp_path: Path) -> None:
    write(tmp_path, "plugins/a.py", "import crazycall\n\n@crazycall.tool\ndef dup() -> int:\n    return 1\n")
    write(
        tmp_path,
        "plugins/b.py",
        "import crazycall\n\n\n@crazycall.tool(name='dup')\ndef other() -> int:\n    return 2\n",
    )
    assert load_error(tmp_path) == (
        "tool 'dup' is defined twice: plugins/a.py:4 and plugins/b.py:5; rename one of them"
    )


def test_yaml_function_clashing_with_a_plugin_tool(tmp_path: Path) -> None:
    write(tmp_path, "plugins/weather.py", WEATHER_PLUGIN)
    write(tmp_path, "tools.yaml", "\nget_weather:\n  function: json:dumps\n  parameters: {type: object}\n")
    assert load_error(tmp_path) == (
        "tool 'get_weather' is defined twice: plugins/weather.py:9 and tools.yaml:2; rename one of them"
    )


def test_the_same_name_in_two_yaml_files(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", "x:\n  function: json:dumps\n")
    write(tmp_path, "conf/b.yaml", "y:\n  function: json:loads\nx:\n  function: json:loads\n")
    assert load_error(tmp_path, tool_files=[Path("a.yaml"), Path("conf/b.yaml")]) == (
        "tool 'x' is defined twice: a.yaml:1 and conf/b.yaml:3; rename one of them"
    )


def test_entry_without_function_or_plugin(tmp_path: Path) -> None:
    write(tmp_path, "tools.yaml", "lonely:\n  description: nothing behind me\n")
    assert load_error(tmp_path) == (
        "tools.yaml:1: tool 'lonely' has no 'function:' and no plugin function is named 'lonely'; "
        "add 'function: module:callable' or 'function: path/to/file.py:callable'"
    )


@pytest.mark.parametrize(
    ("function", "message"),
    [
        (
            "no_such_module_xyz:f",
            "cannot import 'no_such_module_xyz:f': ModuleNotFoundError: No module named 'no_such_module_xyz'",
        ),
        ("json:nope", "cannot import 'json:nope': json has no attribute 'nope'"),
        (
            "json.decoder:JSONDecoder.nope",
            "cannot import 'json.decoder:JSONDecoder.nope': json.decoder has no attribute 'nope'",
        ),
        ("string:ascii_letters", "'string:ascii_letters' is not callable (it is str)"),
        ("lib/missing.py:f", "cannot import 'lib/missing.py:f': lib/missing.py does not exist"),
        ("lib/boom.py:f", "cannot import 'lib/boom.py:f': RuntimeError: boom at import"),
        ("lib/fine.py:nope", "cannot import 'lib/fine.py:nope': lib/fine.py has no attribute 'nope'"),
        ("lib/fine.py:coro", "'lib/fine.py:coro' is async; tools must be plain functions"),
    ],
)
def test_function_that_cannot_be_used(tmp_path: Path, function: str, message: str) -> None:
    write(tmp_path, "lib/boom.py", "raise RuntimeError('boom at import')\n")
    write(tmp_path, "lib/fine.py", "async def coro() -> None: ...\n")
    write(tmp_path, "tools.yaml", f"t:\n  description: d\n  function: {function}\n")
    assert load_error(tmp_path) == f"tools.yaml:3: tool 't': {message}"


def test_plugin_that_raises_on_import(tmp_path: Path) -> None:
    write(tmp_path, "plugins/bad.py", "import json\n\ndef f():\n    raise ValueError('x')\n\njson.loads('{oops')\n")
    assert load_error(tmp_path) == (
        "plugins/bad.py: plugin failed to import: json.decoder.JSONDecodeError: Expecting property name "
        "enclosed in double quotes: line 1 column 2 (char 1)"
    )
    assert not any(name.startswith("crazycall_plugin_bad_") for name in sys.modules)


def test_plugin_with_a_syntax_error(tmp_path: Path) -> None:
    write(tmp_path, "plugins/bad.py", "x = 1\ndef f(:\n    pass\n")
    assert load_error(tmp_path) == "plugins/bad.py:2: plugin failed to import: SyntaxError: invalid syntax"


def test_plugin_with_a_bad_decorator_argument(tmp_path: Path) -> None:
    write(tmp_path, "plugins/p.py", "import crazycall\n\n@crazycall.tool(timeout=-1)\ndef f() -> None: ...\n")
    assert load_error(tmp_path) == ("plugins/p.py: @tool(timeout=...): timeout must be a number of seconds > 0, got -1")


def test_plugin_function_with_an_unsupported_annotation(tmp_path: Path) -> None:
    write(tmp_path, "plugins/p.py", "import crazycall\n\n@crazycall.tool\ndef f(x: set) -> None: ...\n")
    assert load_error(tmp_path) == (
        "plugins/p.py:4: function 'f': parameter 'x': unsupported type annotation set; use str, int, float, "
        "bool, list[T], dict, Literal[...], Optional[T] or Annotated[T, 'description']"
    )


def test_plugin_function_name_that_is_not_a_valid_tool_name(tmp_path: Path) -> None:
    write(tmp_path, "plugins/p.py", "import crazycall\n\n@crazycall.tool\ndef café() -> None: ...\n")
    assert load_error(tmp_path) == "plugins/p.py:4: invalid tool name 'café': names must match ^[a-zA-Z0-9_-]{1,64}$"


def test_missing_explicit_paths(tmp_path: Path) -> None:
    assert load_error(tmp_path, tool_files=[Path("extra.yaml")]) == "tools file not found: extra.yaml"
    assert load_error(tmp_path, plugin_paths=[Path("nope")]) == "plugin path not found: nope"
    write(tmp_path, "notes.txt", "hello")
    assert load_error(tmp_path, plugin_paths=[Path("notes.txt")]) == "plugin file must be a .py file: notes.txt"


SCHEMA_YAML = """\
    t:
      function: json:dumps
      parameters:
        type: object
        properties:
          obj:
            type: {type}
            minimum: {minimum}
        required: [obj]
    """


def test_invalid_schema_names_the_yaml_line_and_the_path(tmp_path: Path) -> None:
    write(tmp_path, "tools.yaml", SCHEMA_YAML.format(type="strin", minimum=1))
    expected = (
        "tools.yaml:7: tool 't': parameters are not a valid JSON Schema at $.properties.obj.type: "
        f"'strin' is not a JSON Schema type; use one of {TYPES}"
    )
    assert load_error(tmp_path) == expected
    assert load_error(tmp_path, check_schemas=False) == expected  # the structural check always runs


def test_meta_schema_problems_only_with_check_schemas(tmp_path: Path) -> None:
    write(tmp_path, "tools.yaml", SCHEMA_YAML.format(type="integer", minimum="five"))
    assert load_error(tmp_path) == (
        "tools.yaml:8: tool 't': parameters are not a valid JSON Schema at $.properties.obj.minimum: "
        "'five' is not of type 'number'"
    )
    assert load(tmp_path, check_schemas=False).names() == ["t"]


def test_yaml_schema_that_does_not_fit_the_function(tmp_path: Path) -> None:
    write(tmp_path, "lib/f.py", "def f(city, unit='c'):\n    return city\n")
    write(tmp_path, "tools.yaml", "t:\n  function: lib/f.py:f\n  parameters: {type: object, properties: {town: {}}}\n")
    assert load_error(tmp_path) == "tools.yaml:3: tool 't': schema properties ['town'] are not parameters of f"
    write(tmp_path, "tools.yaml", "t:\n  function: lib/f.py:f\n  parameters: {type: object, properties: {unit: {}}}\n")
    assert load_error(tmp_path) == (
        "tools.yaml:3: tool 't': parameters ['city'] of f have no default and are not in the schema"
    )


# --- entry points --------------------------------------------------------------------------------------------


def fake_distribution(tmp_path: Path, entry_points: str, modules: dict[str, str]) -> Path:
    """A dist-info folder with entry_points.txt, plus its modules, in a folder to put on sys.path."""
    site = tmp_path / "site"
    write(site, "fakeplug-1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: fakeplug\nVersion: 1.0\n")
    write(site, "fakeplug-1.0.dist-info/entry_points.txt", entry_points)
    for name, text in modules.items():
        write(site, name, text)
    return site


FAKE_MODULE = """\
    import crazycall

    @crazycall.tool
    def from_package(n: int) -> int:
        \"\"\"Doubles.\"\"\"
        return 2 * n

    @crazycall.tool(name="single-one")
    def single() -> str:
        return "one"
    """


def test_entry_points_contribute_tools(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = fake_distribution(
        tmp_path,
        "[crazycall.plugins]\nfake = fakeplug_tools\n[console_scripts]\nignored = fakeplug_tools:single\n",
        {"fakeplug_tools.py": FAKE_MODULE},
    )
    monkeypatch.syspath_prepend(str(site))
    write(tmp_path, "project/tools.yaml", "from_package:\n  description: Overridden\n")
    registry = load_registry(cwd=tmp_path / "project")
    assert registry.names() == ["from_package", "single-one"]
    tool = registry.get("from_package")
    assert tool is not None and tool({"n": 4}) == 8
    assert (tool.spec.description, tool.source) == ("Overridden", "tools.yaml:1")
    assert registry.get("single-one").source == f"{site}/fakeplug_tools.py:9"  # type: ignore[union-attr]
    # without entry points the override has nothing to refine
    with pytest.raises(ConfigError, match=r"^tools\.yaml:1: tool 'from_package' has no 'function:'"):
        load_registry(cwd=tmp_path / "project", entry_points=False)
    assert load_registry(cwd=tmp_path, entry_points=False).names() == []


def test_entry_point_naming_one_function(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = fake_distribution(
        tmp_path, "[crazycall.plugins]\none = fakeplug_tools:single\n", {"fakeplug_tools.py": FAKE_MODULE}
    )
    monkeypatch.syspath_prepend(str(site))
    assert load_registry(cwd=tmp_path).names() == ["single-one"]


def test_entry_point_that_fails_to_import(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = fake_distribution(
        tmp_path, "[crazycall.plugins]\nbroken = fakeplug_broken\n", {"fakeplug_broken.py": "1 / 0\n"}
    )
    monkeypatch.syspath_prepend(str(site))
    with pytest.raises(ConfigError) as info:
        load_registry(cwd=tmp_path)
    assert str(info.value) == (
        "entry point broken = fakeplug_broken (from fakeplug): plugin failed to import: "
        "ZeroDivisionError: division by zero"
    )


def test_entry_point_naming_something_else(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = fake_distribution(
        tmp_path, "[crazycall.plugins]\nodd = fakeplug_odd:VALUE\n", {"fakeplug_odd.py": "VALUE = 3\n"}
    )
    monkeypatch.syspath_prepend(str(site))
    with pytest.raises(ConfigError) as info:
        load_registry(cwd=tmp_path)
    assert str(info.value) == (
        "entry point odd = fakeplug_odd:VALUE (from fakeplug): must name a module or a @crazycall.tool function"
    )


def test_entry_point_tool_clashing_with_a_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = fake_distribution(
        tmp_path, "[crazycall.plugins]\nfake = fakeplug_tools\n", {"fakeplug_tools.py": FAKE_MODULE}
    )
    monkeypatch.syspath_prepend(str(site))
    write(tmp_path, "plugins/mine.py", "import crazycall\n\n@crazycall.tool\ndef from_package() -> None: ...\n")
    with pytest.raises(ConfigError) as info:
        load_registry(cwd=tmp_path)
    assert str(info.value) == (
        "tool 'from_package' is defined twice: plugins/mine.py:4 and site/fakeplug_tools.py:4; rename one of them"
    )


def test_derivation_errors_point_at_the_plugin_even_when_yaml_refines_it(tmp_path: Path) -> None:
    write(tmp_path, "plugins/p.py", "import crazycall\n\n@crazycall.tool\ndef f(x: set) -> None: ...\n")
    write(tmp_path, "tools.yaml", "f:\n  description: refined\n")
    assert load_error(tmp_path).startswith("plugins/p.py:4: function 'f': parameter 'x': unsupported type")
    write(tmp_path, "tools.yaml", "g:\n  function: plugins/p.py:f\n")
    assert load_error(tmp_path).startswith("tools.yaml:1: function 'f': parameter 'x': unsupported type")


def test_the_quick_entry_point_scan_says_no_only_when_sure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from importlib.machinery import PathFinder

    from crazycall.tools.plugins import ENTRY_POINT_GROUP, may_declare_entry_points

    site = fake_distribution(tmp_path, "[console_scripts]\nx = fakeplug_tools:single\n", {})
    write(site, "other-2.0.egg-info/PKG-INFO", "Name: other\n")  # an egg-info folder without entry points
    monkeypatch.setattr(sys, "path", [str(site), str(tmp_path / "missing")])
    monkeypatch.setattr(sys, "meta_path", [PathFinder])
    assert not may_declare_entry_points(ENTRY_POINT_GROUP)  # what importlib.metadata would find: nothing
    write(site, "other-2.0.egg-info/entry_points.txt", "[crazycall.plugins]\nt = other_tools\n")
    assert may_declare_entry_points(ENTRY_POINT_GROUP)
    (site / "other-2.0.egg-info/entry_points.txt").unlink()
    (tmp_path / "bundle.zip").write_bytes(b"")
    for unsure in ("bundle.zip", "old.egg"):  # a zip or an egg on the path: importlib.metadata decides
        monkeypatch.setattr(sys, "path", [str(site), str(tmp_path / unsure)])
        assert may_declare_entry_points(ENTRY_POINT_GROUP)
    monkeypatch.setattr(sys, "path", [str(site)])

    class Finder:  # another finder that lists distributions
        @staticmethod
        def find_distributions(*_args: object) -> list[object]:
            return []

    monkeypatch.setattr(sys, "meta_path", [PathFinder, Finder])
    assert may_declare_entry_points(ENTRY_POINT_GROUP)
