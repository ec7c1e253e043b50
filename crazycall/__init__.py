"""crazycall: a command-line tool-calling runner for LLMs.

Importing the package is cheap: only the version and the ``tool`` decorator live here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["__version__", "tool"]

if TYPE_CHECKING:  # type checkers see the real, overloaded signature; at run time the import stays lazy
    from crazycall.tools.decorator import tool
else:

    def tool(*args: Any, **kwargs: Any) -> Any:
        """Mark a function as a crazycall tool: ``@crazycall.tool`` or ``@crazycall.tool(name=..., timeout=...)``.

        The JSON Schema of its parameters is derived from the signature and docstring (see README).
        """
        from crazycall.tools.decorator import tool as _tool

        return _tool(*args, **kwargs)
