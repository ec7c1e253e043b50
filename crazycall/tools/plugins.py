"""Loading Python plugins: files and folders by path, and installed packages through entry points.

A plugin file is imported with ``importlib.util.spec_from_file_location`` under a module name made unique by
its resolved path (two ``tools.py`` in different folders never clash), and registered in ``sys.modules`` as
the import system expects (dataclasses and pickling look modules up there). A folder contributes every
``*.py`` directly inside it, in name order; it is not put on ``sys.path``, so plugins do not import each other.
Installed packages name a module (or one decorated function) in the entry-point group ``crazycall.plugins``.

Within one load a file is executed once (``ModuleCache``), so a file that is both in a plugin folder and named
by a tools.yaml ``function:`` yields the same function objects. This module finds ``@tool`` functions and
their ``path:line``; it deliberately does not derive schemas or merge with tools.yaml (``loader.py`` does).
"""

from __future__ import annotations

import importlib.util
import inspect
import linecache
import os
import re
import sys
import traceback
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from crazycall.errors import ConfigError, CrazycallError
from crazycall.errors import PluginImportError as PluginImportError  # its home is errors.py
from crazycall.tools.decorator import check_tool_name, options_of, tool_name

ENTRY_POINT_GROUP = "crazycall.plugins"

#: resolved plugin file -> its module, for the duration of one ``load_registry`` call
ModuleCache = dict[Path, ModuleType]


@dataclass(frozen=True)
class PluginFunction:
    """A ``@tool`` function found in a plugin module."""

    name: str
    func: Callable[..., Any]
    source: str
    """``path:line`` of its ``def``."""


def display_path(path: Path, cwd: Path) -> str:
    """``path`` relative to ``cwd`` when it lies under it, else absolute."""
    absolute = path if path.is_absolute() else cwd / path
    try:
        return absolute.resolve().relative_to(cwd.resolve()).as_posix()
    except ValueError:
        return str(absolute.resolve())


def exception_line(exc: BaseException) -> str:
    """The last line of the exception as Python prints it (``ValueError: boom``)."""
    return traceback.format_exception_only(type(exc), exc)[-1].strip()


def plugin_files(path: Path, display: str) -> list[Path]:
    """The plugin files a ``--plugins`` path stands for: the file itself, or every ``*.py`` in the folder."""
    if path.is_dir():
        return sorted(p for p in path.glob("*.py") if p.is_file())
    if path.is_file():
        if path.suffix != ".py":
            raise ConfigError(f"plugin file must be a .py file: {display}")
        return [path]
    raise ConfigError(f"plugin path not found: {display}")


def load_module_file(path: Path, display: str, cache: ModuleCache) -> ModuleType:
    """Import one plugin file by path (once per cache); errors name the file and the exception."""
    resolved = path.resolve()
    if resolved in cache:
        return cache[resolved]
    digest = f"{zlib.crc32(str(resolved).encode('utf-8', 'surrogateescape')):08x}"  # not hashlib: 5 ms to import
    name = f"crazycall_plugin_{re.sub(r'[^0-9a-zA-Z_]', '_', resolved.stem)}_{digest}"
    spec = importlib.util.spec_from_file_location(name, resolved)
    if spec is None or spec.loader is None:
        raise ConfigError(f"{display}: cannot be imported as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except CrazycallError as err:  # e.g. @tool(name="bad name") while the module runs
        del sys.modules[name]
        raise ConfigError(f"{display}: {err}") from None
    except (Exception, SystemExit) as exc:
        del sys.modules[name]
        detail = exception_line(exc)
        where = f"{display}:{exc.lineno}" if isinstance(exc, SyntaxError) and exc.lineno else display
        raise PluginImportError(f"{where}: plugin failed to import: {detail}", detail) from None
    cache[resolved] = module
    return module


def module_tools(module: ModuleType, cwd: Path) -> list[PluginFunction]:
    """Every ``@tool`` function in the module's namespace (its own and the ones it re-exports)."""
    found: list[PluginFunction] = []
    seen: set[int] = set()
    for value in list(vars(module).values()):
        if options_of(value) is None or id(value) in seen:
            continue
        seen.add(id(value))
        found.append(plugin_function(value, cwd))
    return found


def plugin_function(func: Callable[..., Any], cwd: Path) -> PluginFunction:
    """Wrap a decorated function, checking its tool name (PROTOCOLS.md §0)."""
    source = function_source(func, cwd)
    name = tool_name(func)
    if reason := check_tool_name(name):
        raise ConfigError(f"{source}: {reason}")
    return PluginFunction(name=name, func=func, source=source)


def function_source(func: Callable[..., Any], cwd: Path) -> str:
    """``path:line`` of the function's ``def`` (after any decorators), relative to cwd when under it."""
    target = inspect.unwrap(func)
    code = getattr(target, "__code__", None)
    if code is None:
        module = getattr(target, "__module__", None) or type(target).__module__
        return f"{module}:{getattr(target, '__qualname__', type(target).__qualname__)}"
    lines = linecache.getlines(code.co_filename)
    line = code.co_firstlineno
    # co_firstlineno is the first decorator's line; the brief wants the def line.
    for number in range(line, min(len(lines), line + 50) + 1):
        if lines[number - 1].lstrip().startswith(("def ", "async def ")):
            line = number
            break
    return f"{display_path(Path(code.co_filename), cwd)}:{line}"


def entry_point_tools(cwd: Path) -> Iterator[PluginFunction]:
    """The tools of every installed ``crazycall.plugins`` entry point (a module, or one decorated function)."""
    if not may_declare_entry_points(ENTRY_POINT_GROUP):
        return
    from importlib.metadata import entry_points

    for ep in entry_points(group=ENTRY_POINT_GROUP):
        dist = getattr(ep, "dist", None)
        label = f"entry point {ep.name} = {ep.value}" + (f" (from {dist.name})" if dist is not None else "")
        try:
            loaded = ep.load()
        except CrazycallError as err:
            raise ConfigError(f"{label}: {err}") from None
        except (Exception, SystemExit) as exc:
            detail = exception_line(exc)
            raise PluginImportError(f"{label}: plugin failed to import: {detail}", detail) from None
        if isinstance(loaded, ModuleType):
            yield from module_tools(loaded, cwd)
        elif options_of(loaded) is not None:
            yield plugin_function(loaded, cwd)
        else:
            raise ConfigError(f"{label}: must name a module or a @crazycall.tool function")


def may_declare_entry_points(group: str) -> bool:
    """False when no installed distribution can declare entry points in ``group``; True when one may.

    ``importlib.metadata`` costs about 30 ms to import and scan, on every run, to find what is nearly always
    nothing. This looks where its standard finder looks (each ``sys.path`` folder's ``*.dist-info`` and
    ``*.egg-info`` folders) for an ``entry_points.txt`` that mentions the group at all, and answers True
    whenever it cannot be sure: a zip or ``.egg`` on the path, or another finder that lists distributions.
    """
    from importlib.machinery import PathFinder

    if any(f is not PathFinder and hasattr(f, "find_distributions") for f in sys.meta_path):
        return True
    needle = group.encode()
    for entry in sys.path:
        root = entry or "."
        if root.lower().endswith(".egg"):
            return True
        try:
            with os.scandir(root) as children:
                found = [c.path for c in children if c.name.lower().endswith((".dist-info", ".egg-info"))]
        except NotADirectoryError:
            return True  # a zip file on the path
        except OSError:
            continue  # a path entry that does not exist
        for folder in found:
            try:
                with open(os.path.join(folder, "entry_points.txt"), "rb") as f:
                    if needle in f.read():
                        return True
            except OSError:
                continue
    return False


def folder_tools(paths: Sequence[tuple[Path, str]], cwd: Path, cache: ModuleCache) -> Iterator[PluginFunction]:
    """The tools of every plugin file under the given (path, display) pairs."""
    for path, display in paths:
        for file in plugin_files(path, display):
            yield from module_tools(load_module_file(file, display_path(file, cwd), cache), cwd)
