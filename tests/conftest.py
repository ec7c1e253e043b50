"""Test-wide guards: a clean environment, no traffic anywhere but loopback, and a marker per test tree.

Markers come from the path (``tests/unit`` -> ``unit``, ``tests/integration`` -> ``integration``), so
``pytest -m unit`` runs the unit tests alone (seconds) and nobody has to remember to mark a new file.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

#: the top-level folders under tests/ that name a marker (registered in pyproject.toml)
_TREES = ("unit", "integration")
_TESTS = Path(__file__).parent

_real_connect = socket.socket.connect
_real_create_connection = socket.create_connection


def _is_loopback(address: Any) -> bool:
    if isinstance(address, (str, bytes)):  # AF_UNIX
        return True
    host = address[0]
    if host in ("localhost",):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _guarded_connect(self: socket.socket, address: Any) -> Any:
    if not _is_loopback(address):
        raise ConnectionRefusedError(f"tests may only connect to loopback, not {address!r}")
    return _real_connect(self, address)


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int | None:
    """``-n auto`` (pyproject's addopts): two workers per core. Most of a test's wall time is spent waiting on a
    subprocess or a loopback server, so one worker per core leaves the cores idle half the time.
    PYTEST_XDIST_AUTO_NUM_WORKERS, when set, still decides (xdist's own hook reads it)."""
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return None
    return 2 * (os.cpu_count() or 1)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        tree = item.path.relative_to(_TESTS).parts[0] if item.path.is_relative_to(_TESTS) else ""
        if tree in _TREES:
            item.add_marker(tree)


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)


@pytest.fixture(autouse=True)
def _forget_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts with no remembered key: a key one test remembers (even a 1-character one, masked as a
    word) must not mask or hold back another test's text."""
    from crazycall import redact

    monkeypatch.setattr(redact, "_known", set())
    monkeypatch.setattr(redact, "_short", {})
    monkeypatch.setattr(redact, "_longest", 0)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """No user config, keys or proxies leak into a test; XDG dirs point into a temp folder."""
    home = tmp_path_factory.mktemp("home")
    for name in (
        "CRAZYROUTER_API_KEY",
        "CRAZYROUTER_BASE_URL",
        "CRAZYCALL_MODEL",
        "CRAZYCALL_CONFIG",
        "CRAZYCALL_VERBOSE",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
        "NO_COLOR",
        "FORCE_COLOR",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("COLUMNS", "100")
    yield home
