"""Example tool ``get_weather``: deterministic SAMPLE weather, not a forecast.

Plain function (no decorator): ``tools.yaml`` makes it a tool with ``function: plugins/weather.py:get_weather``
and gives its schema explicitly. The numbers are derived from the city name so that runs and tests are
reproducible; swap in a real weather API for real use.
"""

from __future__ import annotations

import zlib
from typing import Any, Literal

CONDITIONS = ("sunny", "partly cloudy", "cloudy", "light rain", "windy", "foggy")


def get_weather(city: str, unit: Literal["celsius", "fahrenheit"] = "celsius") -> dict[str, Any]:
    """Current weather for a city: SAMPLE data computed from the city name (the same city, the same answer).

    Args:
        city: City name, e.g. "Beijing".
        unit: Temperature unit.
    """
    if not city.strip():
        raise ValueError("city must not be empty")
    if unit not in ("celsius", "fahrenheit"):
        raise ValueError(f"unit must be 'celsius' or 'fahrenheit', got {unit!r}")
    seed = zlib.crc32(city.strip().casefold().encode("utf-8"))
    celsius = -5 + seed % 36
    temperature = celsius if unit == "celsius" else round(celsius * 9 / 5 + 32, 1)
    return {
        "city": city.strip(),
        "temperature": temperature,
        "unit": unit,
        "conditions": CONDITIONS[(seed >> 8) % len(CONDITIONS)],
        "humidity_percent": 30 + (seed >> 16) % 60,
        "sample_data": True,
    }
