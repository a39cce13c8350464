"""Functions route templates (`orders/{id:int}/{name?}`, `files/{*path}`) matched the way
the Functions host's ASP.NET routing does: literals case-insensitive, typed and optional
parameters, catch-alls, the most specific route first."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")

_PARAMETER = re.compile(r"\{(?P<body>[^{}]+)\}")
_GUID_D = r"[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}"
_CONSTRAINT_PATTERNS = {
    "int": r"[+-]?[0-9]+",
    "long": r"[+-]?[0-9]+",
    "bool": r"(?i:true|false)",
    # `Guid.TryParse`'s formats N, D, B and P (X, the C# initializer form, aside).
    "guid": rf"[0-9a-fA-F]{{32}}|{_GUID_D}|\{{{_GUID_D}\}}|\({_GUID_D}\)",
    "alpha": r"[a-zA-Z]+",
    "double": r"[+-]?[0-9]+(?:\.[0-9]+)?",
    "decimal": r"[+-]?[0-9]+(?:\.[0-9]+)?",
    "float": r"[+-]?[0-9]+(?:\.[0-9]+)?",
    "datetime": r"[^/]+",
}


_INTEGER_BITS = {"int": 32, "long": 64}


class RouteTemplateError(ValueError):
    """Raised for a route template this host cannot interpret."""


@dataclass(frozen=True)
class _Parameter:
    name: str
    optional: bool
    catch_all: bool
    default: str | None
    checks: tuple[Callable[[str], bool], ...]


@dataclass(frozen=True)
class Route(Generic[T]):
    template: str
    methods: frozenset[str]  # empty: every method
    target: T
    pattern: re.Pattern[str]
    parameters: tuple[_Parameter, ...]
    # ASP.NET's inbound precedence, one digit per segment (lower is tried first): literal
    # 1, complex segment or constrained parameter 2, parameter 3, constrained catch-all 4,
    # catch-all 5 (`RoutePrecedence.ComputeInboundPrecedenceDigit`).
    precedence: tuple[int, ...]

    def accepts(self, method: str) -> bool:
        return not self.methods or method.upper() in self.methods

    def match(self, path: str) -> dict[str, str] | None:
        found = self.pattern.match(path)
        if found is None:
            return None
        values: dict[str, str] = {}
        for parameter in self.parameters:
            value = found.group(parameter.name)
            if value is None:
                if parameter.default is not None:
                    values[parameter.name] = parameter.default
                continue
            if not all(check(value) for check in parameter.checks):
                return None
            values[parameter.name] = value
        return values


def compile_route(template: str, methods: frozenset[str], target: T) -> Route[T]:
    segments = [s for s in template.strip("/").split("/") if s != ""]
    regex = ""
    parameters: list[_Parameter] = []
    precedence: list[int] = []
    for segment in segments:
        whole = _PARAMETER.fullmatch(segment)
        if whole is not None:
            parameter, piece = _parameter(whole.group("body"))
            parameters.append(parameter)
            constrained = ":" in whole.group("body").split("=", 1)[0]
            precedence.append((5 if parameter.catch_all else 3) - (1 if constrained else 0))
            if parameter.optional or parameter.default is not None or parameter.catch_all:
                regex += f"(?:/{piece})?"
            else:
                regex += f"/{piece}"
            continue
        piece, position = "", 0
        for inline in _PARAMETER.finditer(segment):
            piece += re.escape(segment[position : inline.start()])
            parameter, value_pattern = _parameter(inline.group("body"))
            parameters.append(parameter)
            piece += value_pattern
            position = inline.end()
        piece += re.escape(segment[position:])
        precedence.append(1 if piece == re.escape(segment) else 2)
        regex += "/" + piece
    pattern = re.compile(f"^{regex}/?$" if regex else "^/?$", re.IGNORECASE)
    return Route(template, methods, target, pattern, tuple(parameters), tuple(precedence))


def _parameter(body: str) -> tuple[_Parameter, str]:
    catch_all = body.startswith("*")
    body = body.lstrip("*")
    default = None
    if "=" in body:
        body, default = body.split("=", 1)
    optional = body.endswith("?")
    body = body.rstrip("?")
    name, *constraints = body.split(":")
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise RouteTemplateError(f"Route parameter name '{name}' is not supported.")
    value_pattern = r".*" if catch_all else r"[^/]+"
    checks: list[Callable[[str], bool]] = []
    for constraint in constraints:
        kind, _, argument = constraint.partition("(")
        argument = argument.rstrip(")")
        if kind in _CONSTRAINT_PATTERNS:
            value_pattern = _CONSTRAINT_PATTERNS[kind]
            if kind in _INTEGER_BITS:  # `int.TryParse` / `long.TryParse`: in range
                bound = 2 ** (_INTEGER_BITS[kind] - 1)
                checks.append(lambda v, bound=bound: -bound <= int(v) < bound)  # type: ignore[misc]
        elif kind == "regex":
            # `RegexRouteConstraint`: `Regex.IsMatch`, case-insensitive and not anchored
            # unless the expression anchors itself.
            expression = re.compile(argument, re.IGNORECASE)
            checks.append(lambda v, expression=expression: expression.search(v) is not None)  # type: ignore[misc]
        else:
            checks.append(_check(kind, argument))
    return (
        _Parameter(name, optional, catch_all, default, tuple(checks)),
        f"(?P<{name}>{value_pattern})",
    )


def _is_integer(text: str) -> bool:
    """`long.TryParse` with the invariant culture: an optional sign, ASCII digits."""
    digits = text[1:] if text[:1] in "+-" else text
    return digits.isascii() and digits.isdigit()


def _check(kind: str, argument: str) -> Callable[[str], bool]:
    numbers = [int(part) for part in argument.split(",") if _is_integer(part.strip())]
    if kind == "min" and numbers:
        return lambda v: _is_integer(v) and int(v) >= numbers[0]
    if kind == "max" and numbers:
        return lambda v: _is_integer(v) and int(v) <= numbers[0]
    if kind == "range" and len(numbers) == 2:
        return lambda v: _is_integer(v) and numbers[0] <= int(v) <= numbers[1]
    if kind == "length" and numbers:
        low, high = (numbers[0], numbers[0]) if len(numbers) == 1 else (numbers[0], numbers[1])
        return lambda v: low <= len(v) <= high
    if kind == "minlength" and numbers:
        return lambda v: len(v) >= numbers[0]
    if kind == "maxlength" and numbers:
        return lambda v: len(v) <= numbers[0]
    raise RouteTemplateError(f"Route constraint '{kind}' is not supported.")


class Router(Generic[T]):
    """Routes in ASP.NET's order: by precedence, segment by segment, then by template."""

    def __init__(self) -> None:
        self._routes: list[Route[T]] = []

    def add(self, template: str, methods: frozenset[str], target: T) -> None:
        """`methods` empty: the route takes every method."""
        self._routes.append(compile_route(template, methods, target))
        self._routes.sort(key=lambda r: (r.precedence, r.template.lower()))

    def match(self, method: str, path: str) -> tuple[Route[T] | None, dict[str, str], set[str]]:
        """The route for `method` and `path` with its values, or None and the methods
        other routes accept at that path."""
        allowed: set[str] = set()
        for route in self._routes:
            values = route.match(path)
            if values is None:
                continue
            if route.accepts(method):
                return route, values, allowed
            allowed |= route.methods
        return None, {}, allowed
