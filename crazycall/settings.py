"""Settings resolution in one place: flag > environment > config file > defaults.

Owns the names of the environment variables, the config file location and format, and the record of where
each effective value came from (``crazycall config show``). It does not parse CLI flags (cli/commands do) and
does not validate protocols (protocols/__init__ does).

Config file (YAML, ``$XDG_CONFIG_HOME/crazycall/config.yaml`` or ``CRAZYCALL_CONFIG``)::

    api_key: sk-...          # prefer the CRAZYROUTER_API_KEY environment variable
    base_url: https://crazyrouter.com
    model: gpt-5.4
    timeout: 600             # seconds, whole request
    max_turns: 10
    routes:                  # model glob -> protocol, checked before the built-in routes
      "my-claude-*": messages
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crazycall.errors import ConfigError, UsageError

DEFAULT_BASE_URL = "https://crazyrouter.com"
DEFAULT_MODEL = "gpt-5.4"

ENV_API_KEY = "CRAZYROUTER_API_KEY"
ENV_BASE_URL = "CRAZYROUTER_BASE_URL"
ENV_MODEL = "CRAZYCALL_MODEL"
ENV_CONFIG = "CRAZYCALL_CONFIG"

#: config-file keys and the type each must have
CONFIG_KEYS: dict[str, type | tuple[type, ...]] = {
    "api_key": str,
    "base_url": str,
    "model": str,
    "routes": dict,
    "timeout": (int, float),
    "max_turns": int,
    "max_tokens": int,
    "max_retries": int,
    "tool_timeout": (int, float),
    "result_limit": int,
}


@dataclass(frozen=True)
class Settings:
    api_key: str | None
    base_url: str
    model: str
    routes: dict[str, str] = field(default_factory=dict)
    timeout: float | None = None
    max_turns: int | None = None
    max_tokens: int | None = None
    max_retries: int | None = None
    tool_timeout: float | None = None
    result_limit: int | None = None
    """Characters of a tool result sent to the model before it is truncated (None: 64 KiB)."""
    config_path: Path | None = None
    sources: dict[str, str] = field(default_factory=dict)
    """field name -> where its value came from: ``flag``, ``env NAME``, ``config PATH``, ``default``."""

    def redacted(self) -> dict[str, Any]:
        """The effective settings as a dict, the key masked (``config show``)."""
        key = None
        if self.api_key:
            key = self.api_key[:3] + "***" if len(self.api_key) > 12 else "***"
        return {
            "api_key": key,
            "base_url": self.base_url,
            "model": self.model,
            "routes": dict(self.routes),
            "timeout": self.timeout,
            "max_turns": self.max_turns,
            "max_tokens": self.max_tokens,
            "max_retries": self.max_retries,
            "tool_timeout": self.tool_timeout,
            "result_limit": self.result_limit,
        }


def config_file_path(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    if env.get(ENV_CONFIG):
        return Path(env[ENV_CONFIG])
    base = env.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "crazycall" / "config.yaml"


def read_config_file(path: Path) -> dict[str, Any]:
    """Parse and check the config file; a missing file is an empty config."""
    if not path.is_file():
        return {}
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise ConfigError(f"{where}: invalid YAML: {exc.problem or exc}") from None
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read config: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the config file must be a mapping of settings, got {type(data).__name__}")
    for key, value in data.items():
        if key not in CONFIG_KEYS:
            raise ConfigError(f"{path}: unknown setting {key!r}; known: {', '.join(CONFIG_KEYS)}")
        expected = CONFIG_KEYS[key]
        if not isinstance(value, expected) or isinstance(value, bool):
            raise ConfigError(f"{path}: setting {key!r} has the wrong type ({type(value).__name__})")
    routes = data.get("routes") or {}
    for glob, proto in routes.items():
        if not isinstance(glob, str) or not isinstance(proto, str):
            raise ConfigError(f"{path}: routes must map a model glob to a protocol name, got {glob!r}: {proto!r}")
    return data


def check_api_key(key: str | None, source: str) -> None:
    """A key that cannot go into an HTTP header (a newline, a control or non-ASCII character: a paste or a
    file read with its line end) is a usage error that names where it came from, never the key itself."""
    if not key:
        return
    bad = next((ch for ch in key if not " " <= ch < "\x7f"), None)
    if bad is None:
        return
    where = {"flag": "--api-key"}.get(source, source.replace("env ", "environment variable ").removeprefix("config "))
    what = "a newline" if bad in "\r\n" else "a control character"
    if ord(bad) > 0x7F:
        what = "a non-ASCII character"
    at = key.index(bad) + 1
    raise UsageError(f"the API key from {where} contains {what} (character {at} of {len(key)}); check how it was set")


def load_settings(
    *,
    api_key: str | None = None,
    base_url: str | None = None,
    model: str | None = None,
    timeout: float | None = None,
    max_turns: int | None = None,
    max_tokens: int | None = None,
    max_retries: int | None = None,
    tool_timeout: float | None = None,
    env: Mapping[str, str] | None = None,
) -> Settings:
    """Resolve every setting from flags (the arguments), the environment, the config file and defaults."""
    from crazycall.redact import remember

    env = os.environ if env is None else env
    path = config_file_path(env)
    config = read_config_file(path)
    sources: dict[str, str] = {}
    values: dict[str, Any] = {}

    def pick(name: str, flag: Any, env_name: str | None, default: Any) -> None:
        if flag is not None:
            values[name], sources[name] = flag, "flag"
        elif env_name and env.get(env_name):
            values[name], sources[name] = env[env_name], f"env {env_name}"
        elif name in config:
            values[name], sources[name] = config[name], f"config {path}"
        else:
            values[name], sources[name] = default, "default"

    pick("api_key", api_key, ENV_API_KEY, None)
    pick("base_url", base_url, ENV_BASE_URL, DEFAULT_BASE_URL)
    pick("model", model, ENV_MODEL, DEFAULT_MODEL)
    pick("timeout", timeout, None, None)
    pick("max_turns", max_turns, None, None)
    pick("max_tokens", max_tokens, None, None)
    pick("max_retries", max_retries, None, None)
    pick("tool_timeout", tool_timeout, None, None)
    pick("result_limit", None, None, None)
    routes = dict(config.get("routes") or {})
    sources["routes"] = f"config {path}" if routes else "default"
    check_api_key(values["api_key"], sources["api_key"])
    remember(values["api_key"])
    return Settings(routes=routes, config_path=path, sources=sources, **values)
