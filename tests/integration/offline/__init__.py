"""Integration tests of the built-in offline router, over real HTTP with raw httpx (never the adapters)."""
