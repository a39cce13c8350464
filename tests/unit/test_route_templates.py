"""Functions route templates, matched as the Functions host's routing matches them."""

from __future__ import annotations

import pytest

from devhost.http.routing import RouteTemplateError, Router

GET, POST = frozenset({"GET"}), frozenset({"POST"})


def _router(*routes: tuple[str, frozenset[str]]) -> Router[str]:
    router: Router[str] = Router()
    for template, methods in routes:
        router.add(template, methods, template)
    return router


def test_literals_are_case_insensitive_and_values_keep_their_case() -> None:
    route, values, _ = _router(("orders/{id}", GET)).match("GET", "/ORDERS/Ab-1")
    assert route is not None and values == {"id": "Ab-1"}


def test_typed_and_optional_parameters() -> None:
    router = _router(("items/{id:int}/{name?}", GET))
    assert router.match("GET", "/items/5")[1] == {"id": "5"}
    assert router.match("GET", "/items/5/lamp")[1] == {"id": "5", "name": "lamp"}
    assert router.match("GET", "/items/five")[0] is None


def test_catch_all_takes_the_rest_of_the_path() -> None:
    assert _router(("files/{*path}", GET)).match("GET", "/files/a/b.txt")[1] == {"path": "a/b.txt"}


def test_literal_routes_win_over_parameters() -> None:
    router = _router(("items/{id}", GET), ("items/latest", GET))
    assert router.match("GET", "/items/latest")[0].target == "items/latest"  # type: ignore[union-attr]


def test_a_method_mismatch_reports_what_the_route_accepts() -> None:
    route, _, allowed = _router(("orders/{id}", POST)).match("GET", "/orders/1")
    assert route is None and allowed == {"POST"}


def test_length_and_range_constraints() -> None:
    router = _router(("codes/{code:length(3)}/{n:range(1,9)}", GET))
    assert router.match("GET", "/codes/abc/4")[0] is not None
    assert router.match("GET", "/codes/abcd/4")[0] is None
    assert router.match("GET", "/codes/abc/12")[0] is None


def test_unsupported_constraints_are_reported() -> None:
    with pytest.raises(RouteTemplateError):
        _router(("x/{id:weird}", GET))


@pytest.mark.parametrize("order", [1, -1])
def test_precedence_is_aspnets_segment_by_segment_whatever_the_order_added(order: int) -> None:
    """ASP.NET `RoutePrecedence`: a literal first segment beats a parameter even when the
    other route has more literals, and a constrained parameter beats a plain one."""
    router = _router(*[("a/{x}", GET), ("{y}/b", GET), ("items/{id:int}", GET), ("items/{slug}", GET)][::order])
    assert router.match("GET", "/a/b")[0].target == "a/{x}"  # type: ignore[union-attr]
    assert router.match("GET", "/items/5")[0].target == "items/{id:int}"  # type: ignore[union-attr]
    assert router.match("GET", "/items/five")[0].target == "items/{slug}"  # type: ignore[union-attr]


def test_a_route_without_methods_takes_any_method() -> None:
    route, _, _ = _router(("anything", frozenset())).match("PURGE", "/anything")
    assert route is not None


def test_int_is_a_32_bit_integer_and_regex_is_unanchored_and_ignores_case() -> None:
    router = _router(("n/{n:int}", GET), ("code/{c:regex(ab\\d)}", GET))
    assert router.match("GET", "/n/+7")[0] is not None
    assert router.match("GET", "/n/2147483648")[0] is None
    assert router.match("GET", "/code/xAB1y")[0] is not None
    assert router.match("GET", "/code/ab")[0] is None


@pytest.mark.parametrize(
    ("value", "matches"),
    [
        ("0f8fad5bd9cb469fa16570867728950e", True),
        ("0f8fad5b-d9cb-469f-a165-70867728950e", True),
        ("{0f8fad5b-d9cb-469f-a165-70867728950e}", True),
        ("(0f8fad5b-d9cb-469f-a165-70867728950e)", True),
        ("0f8fad5b-d9cb469f-a165-70867728950e", False),
    ],
)
def test_guid_takes_the_formats_guid_tryparse_takes(value: str, matches: bool) -> None:
    assert (_router(("g/{id:guid}", GET)).match("GET", f"/g/{value}")[0] is not None) is matches
