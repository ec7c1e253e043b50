"""The @tool decorator and the JSON Schema derived from signatures and docstrings (exact schemas)."""

from __future__ import annotations

import datetime
import inspect
from typing import Annotated, Any, Literal, Optional, Union

import pytest

import crazycall
from crazycall.errors import ConfigError
from crazycall.tools.decorator import (
    ToolOptions,
    derive_parameters,
    description_for,
    optional_without_default,
    options_of,
    parse_docstring,
    spec_for,
    tool,
)


def test_scalars_are_required_and_closed() -> None:
    def f(s: str, i: int, x: float, b: bool) -> None: ...

    assert derive_parameters(f) == {
        "type": "object",
        "properties": {
            "s": {"type": "string"},
            "i": {"type": "integer"},
            "x": {"type": "number"},
            "b": {"type": "boolean"},
        },
        "required": ["s", "i", "x", "b"],
        "additionalProperties": False,
    }


def test_no_parameters_gives_an_empty_closed_object_without_required() -> None:
    def f() -> None: ...

    assert derive_parameters(f) == {"type": "object", "properties": {}, "additionalProperties": False}


def test_lists_and_dicts() -> None:
    def f(a: list[str], b: list, c: list[list[int]], d: dict, e: dict[str, float]) -> None: ...  # type: ignore[type-arg]

    assert derive_parameters(f)["properties"] == {
        "a": {"type": "array", "items": {"type": "string"}},
        "b": {"type": "array"},
        "c": {"type": "array", "items": {"type": "array", "items": {"type": "integer"}}},
        "d": {"type": "object"},
        "e": {"type": "object", "additionalProperties": {"type": "number"}},
    }


def test_literals_become_enums_typed_when_the_values_agree() -> None:
    def f(
        unit: Literal["celsius", "fahrenheit"],
        level: Literal[1, 2, 3],
        flag: Literal[True],
        mixed: Literal["a", 1],
        tags: list[Literal["x", "y"]],
    ) -> None: ...

    assert derive_parameters(f)["properties"] == {
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        "level": {"type": "integer", "enum": [1, 2, 3]},
        "flag": {"type": "boolean", "enum": [True]},
        "mixed": {"enum": ["a", 1]},
        "tags": {"type": "array", "items": {"type": "string", "enum": ["x", "y"]}},
    }


def test_optional_and_defaults_are_not_required_and_defaults_are_recorded() -> None:
    def f(
        city: str,
        unit: Literal["celsius", "fahrenheit"] = "celsius",
        days: int = 3,
        note: str | None = None,
        limit: Optional[int] = None,  # noqa: UP045 - the typing spelling must work too
        extra: Union[float, None] = 2.5,  # noqa: UP007
        tags: list[str] = ("a", "b"),  # type: ignore[assignment]
        maybe: str | None = "x",
    ) -> None: ...

    schema = derive_parameters(f)
    assert schema["required"] == ["city"]
    assert schema["properties"] == {
        "city": {"type": "string"},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"], "default": "celsius"},
        "days": {"type": "integer", "default": 3},
        "note": {"type": "string"},
        "limit": {"type": "integer"},
        "extra": {"type": "number", "default": 2.5},
        "tags": {"type": "array", "items": {"type": "string"}, "default": ["a", "b"]},
        "maybe": {"type": "string", "default": "x"},
    }


def test_optional_without_default_is_not_required_and_listed_for_filling() -> None:
    def f(a: str, b: Optional[int], c: Annotated[str | None, "text"], d: int = 1) -> None: ...  # noqa: UP045

    schema = derive_parameters(f)
    assert schema["required"] == ["a"]
    assert schema["properties"]["c"] == {"type": "string", "description": "text"}
    assert optional_without_default(f) == ["b", "c"]


def test_annotated_descriptions_win_over_the_docstring() -> None:
    def f(
        city: Annotated[str, "City name, e.g. Paris"],
        unit: Annotated[Literal["c", "f"], "Unit"] = "c",
        days: int = 1,
        ids: list[Annotated[int, "an id"]] | None = None,
    ) -> None:
        """Forecast.

        Args:
            city: ignored because Annotated says it
            days: How many
                days ahead (1-7).
        """

    assert derive_parameters(f, parse_docstring(inspect.getdoc(f) or "")[1])["properties"] == {
        "city": {"type": "string", "description": "City name, e.g. Paris"},
        "unit": {"type": "string", "enum": ["c", "f"], "description": "Unit", "default": "c"},
        "days": {"type": "integer", "description": "How many days ahead (1-7).", "default": 1},
        "ids": {"type": "array", "items": {"type": "integer", "description": "an id"}},
    }


def test_docstring_first_paragraph_and_google_args() -> None:
    doc = """Get the weather
    for a city.

    More detail that is not part of the description.

    Args:
        city (str): The city.
        unit: Temperature unit,
            celsius or fahrenheit.

    Returns:
        a dict
    """
    assert parse_docstring(doc) == (
        "Get the weather for a city.",
        {"city": "The city.", "unit": "Temperature unit, celsius or fahrenheit."},
    )


def test_docstring_that_starts_with_args_has_an_empty_description() -> None:
    assert parse_docstring("Args:\n    x: the x\n") == ("", {"x": "the x"})
    assert parse_docstring("") == ("", {})
    doc = """Args:
            x: the x
            y: the y
        Returns:
            nothing
        """
    assert parse_docstring(doc) == ("", {"x": "the x", "y": "the y"})


def test_spec_for_uses_the_docstring_and_the_decorator_overrides() -> None:
    @tool
    def get_weather(city: str) -> str:
        """Current weather.

        Args:
            city: City name.
        """
        return city

    @tool(name="weather-2", description="Explicit text", timeout=2)
    def other(city: str) -> str:
        """Docstring that loses."""
        return city

    spec = spec_for(get_weather)
    assert (spec.name, spec.description) == ("get_weather", "Current weather.")
    assert spec.parameters == {
        "type": "object",
        "properties": {"city": {"type": "string", "description": "City name."}},
        "required": ["city"],
        "additionalProperties": False,
    }
    assert (spec_for(other).name, description_for(other)) == ("weather-2", "Explicit text")
    assert options_of(other) == ToolOptions(name="weather-2", description="Explicit text", timeout=2.0)


def test_decorator_returns_the_function_itself_still_callable() -> None:
    def add(a: int, b: int) -> int:
        return a + b

    assert tool(add) is add
    assert add(2, 3) == 5
    assert options_of(add) == ToolOptions()
    assert options_of(lambda: None) is None


def test_the_package_level_decorator_forwards_both_forms() -> None:
    @crazycall.tool
    def a(x: int) -> int:
        return x

    @crazycall.tool(timeout=1.5)
    def b(x: int) -> int:
        return x

    assert a(1) == 1 and b(2) == 2
    assert options_of(a) == ToolOptions()
    assert options_of(b) == ToolOptions(timeout=1.5)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"name": "get weather"},
            "@tool(name=...): invalid tool name 'get weather': names must match ^[a-zA-Z0-9_-]{1,64}$",
        ),
        (
            {"name": "x" * 65},
            f"@tool(name=...): invalid tool name '{'x' * 65}': names must match ^[a-zA-Z0-9_-]{{1,64}}$",
        ),
        ({"timeout": 0}, "@tool(timeout=...): timeout must be a number of seconds > 0, got 0"),
        ({"timeout": True}, "@tool(timeout=...): timeout must be a number of seconds > 0, got True"),
    ],
)
def test_bad_decorator_options(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        tool(**kwargs)
    assert str(info.value) == message


def test_async_functions_are_refused() -> None:
    async def slow() -> None: ...

    with pytest.raises(ConfigError, match=r"^@tool: function '.*slow' is async; tools must be plain functions$"):
        tool(slow)


def _error(func: Any) -> str:
    with pytest.raises(ConfigError) as info:
        derive_parameters(func)
    return str(info.value)


_USE = "use str, int, float, bool, list[T], dict, Literal[...], Optional[T] or Annotated[T, 'description']"


def test_unsupported_annotation_names_the_function_and_parameter() -> None:
    def f(x: set[int]) -> None: ...

    assert _error(f) == f"function '{f.__qualname__}': parameter 'x': unsupported type annotation set[int]; {_USE}"


def test_unsupported_class_annotation_is_named_with_its_module() -> None:
    def f(when: datetime.date) -> None: ...

    assert _error(f) == (
        f"function '{f.__qualname__}': parameter 'when': unsupported type annotation datetime.date; {_USE}"
    )


def test_other_unsupported_signatures() -> None:
    def no_annotation(x) -> None: ...  # type: ignore[no-untyped-def]

    def var_args(*xs: int) -> None: ...

    def var_kwargs(**kw: int) -> None: ...

    def positional(x: int, /) -> None: ...

    def int_keys(x: dict[int, str]) -> None: ...

    def union(x: Union[int, str]) -> None: ...  # noqa: UP007

    def nested_optional(x: list[Optional[int]]) -> None: ...  # noqa: UP045

    def literal_none(x: Literal["a", None]) -> None: ...

    def any_type(x: Any) -> None: ...

    def bad_default(x: int = object()) -> None: ...  # type: ignore[assignment]

    def q(f: Any) -> str:
        return f"function '{f.__qualname__}'"

    assert _error(no_annotation) == f"{q(no_annotation)}: parameter 'x': has no type annotation; {_USE}"
    assert _error(var_args) == f"{q(var_args)}: parameter 'xs': *args and **kwargs cannot be tool parameters"
    assert _error(var_kwargs) == f"{q(var_kwargs)}: parameter 'kw': *args and **kwargs cannot be tool parameters"
    assert _error(positional) == (
        f"{q(positional)}: parameter 'x': positional-only parameters cannot be tool parameters"
    )
    assert _error(int_keys) == f"{q(int_keys)}: parameter 'x': dict keys must be str (JSON object keys), got int"
    assert _error(union) == f"{q(union)}: parameter 'x': unsupported type annotation Union[int, str]; {_USE}"
    assert _error(nested_optional) == (
        f"{q(nested_optional)}: parameter 'x': unsupported type annotation Optional[int]; {_USE}"
    )
    assert _error(literal_none) == (
        f"{q(literal_none)}: parameter 'x': Literal values must be str, int, float or bool, got None"
    )
    assert _error(any_type) == f"{q(any_type)}: parameter 'x': unsupported type annotation Any; {_USE}"
    assert _error(bad_default).startswith(f"{q(bad_default)}: parameter 'x': the default <object object at")
    assert _error(bad_default).endswith("> is not a JSON value")


def test_unresolvable_annotation_is_a_config_error() -> None:
    def f(x: NoSuchType) -> None: ...  # type: ignore[name-defined]  # noqa: F821

    assert _error(f) == (
        f"function '{f.__qualname__}': cannot resolve its annotations: NameError: name 'NoSuchType' is not defined"
    )


def test_docstring_documenting_an_unknown_parameter_is_an_error() -> None:
    def f(city: str) -> None:
        """Doc.

        Args:
            town: the town
        """

    with pytest.raises(ConfigError) as info:
        spec_for(f)
    assert str(info.value) == f"function '{f.__qualname__}': the docstring documents unknown parameter(s) town"


def test_annotations_are_resolved_when_the_spec_is_asked_for() -> None:
    # LaterDefined is bound after the decorator ran: derivation is lazy, so this works.
    @tool
    def f(x: LaterDefined) -> None: ...

    assert spec_for(f).parameters["properties"] == {"x": {"type": "array", "items": {"type": "integer"}}}


LaterDefined = list[int]


def test_every_derived_schema_passes_the_meta_schema_and_the_quick_check_models_it() -> None:
    # The loader skips jsonschema's meta-schema check for derived schemas (valid by construction): hold it.
    from jsonschema.validators import validator_for

    from crazycall.tools.quickcheck import compile_check

    def f(
        s: str,
        n: Annotated[int, "how many"],
        tags: list[str],
        nested: list[list[float]],
        scores: dict[str, int],
        raw: list,  # type: ignore[type-arg]
        anything: dict,  # type: ignore[type-arg]
        unit: Literal["c", "f"] = "c",
        mixed: Literal["a", 1, True] = 1,
        maybe: Optional[int] = None,  # noqa: UP045
        either: Union[str, None] = "x",  # noqa: UP007
        flag: bool = False,
        when: float = 1.5,
        items: list[str] | None = None,
    ) -> None:
        """Everything.

        Args:
            s: a string
        """

    schema = derive_parameters(f)
    validator_for(schema).check_schema(schema)
    assert compile_check(schema) is not None
