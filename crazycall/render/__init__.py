"""Renderers: consumers of the event stream (Rich console, plain text, JSON lines)."""
