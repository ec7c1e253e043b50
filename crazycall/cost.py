"""What a run costs: the ``prices:`` map of the config file, the price of one model, and ``cost_usd`` of a usage.

Owns the arithmetic (prices are US dollars per million tokens; cached input tokens are billed at the cached
price, the rest of the input at the input price, reasoning tokens are output tokens) and the checking of the
``prices:`` entries, each error naming ``config.yaml:LINE``. A model with no price has no cost: never a guess.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from crazycall.conversation import Usage
from crazycall.errors import ConfigError

if TYPE_CHECKING:
    import yaml

PRICE_KEYS = ("input", "output", "cached_input")
MAX_PRICE = 1_000_000.0
"""Dollars per million tokens above which a price is surely a typo."""


@dataclass(frozen=True)
class Price:
    """US dollars per million tokens."""

    input: float
    output: float
    cached_input: float | None = None
    """None: cached input tokens cost the input price."""


def price_for(model: str, prices: Mapping[str, Mapping[str, float]]) -> Price | None:
    """The price of ``model``: an exact key wins, then the first glob that matches (in the file's order)."""
    entry = prices.get(model)
    if entry is None:
        entry = next((p for glob, p in prices.items() if fnmatch.fnmatchcase(model, glob)), None)
    if entry is None:
        return None
    return Price(float(entry["input"]), float(entry["output"]), _optional(entry.get("cached_input")))


def _optional(value: Any) -> float | None:
    return float(value) if value is not None else None


def cost_usd(usage: Usage, price: Price) -> float:
    """The cost of ``usage`` at ``price``, in US dollars (rounded to a millionth of a cent)."""
    cached = min(usage.cached_input_tokens, usage.input_tokens)
    cached_price = price.input if price.cached_input is None else price.cached_input
    total = (usage.input_tokens - cached) * price.input + cached * cached_price + usage.output_tokens * price.output
    return round(total / 1_000_000, 8)


def check_prices(node: yaml.Node, display: str) -> None:
    """``prices:`` maps a model glob to ``{input, output, cached_input?}`` (non-negative numbers)."""
    from crazycall import yaml_read

    for glob_node, entry_node in node.value:
        glob = yaml_read.construct(glob_node, display)
        where = f"{display}:{yaml_read.line(glob_node)}"
        if not isinstance(glob, str) or not glob:
            raise ConfigError(f"{where}: prices must map a model glob (a string) to its prices, got {glob!r}")
        entry = yaml_read.construct(entry_node, display)
        if not isinstance(entry, dict):
            raise ConfigError(f"{where}: price {glob!r} must be a mapping of {', '.join(PRICE_KEYS)}")
        for key, value in entry.items():
            if key not in PRICE_KEYS:
                hint = yaml_read.suggest(str(key), PRICE_KEYS)
                raise ConfigError(f"{where}: price {glob!r}: unknown key {key!r}{hint}; known: {', '.join(PRICE_KEYS)}")
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= MAX_PRICE:
                raise ConfigError(
                    f"{where}: price {glob!r}: {key} must be US dollars per million tokens (0 to {MAX_PRICE:g})"
                )
        missing = [k for k in ("input", "output") if k not in entry]
        if missing:
            raise ConfigError(f"{where}: price {glob!r}: missing {' and '.join(missing)}")
