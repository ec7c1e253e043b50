"""Settings resolution in one place: flag > environment > config file > defaults.

Owns the names of the environment variables, the config file location and format, every run-wide default
(``DEFAULTS``: the loop, transport, tool runner and ``config show`` all read them from here), the range of every
number and the shape of the base URL, and the record of where each effective value came from (``crazycall
config show``). A bad value is an error naming its source: the flag or environment variable (UsageError, exit
2) or ``config.yaml:LINE`` (ConfigError, exit 3). It does not parse CLI flags (cli/commands do) and does not
choose protocols (protocols/__init__ does; the names of ``routes:`` are checked here).

Each setting is described once, in ``SETTINGS`` (type, default, range, flag, environment variable);
``DEFAULTS``, ``CONFIG_KEYS``, ``NUMBER_RANGES``, ``FLAGS``, the resolution order and ``config show`` are read
from it. ``load_settings`` takes the flags as one mapping (setting name -> the flag's value or None).

Config file (YAML, ``$XDG_CONFIG_HOME/crazycall/config.yaml`` or ``CRAZYCALL_CONFIG``)::

    api_key: sk-...          # prefer the CRAZYROUTER_API_KEY environment variable
    base_url: https://crazyrouter.com
    model: gpt-5.4
    timeout: 600             # seconds, whole request
    max_turns: 10
    routes:                  # model glob -> protocol, checked before the built-in routes
      "my-claude-*": messages
    max_response_bytes: 33554432           # a whole response body, decompressed (32 MiB)
    max_event_bytes: 8388608               # one stream event (8 MiB)
    max_stream_bytes: 268435456            # a whole stream, decompressed (256 MiB)
    max_error_bytes: 1048576               # an HTTP error body (1 MiB)
    max_transcript_record_bytes: 1048576   # one transcript line; longer ones are cut, with a marker (1 MiB)
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crazycall.errors import ConfigError, UsageError
from crazycall.transport_limits import (
    DEFAULT_MAX_ERROR_BYTES,
    DEFAULT_MAX_EVENT_BYTES,
    DEFAULT_MAX_RESPONSE_BYTES,
    DEFAULT_MAX_STREAM_BYTES,
    DEFAULT_MAX_TRANSCRIPT_RECORD_BYTES,
)

if TYPE_CHECKING:
    import yaml

DEFAULT_BASE_URL = "https://crazyrouter.com"
DEFAULT_MODEL = "gpt-5.4"
DEFAULT_MAX_TURNS = 10
DEFAULT_MAX_RETRIES = 2
DEFAULT_TOOL_TIMEOUT = 60.0
DEFAULT_RESULT_LIMIT = 64 * 1024
"""Characters of a tool result sent to the model before it is cut."""
DEFAULT_MAX_REPEATS = 3
DEFAULT_SCHEMA_RETRIES = 2
"""--schema-retries: how many times a final answer invalid against --schema is sent back to the model."""
"""Rounds in a row asking for the very same tool calls before the loop stops (no flag: the loop's guard)."""
DEFAULT_SMOKE_CONCURRENCY = 4
DEFAULT_SMOKE_TIMEOUT = 60.0
"""Seconds for a whole smoke case, retries and round trip included."""

MAX_SECONDS = 1_000_000.0
"""Upper bound of every timeout (about 11 days): larger values overflow the clocks they are added to."""

ENV_API_KEY = "CRAZYROUTER_API_KEY"
ENV_BASE_URL = "CRAZYROUTER_BASE_URL"
ENV_MODEL = "CRAZYCALL_MODEL"
ENV_CONFIG = "CRAZYCALL_CONFIG"

_SECONDS = (0, MAX_SECONDS, False)
_BYTES = (1, 1 << 40, True)


@dataclass(frozen=True)
class Setting:
    """One setting, described once: everything below (``DEFAULTS``, ``CONFIG_KEYS``, ``NUMBER_RANGES``,
    ``FLAGS``, the resolution order, ``config show``) is read from the ``SETTINGS`` table of these."""

    name: str
    """The config-file key and the ``Settings`` field."""
    kind: type | tuple[type, ...]
    """The type the config file must give."""
    default: Any = None
    """The default in force (None: none; the setting is then unset)."""
    range: tuple[float, float, bool] | None = None
    """(smallest allowed, largest allowed, whether the smallest itself is allowed) for a number."""
    flag: str | None = None
    """The command-line flag that sets it (its value reaches ``load_settings`` under ``name``)."""
    env: str | None = None
    """The environment variable that sets it."""


#: every setting, in the order ``config show`` lists them and ``load_settings`` checks them
SETTINGS: tuple[Setting, ...] = (
    Setting("api_key", str, flag="--api-key", env=ENV_API_KEY),
    Setting("base_url", str, DEFAULT_BASE_URL, flag="--base-url", env=ENV_BASE_URL),
    Setting("model", str, DEFAULT_MODEL, flag="--model", env=ENV_MODEL),
    Setting("routes", dict),  # model glob -> protocol: the config file only, checked by _check_routes
    Setting("timeout", (int, float), None, _SECONDS, flag="--timeout"),
    Setting("max_turns", int, DEFAULT_MAX_TURNS, (1, 1_000_000, True), flag="--max-turns"),
    Setting("max_tokens", int, None, (1, 100_000_000, True), flag="--max-tokens"),
    Setting("max_retries", int, DEFAULT_MAX_RETRIES, (0, 100, True), flag="--max-retries"),
    Setting("tool_timeout", (int, float), DEFAULT_TOOL_TIMEOUT, _SECONDS, flag="--tool-timeout"),
    Setting("result_limit", int, DEFAULT_RESULT_LIMIT, (1, 1 << 30, True)),
    # the size limits: only the config file sets them
    Setting("max_response_bytes", int, DEFAULT_MAX_RESPONSE_BYTES, _BYTES),
    Setting("max_event_bytes", int, DEFAULT_MAX_EVENT_BYTES, _BYTES),
    Setting("max_stream_bytes", int, DEFAULT_MAX_STREAM_BYTES, _BYTES),
    Setting("max_error_bytes", int, DEFAULT_MAX_ERROR_BYTES, _BYTES),
    Setting("max_transcript_record_bytes", int, DEFAULT_MAX_TRANSCRIPT_RECORD_BYTES, _BYTES),
    Setting("prices", dict),  # model glob -> USD per million tokens: the config file only, checked by cost.py
    Setting("max_cost", (int, float), None, (0, 1_000_000_000, False), flag="--max-cost"),
    Setting("max_tokens_total", int, None, (1, 1 << 50, True), flag="--max-tokens-total"),
)

LIMIT_KEYS = tuple(s.name for s in SETTINGS if s.name.endswith("_bytes"))
#: the size limits (only the config file sets them) and their defaults
LIMITS = {s.name: s.default for s in SETTINGS if s.name in LIMIT_KEYS}
#: the default of each setting that has one in force (``config show`` prints these with source ``default``)
DEFAULTS: dict[str, Any] = {s.name: s.default for s in SETTINGS if s.default is not None}
#: config-file keys and the type each must have
CONFIG_KEYS: dict[str, type | tuple[type, ...]] = {s.name: s.kind for s in SETTINGS}
#: number settings -> (smallest allowed, largest allowed, whether the smallest itself is allowed)
NUMBER_RANGES: dict[str, tuple[float, float, bool]] = {s.name: s.range for s in SETTINGS if s.range is not None}
#: the flag that sets each setting, for messages
FLAGS: dict[str, str] = {s.name: s.flag for s in SETTINGS if s.flag is not None}
_RESOLVED = tuple(s for s in SETTINGS if s.kind is not dict)
"""The settings resolved flag > env > config > default (``routes`` is the config file's alone)."""

_URL_SUFFIXES = ("/v1", "/v1beta")


@dataclass(frozen=True)
class Settings:
    api_key: str | None
    base_url: str
    model: str
    routes: dict[str, str] = field(default_factory=dict)
    timeout: float | None = None
    """Seconds for a whole model request (None: no overall limit)."""
    max_turns: int = DEFAULT_MAX_TURNS
    max_tokens: int | None = None
    max_retries: int = DEFAULT_MAX_RETRIES
    tool_timeout: float = DEFAULT_TOOL_TIMEOUT
    result_limit: int = DEFAULT_RESULT_LIMIT
    """Characters of a tool result sent to the model before it is truncated."""
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES
    max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES
    max_stream_bytes: int = DEFAULT_MAX_STREAM_BYTES
    max_error_bytes: int = DEFAULT_MAX_ERROR_BYTES
    max_transcript_record_bytes: int = DEFAULT_MAX_TRANSCRIPT_RECORD_BYTES
    prices: dict[str, dict[str, float]] = field(default_factory=dict)
    """``prices:``: model glob -> US dollars per million tokens (``input``, ``output``, ``cached_input``)."""
    max_cost: float | None = None
    """--max-cost: US dollars after which no further model turn starts (needs a price)."""
    max_tokens_total: int | None = None
    """--max-tokens-total: input plus output tokens after which no further model turn starts."""
    config_path: Path | None = None
    sources: dict[str, str] = field(default_factory=dict)
    """field name -> where its value came from: ``flag``, ``env NAME``, ``config PATH``, ``default`` (plus a
    note such as ``; trailing /v1 removed`` when the value was normalised)."""

    def redacted(self) -> dict[str, Any]:
        """The effective settings as a dict, the key and any URL credentials masked (``config show``)."""
        from crazycall.redact import key_hint, redact

        shown = {s.name: getattr(self, s.name) for s in SETTINGS}
        shown |= {"api_key": key_hint(self.api_key), "base_url": redact(self.base_url), "routes": dict(self.routes)}
        shown["prices"] = dict(self.prices)
        return shown


def config_file_path(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    if env.get(ENV_CONFIG):
        return Path(env[ENV_CONFIG])
    base = env.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "crazycall" / "config.yaml"


def check_number(name: str, value: object) -> str | None:
    """None when ``value`` is in the range of setting ``name`` (see ``NUMBER_RANGES``), else the reason."""
    low, high, inclusive = NUMBER_RANGES[name]
    whole = CONFIG_KEYS[name] is int
    if isinstance(value, bool) or not isinstance(value, int if whole else (int, float)):
        return f"must be {'a whole number' if whole else 'a number'}, got {value!r}"
    if (
        (isinstance(value, float) and not math.isfinite(value))
        or value > high
        or value < low
        or (value == low and not inclusive)
    ):
        bound = f">= {low:g}" if inclusive else f"> {low:g}"
        return f"must be {bound} and <= {int(high)}, got {_short(value)}"
    return None


def _short(value: object) -> str:
    text = repr(value) if not isinstance(value, int) or abs(value) < 10**30 else "a number of more than 30 digits"
    return text if len(text) <= 60 else text[:57] + "..."


def check_base_url(url: str) -> tuple[str, str | None]:
    """(the URL to use, a note when it was changed); ValueError with the reason when it is no http(s) URL."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError as exc:
        raise ValueError(f"is not a valid URL ({exc})") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must start with http:// or https:// and name a host, e.g. https://crazyrouter.com")
    if parts.query or parts.fragment:
        raise ValueError("must not have a ?query or #fragment")
    path = parts.path.rstrip("/")
    for suffix in _URL_SUFFIXES:
        if path.endswith(suffix):  # SDK style: crazycall adds /v1/... (or /v1beta/...) itself
            return parts._replace(path=path[: -len(suffix)]).geturl(), f"trailing {suffix} removed"
    return parts._replace(path=path).geturl(), None


def read_config_file(path: Path) -> dict[str, Any]:
    """Parse and check the config file; a missing file is an empty config."""
    return _read_config(path, str(path))[0]


def _read_config(path: Path, display: str) -> tuple[dict[str, Any], dict[str, int]]:
    """(settings, line of each) of the config file; a missing file is empty."""
    if not path.is_file():
        return {}, {}
    from crazycall import yaml_read

    root = yaml_read.compose(yaml_read.read_text(path, display, "config file"), display)
    if root is None or yaml_read.is_null(root):
        return {}, {}
    if not isinstance(root, _yaml().MappingNode):
        raise ConfigError(f"{display}: the config file must be a mapping of settings, got {yaml_read.kind(root)}")
    data: dict[str, Any] = {}
    lines: dict[str, int] = {}
    for key_node, value_node in root.value:
        key, line = yaml_read.scalar(key_node), yaml_read.line(key_node)
        where = f"{display}:{line}"
        if key not in CONFIG_KEYS:
            hint = yaml_read.suggest(key, CONFIG_KEYS)
            raise ConfigError(f"{where}: unknown setting {key!r}{hint}; known: {', '.join(CONFIG_KEYS)}")
        if key in data:
            raise ConfigError(f"{where}: setting {key!r} is given twice")
        data[key], lines[key] = _config_value(key, value_node, display), line
    return data, lines


def _config_value(key: str, node: yaml.Node, display: str) -> Any:
    from crazycall import yaml_read

    where = f"{display}:{yaml_read.line(node)}"
    value = yaml_read.construct(node, display)
    expected = CONFIG_KEYS[key]
    if not isinstance(value, expected) or isinstance(value, bool):
        what = {dict: "a mapping", str: "a string", int: "a whole number"}.get(expected, "a number")  # type: ignore[arg-type]
        raise ConfigError(f"{where}: setting {key!r} must be {what}, got {yaml_read.kind(node)}")
    if key in NUMBER_RANGES and (reason := check_number(key, value)):
        raise ConfigError(f"{where}: setting {key!r} {reason}")
    if isinstance(value, str) and not value.strip():
        raise ConfigError(f"{where}: setting {key!r} must not be empty (leave it out to use the default)")
    if key == "routes":
        _check_routes(node, display)
    if key == "prices":
        from crazycall.cost import check_prices

        check_prices(node, display)
    return value


def _check_routes(node: yaml.Node, display: str) -> None:
    from crazycall import yaml_read
    from crazycall.protocols import PROTOCOLS

    for glob_node, proto_node in node.value:
        glob, proto = yaml_read.construct(glob_node, display), yaml_read.construct(proto_node, display)
        where = f"{display}:{yaml_read.line(glob_node)}"
        if not isinstance(glob, str) or not glob or not isinstance(proto, str):
            raise ConfigError(
                f"{where}: routes must map a model glob (a string) to a protocol name, got {glob!r}: {proto!r}"
            )
        if proto not in PROTOCOLS:
            hint = yaml_read.suggest(proto, PROTOCOLS)
            raise ConfigError(
                f"{where}: route {glob!r}: unknown protocol {proto!r}{hint}; known: {', '.join(PROTOCOLS)}"
            )


def _yaml() -> Any:
    import yaml

    return yaml


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
    flags: Mapping[str, Any] | None = None, *, env: Mapping[str, str] | None = None, **named: Any
) -> Settings:
    """Resolve every setting from flags, the environment, the config file and defaults.

    ``flags`` (and keyword arguments, for a caller that names a few) map a setting's name to its flag's value,
    None when the flag was not given; only settings that have a flag (``FLAGS``) may be given."""
    from crazycall.redact import remember, url_password

    given = {**(flags or {}), **named}
    if unknown := sorted(set(given) - set(FLAGS)):
        raise TypeError(f"load_settings: no setting flag named {', '.join(unknown)}")
    env = os.environ if env is None else env
    path = config_file_path(env)
    if env.get(ENV_CONFIG) and not path.is_file():
        raise ConfigError(f"{path}: config file not found ({ENV_CONFIG} names it)")
    config, lines = _read_config(path, str(path))
    sources: dict[str, str] = {}
    values: dict[str, Any] = {}
    for setting in _RESOLVED:
        name = setting.name
        if given.get(name) is not None:
            values[name], sources[name] = given[name], "flag"
        elif setting.env and env.get(setting.env):
            values[name], sources[name] = env[setting.env], f"env {setting.env}"
        elif name in config:
            values[name], sources[name] = config[name], f"config {path}"
        else:
            values[name], sources[name] = setting.default, "default"
        values[name], sources[name] = _checked(name, values[name], sources[name], f"{path}:{lines.get(name)}")
    routes = dict(config.get("routes") or {})
    sources["routes"] = f"config {path}" if routes else "default"
    check_api_key(values["api_key"], sources["api_key"])
    remember(values["api_key"])
    remember(url_password(values["base_url"]))
    prices = dict(config.get("prices") or {})
    sources["prices"] = f"config {path}" if prices else "default"
    return Settings(routes=routes, prices=prices, config_path=path, sources=sources, **values)


def _checked(name: str, value: Any, source: str, config_where: str) -> tuple[Any, str]:
    """(value, source) after the range and URL checks; an error names the flag, variable or file:line at fault."""
    reason: str | None = None
    if name in NUMBER_RANGES and value is not None:
        reason = check_number(name, value)
    elif name == "base_url":
        try:
            value, note = check_base_url(value)
        except ValueError as exc:
            reason = str(exc)
        else:
            source = f"{source}; {note}" if note else source
    if reason is None:
        return value, source
    if source.startswith("config "):
        raise ConfigError(f"{config_where}: setting {name!r} {reason}")
    what = FLAGS[name] if source == "flag" else source.removeprefix("env ")
    raise UsageError(f"{what} {reason}")
