"""Reading YAML safely: compose the node tree with its marks, refuse hostile shapes, word errors as ``file:line``.

Every YAML file crazycall reads (tools.yaml, smoke.yaml, the config file) goes through ``compose``. It builds the
node graph only (no Python objects yet) and measures it before anything walks it: an alias that refers to its
own ancestor (a cycle) or a document whose aliases expand to more than ``MAX_NODES`` nodes (a "billion laughs"
bomb) is a ConfigError. The expanded size is counted with memoisation, so measuring a bomb costs as much as its
text, not as much as its expansion. Callers then construct values node by node (``construct``) and name
``display:line`` in their own messages (``line``, ``kind``, ``suggest``). This module knows nothing about what
the files mean.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

import yaml

from crazycall.errors import ConfigError

MAX_NODES = 100_000
"""Nodes a document may hold once every alias is expanded (a large tools.yaml has a few thousand)."""
MAX_BYTES = 8 * 1024 * 1024
"""Size of a YAML file crazycall reads (``-t /dev/zero`` must not fill the memory)."""
MAX_DEPTH = 100
"""Levels of nesting a document may have: the readers and schema checks walk values recursively."""


def read_text(path: object, display: str, what: str, max_bytes: int = MAX_BYTES) -> str:
    """The file's text; a missing, unreadable or too large file is a ConfigError naming it (``what``: "tools file")."""
    try:
        with open(str(path), "rb") as file:
            data = file.read(max_bytes + 1)
        if len(data) > max_bytes:
            raise ConfigError(f"{display}: the {what} is larger than {max_bytes} bytes")
        return data.decode("utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{what} not found: {display}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{display}: cannot read the {what}: {exc}") from None


def compose(text: str, display: str, max_nodes: int = MAX_NODES) -> yaml.Node | None:
    """The document's root node (None when empty), after the cycle, size and depth checks."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{display}:{mark.line + 1}:{mark.column + 1}" if mark else display
        # PyYAML reads "context, problem": "expected a single document in the stream, but found another document"
        detail = ", ".join(part for part in (exc.context, exc.problem) if part) or str(exc)
        raise ConfigError(f"{where}: invalid YAML: {detail}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{display}: invalid YAML: {exc}") from None
    except RecursionError:  # nesting thousands of levels deep
        raise ConfigError(f"{display}: invalid YAML: nested too deeply") from None
    if root is not None:
        _check_size(root, display, max_nodes)
    return root


def _check_size(root: yaml.Node, display: str, max_nodes: int) -> None:
    """Refuse a node graph with a cycle, an expanded size above ``max_nodes`` or more than ``MAX_DEPTH`` levels
    (iterative: no recursion limit)."""
    sizes: dict[int, int] = {}
    heights: dict[int, int] = {}
    active: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        children = _children(node)
        if done:
            active.discard(key)
            sizes[key] = 1 + sum(sizes[id(c)] for c in children)
            heights[key] = 1 + max((heights[id(c)] for c in children), default=0)
            if heights[key] > MAX_DEPTH:
                raise ConfigError(f"{display}:{line(node)}: refusing YAML nested more than {MAX_DEPTH} levels deep")
            if sizes[key] > max_nodes:
                raise ConfigError(
                    f"{display}:{line(node)}: refusing a YAML document that expands to more than {max_nodes} "
                    f"nodes (aliases that repeat aliases)"
                )
            continue
        if key in sizes:
            continue
        active.add(key)
        stack.append((node, True))
        for child in children:
            if id(child) in active:
                raise ConfigError(f"{display}:{line(child)}: a YAML alias refers to a node that contains it (a cycle)")
            if id(child) not in sizes:
                stack.append((child, False))


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def construct(node: yaml.Node, display: str) -> object:
    """The Python value of one (checked) node, built with the safe constructor."""
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or node.start_mark
        raise ConfigError(f"{display}:{mark.line + 1}: invalid YAML value: {exc.problem or exc}") from None
    except (ValueError, OverflowError) as exc:  # a number of 5000 digits, a date like 2024-99-99
        raise ConfigError(f"{display}:{line(node)}: invalid YAML value: {str(exc)[:200]}") from None
    finally:
        loader.dispose()


def line(node: yaml.Node) -> int:
    """1-based line where ``node`` starts."""
    return int(node.start_mark.line) + 1


def scalar(node: yaml.Node) -> str | None:
    """The text of a plain string scalar (a mapping key), else None."""
    return node.value if isinstance(node, yaml.ScalarNode) and isinstance(node.value, str) else None


def is_null(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:null"


def kind(node: yaml.Node) -> str:
    """How a node is described in messages: ``a mapping``, ``a list``, ``the scalar 'x'``."""
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    return f"the scalar {node.value!r}"


def suggest(word: str | None, known: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest known word, case-insensitively first; empty when none is close."""
    choices = list(known)
    text = word or ""
    same_case = [c for c in choices if c.lower() == text.lower()]
    close = same_case or difflib.get_close_matches(text, choices, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""
