"""Example tool ``search_products``: searches a small fixed SAMPLE catalogue, not a real shop.

Plain function (no decorator): ``tools.yaml`` names it with ``function: plugins/shop.py:search_products`` and
lets crazycall derive its schema from the signature and the ``Args:`` section below.
"""

from __future__ import annotations

from typing import Any

CATALOGUE: tuple[dict[str, Any], ...] = (
    {"id": "p-100", "name": "Trail running shoes", "category": "shoes", "price": 89.0},
    {"id": "p-101", "name": "Leather office shoes", "category": "shoes", "price": 129.0},
    {"id": "p-102", "name": "Canvas sneakers", "category": "shoes", "price": 45.5},
    {"id": "p-200", "name": "Noise-cancelling headphones", "category": "audio", "price": 199.0},
    {"id": "p-201", "name": "Wireless earbuds", "category": "audio", "price": 59.9},
    {"id": "p-300", "name": "Mechanical keyboard", "category": "computers", "price": 75.0},
    {"id": "p-301", "name": "USB-C laptop charger", "category": "computers", "price": 35.0},
    {"id": "p-400", "name": "Insulated water bottle", "category": "outdoor", "price": 19.99},
)


def search_products(query: str, max_price: float | None = None) -> dict[str, Any]:
    """Search the product catalogue: SAMPLE data from a fixed list of eight products, cheapest first.

    Args:
        query: Words to look for in the product name or category, e.g. "running shoes".
        max_price: Only return products at or below this price.
    """
    words = [w for w in query.casefold().split() if w]
    if not words:
        raise ValueError("query must contain at least one word")
    hits = [
        p
        for p in CATALOGUE
        if any(w in f"{p['name']} {p['category']}".casefold() for w in words)
        and (max_price is None or p["price"] <= max_price)
    ]
    return {
        "query": query,
        "max_price": max_price,
        "results": sorted(hits, key=lambda p: (p["price"], p["id"])),
        "sample_data": True,
    }
