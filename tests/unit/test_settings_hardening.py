"""Hostile settings and YAML: ranges, base URLs, missing config files, alias bombs, one owner of defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from crazycall import yaml_read
from crazycall.errors import ConfigError, UsageError
from crazycall.redact import mask_url_credentials, redact
from crazycall.settings import DEFAULTS, check_base_url, load_settings


def write_config(tmp_path: Path, text: str) -> dict[str, str]:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return {"CRAZYCALL_CONFIG": str(path)}


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("model: x\ntimeout: .inf\n", 2, "'timeout' must be > 0"),
        ("timeout: 0\n", 1, "'timeout' must be > 0"),
        ("tool_timeout: -3\n", 1, "'tool_timeout' must be > 0"),
        ("max_turns: -1\n", 1, "'max_turns' must be >= 1"),
        ("max_turns: ten\n", 1, "'max_turns' must be a whole number"),
        ("result_limit: -5\n", 1, "'result_limit' must be >= 1"),
        ("max_retries: -1\n", 1, "'max_retries' must be >= 0"),
        ("max_tokens: 0\n", 1, "'max_tokens' must be >= 1"),
        ("timeout: 1" + "0" * 400 + "\n", 1, "'timeout' must be > 0 and <= 1000000"),
        ("max_turns: 1" + "0" * 400 + "\n", 1, "'max_turns' must be >= 1 and <= 1000000, got a number of more"),
        ("max_turns: 1" + "0" * 5000 + "\n", 1, "invalid YAML value: Exceeds the limit"),
        ("model: x\ntimeout: 2024-99-99\n", 2, "invalid YAML value"),
        ("model: x\n\nroutes:\n  'my-*': grpc\n", 4, "unknown protocol 'grpc'"),
        ("routes:\n  'my-*': Messages\n", 2, "did you mean 'messages'?"),
        ("base_url: 127.0.0.1:8787\n", 1, "'base_url' must start with http:// or https://"),
        ("modle: x\n", 1, "did you mean 'model'?"),
        ("model: a\nmodel: b\n", 2, "'model' is given twice"),
    ],
)
def test_config_values_out_of_range_name_file_and_line(tmp_path: Path, text: str, line: int, fragment: str) -> None:
    env = write_config(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_settings(env=env)
    message = str(info.value)
    assert message.startswith(f"{tmp_path / 'config.yaml'}:{line}: "), message
    assert fragment in message


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"timeout": -1.0}, "--timeout must be > 0"),
        ({"timeout": float("inf")}, "--timeout must be > 0"),
        ({"tool_timeout": 0.0}, "--tool-timeout must be > 0"),
        ({"max_turns": 0}, "--max-turns must be >= 1"),
        ({"max_retries": -2}, "--max-retries must be >= 0"),
        ({"base_url": "127.0.0.1:8787"}, "--base-url must start with http://"),
        ({"base_url": "ftp://host"}, "--base-url must start with http://"),
        ({"base_url": "http://host:port"}, "--base-url is not a valid URL"),
    ],
)
def test_flag_values_out_of_range_are_usage_errors(kwargs: dict[str, object], fragment: str) -> None:
    with pytest.raises(UsageError, match=fragment):
        load_settings(kwargs, env={})


def test_environment_base_url_is_a_usage_error_naming_the_variable() -> None:
    with pytest.raises(UsageError, match="CRAZYROUTER_BASE_URL must start with http://"):
        load_settings(env={"CRAZYROUTER_BASE_URL": "localhost:8080"})


@pytest.mark.parametrize(
    ("given", "expected", "note"),
    [
        ("http://127.0.0.1:8787/v1", "http://127.0.0.1:8787", "trailing /v1 removed"),
        ("http://127.0.0.1:8787/v1/", "http://127.0.0.1:8787", "trailing /v1 removed"),
        ("https://proxy.example/llm/v1beta", "https://proxy.example/llm", "trailing /v1beta removed"),
        ("https://crazyrouter.com/", "https://crazyrouter.com", None),
        ("https://crazyrouter.com/v10", "https://crazyrouter.com/v10", None),
    ],
)
def test_sdk_style_base_url_loses_its_version_suffix(given: str, expected: str, note: str | None) -> None:
    assert check_base_url(given) == (expected, note)
    settings = load_settings(base_url=given, env={})
    assert settings.base_url == expected
    assert settings.sources["base_url"] == ("flag; " + note if note else "flag")


def test_crazycall_config_naming_a_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nope\.yaml: config file not found \(CRAZYCALL_CONFIG"):
        load_settings(env={"CRAZYCALL_CONFIG": str(tmp_path / "nope.yaml")})


def test_defaults_in_force_have_one_owner() -> None:
    import crazycall.loop
    import crazycall.tools.registry
    import crazycall.tools.runner
    import crazycall.transport

    s = load_settings(env={})
    assert (s.max_turns, s.max_retries, s.tool_timeout, s.result_limit) == (10, 2, 60.0, 65536)
    assert {n: s.sources[n] for n in ("max_turns", "max_retries", "tool_timeout", "result_limit")} == dict.fromkeys(
        ("max_turns", "max_retries", "tool_timeout", "result_limit"), "default"
    )
    assert crazycall.loop.LoopOptions().max_turns is DEFAULTS["max_turns"]
    assert crazycall.transport.TransportOptions().max_retries is DEFAULTS["max_retries"]
    assert crazycall.tools.registry.DEFAULT_TOOL_TIMEOUT is DEFAULTS["tool_timeout"]
    assert crazycall.tools.runner.DEFAULT_RESULT_LIMIT is DEFAULTS["result_limit"]


def test_credentials_in_the_base_url_are_masked() -> None:
    url = "http://alice:hunter2-pw@127.0.0.1:9/v1"
    assert mask_url_credentials(url) == "http://***@127.0.0.1:9/v1"
    s = load_settings(base_url=url, env={})
    assert s.redacted()["base_url"] == "http://***@127.0.0.1:9"
    assert "hunter2-pw" not in redact(f"connect to {s.base_url} failed")


BOMB = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 10)}]\n" for i in range(8)
)


def test_alias_bomb_is_refused_before_it_expands() -> None:
    with pytest.raises(ConfigError, match=r"f\.yaml:\d+: refusing a YAML document that expands to more than"):
        yaml_read.compose(BOMB, "f.yaml")


def test_recursive_alias_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"f\.yaml:1: a YAML alias refers to a node that contains it"):
        yaml_read.compose("a: &a [1, *a]\n", "f.yaml")


def test_shared_aliases_below_the_limit_are_fine() -> None:
    root = yaml_read.compose("base: &b {type: string}\nx: *b\ny: *b\n", "f.yaml", max_nodes=20)
    assert root is not None
    assert yaml_read.construct(root, "f.yaml") == {
        "base": {"type": "string"},
        "x": {"type": "string"},
        "y": {"type": "string"},
    }
    with pytest.raises(ConfigError, match="more than 8 nodes"):
        yaml_read.compose("base: &b {type: string}\nx: *b\ny: *b\n", "f.yaml", max_nodes=8)


def test_config_alias_bomb_is_a_config_error(tmp_path: Path) -> None:
    env = write_config(tmp_path, BOMB)
    with pytest.raises(ConfigError, match="refusing a YAML document"):
        load_settings(env=env)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("routes:\n  1: chat\n", "routes must map a model glob (a string) to a protocol name, got 1: 'chat'"),
        ("routes:\n  'x*': [chat]\n", "routes must map a model glob (a string) to a protocol name"),
        ("model: ''\n", "setting 'model' must not be empty"),
    ],
)
def test_config_routes_and_strings_are_checked(tmp_path: Path, text: str, fragment: str) -> None:
    with pytest.raises(ConfigError, match=r"config\.yaml:\d+: ") as info:
        load_settings(env=write_config(tmp_path, text))
    assert fragment in str(info.value)


def test_deep_nesting_is_refused_before_anything_recurses_into_it() -> None:
    deep = "x: " + "[" * 150 + "]" * 150 + "\n"
    with pytest.raises(ConfigError, match=r"f\.yaml:1: refusing YAML nested more than 100 levels deep"):
        yaml_read.compose(deep, "f.yaml")
    assert yaml_read.compose("x: " + "[" * 50 + "]" * 50 + "\n", "f.yaml") is not None


def test_a_yaml_file_larger_than_the_limit_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_text("a: " + "x" * 100 + "\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"big\.yaml: the tools file is larger than 50 bytes"):
        yaml_read.read_text(path, "big.yaml", "tools file", max_bytes=50)
    assert yaml_read.read_text(path, "big.yaml", "tools file", max_bytes=200).startswith("a: x")
