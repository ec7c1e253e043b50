"""Renderers: consumers of the event stream (Rich console, plain text, JSON, JSON lines).

``make_renderer`` picks one for an output mode; each renderer module is imported only when chosen, so that
``--json`` runs never import Rich and start-up stays light.
"""

from __future__ import annotations

from typing import TextIO

from crazycall.errors import UsageError
from crazycall.events import Emit

OUTPUT_MODES = ("auto", "rich", "plain", "json", "jsonl")


def make_renderer(
    mode: str,
    out: TextIO,
    err: TextIO,
    *,
    quiet: bool = False,
    color: bool = True,
    show_reasoning: bool = True,
) -> Emit:
    """The renderer for ``-o MODE``: auto = rich at a terminal, plain otherwise."""
    if mode not in OUTPUT_MODES:
        raise UsageError(f"unknown output mode {mode!r}; choose one of: {', '.join(OUTPUT_MODES)}")
    if mode == "auto":
        mode = "rich" if out.isatty() and not quiet else "plain"
    if mode == "json":
        from crazycall.render.jsonl import JsonRenderer

        return JsonRenderer(out)
    if mode == "jsonl":
        from crazycall.render.jsonl import JsonLinesRenderer

        return JsonLinesRenderer(out)
    if mode == "plain" or quiet:
        from crazycall.render.plain import PlainRenderer

        return PlainRenderer(out, err, quiet=quiet, show_reasoning=show_reasoning)
    from rich.console import Console

    from crazycall.render.console import ConsoleRenderer

    # no_color=None lets Rich honour NO_COLOR; width, height and "is this a terminal" come from ``out``.
    console = Console(file=out, no_color=not color or None, highlight=False, markup=False, emoji=False)
    return ConsoleRenderer(console, show_reasoning=show_reasoning)
