"""Fixtures: a fresh offline router on 127.0.0.1:0 per test (ids start at 1) and an httpx client for it."""

from __future__ import annotations

import ssl
from collections.abc import Iterator

import httpx
import pytest

from crazycall.offline.server import OfflineRouter


@pytest.fixture
def router() -> Iterator[OfflineRouter]:
    with OfflineRouter() as running:
        yield running


@pytest.fixture(scope="session")
def tls() -> ssl.SSLContext:
    """One SSL context for every client: building one per httpx.Client costs tens of milliseconds."""
    return ssl.create_default_context()


@pytest.fixture
def client(router: OfflineRouter, tls: ssl.SSLContext) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=router.url, timeout=10, verify=tls) as http:
        yield http
