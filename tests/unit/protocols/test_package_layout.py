"""Every adapter package reads the same way: the same files, the same function and constant names (issue #13)."""

from __future__ import annotations

from importlib import import_module

import pytest

from crazycall.protocols import PROTOCOLS
from crazycall.protocols.base import PROTOCOL_NAMES

# module -> the names every adapter package defines there
SAME_IN_EVERY_ADAPTER: dict[str, tuple[str, ...]] = {
    "request": ("NAME", "PATH", "build_request", "build_body", "auth"),
    "response": ("parse_response", "STOP_REASONS"),
    "stream": ("parse_stream",),
    "errors": ("parse_error", "in_band_error", "ERROR_STATUS"),
}


@pytest.mark.parametrize("protocol", PROTOCOL_NAMES)
@pytest.mark.parametrize("module", sorted(SAME_IN_EVERY_ADAPTER))
def test_adapter_package_has_the_uniform_module(protocol: str, module: str) -> None:
    package, _ = PROTOCOLS[protocol]
    mod = import_module(f"{package}.{module}")
    missing = [name for name in SAME_IN_EVERY_ADAPTER[module] if not hasattr(mod, name)]
    assert not missing, f"{package}.{module} lacks {missing}"


@pytest.mark.parametrize("protocol", PROTOCOL_NAMES)
def test_adapter_name_is_the_request_modules_name(protocol: str) -> None:
    package, class_name = PROTOCOLS[protocol]
    adapter = getattr(import_module(package), class_name)
    assert adapter.name == import_module(f"{package}.request").NAME == protocol
