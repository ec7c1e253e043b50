"""Tools for the benchmarks: an instant lookup and four sleepers (for the parallel-tools figure)."""

from __future__ import annotations

import time

import crazycall


@crazycall.tool
def lookup(city: str) -> dict[str, str]:
    """Return a fixed record for a city (instant)."""
    return {"city": city, "status": "ok"}


def _nap(seconds: float) -> str:
    time.sleep(seconds)
    return f"slept {seconds} s"


@crazycall.tool
def nap_a(seconds: float) -> str:
    """Sleep for the given number of seconds."""
    return _nap(seconds)


@crazycall.tool
def nap_b(seconds: float) -> str:
    """Sleep for the given number of seconds."""
    return _nap(seconds)


@crazycall.tool
def nap_c(seconds: float) -> str:
    """Sleep for the given number of seconds."""
    return _nap(seconds)


@crazycall.tool
def nap_d(seconds: float) -> str:
    """Sleep for the given number of seconds."""
    return _nap(seconds)
