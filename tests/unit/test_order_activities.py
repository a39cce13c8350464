"""Order activities that need no storage, called as the worker calls them."""

import uuid
from typing import Any

import pytest
from function_invoker import run_activity

from activities import charge_payment, notify_customer, ship_order, validate_order
from activities.gateways import TransientGatewayError, sent_notifications


def order(*items: tuple[str, int, float]) -> dict[str, Any]:
    return {
        "order_id": "o-1",
        "customer": {"id": "c-1", "email": "ann@example.com"},
        "items": [{"sku": sku, "quantity": qty, "unit_price": price} for sku, qty, price in items],
        "payment": {"card": "4242", "simulate": "approve", "failures": 2},
    }


def charge(simulate: str, failures: int = 2) -> dict[str, Any]:
    # A fresh order id per test: the simulated gateway counts attempts per order id.
    order_id = f"o-{uuid.uuid4().hex[:8]}"
    return {
        "order_id": order_id,
        "amount": 33.0,
        "card": "4242",
        "simulate": simulate,
        "failures": failures,
    }


async def test_valid_order_is_priced_without_card_details() -> None:
    checked = await run_activity(validate_order, order(("BOOK-001", 2, 12.5), ("MUG-002", 1, 8.0)))

    assert checked["problems"] == []
    assert checked["order"]["total"] == 33.0
    assert [item["line_total"] for item in checked["order"]["items"]] == [25.0, 8.0]
    assert "payment" not in checked["order"]


async def test_unknown_skus_and_short_stock_are_listed_as_problems() -> None:
    checked = await run_activity(
        validate_order, order(("NOPE-1", 1, 1.0), ("LAMP-004", 2, 30.0), ("LAMP-004", 2, 30.0))
    )

    assert checked == {
        "problems": ["unknown SKU 'NOPE-1'", "only 3 of 'LAMP-004' in stock, 4 ordered"],
        "order": None,
    }


async def test_approved_payment_has_a_stable_id_per_order() -> None:
    request = charge("approve")

    first = await run_activity(charge_payment, request)
    second = await run_activity(charge_payment, request)

    assert first["approved"] is True
    assert first["payment_id"] == second["payment_id"]
    assert first["card_last4"] == "4242"


async def test_declined_payment_is_returned_not_raised() -> None:
    result = await run_activity(charge_payment, charge("decline"))

    assert result == {"approved": False, "reason": "card declined by the issuer", "attempts": 1}


async def test_flaky_gateway_fails_the_configured_times_then_approves() -> None:
    request = charge("flaky", failures=2)
    for _ in range(2):
        with pytest.raises(TransientGatewayError):
            await run_activity(charge_payment, request)

    result = await run_activity(charge_payment, request)

    assert result["approved"] is True
    assert result["attempts"] == 3


async def test_unavailable_gateway_always_fails_transiently() -> None:
    request = charge("unavailable")
    for _ in range(5):
        with pytest.raises(TransientGatewayError, match="unavailable"):
            await run_activity(charge_payment, request)


async def test_shipping_gives_a_deterministic_tracking_number() -> None:
    items = [{"sku": "BOOK-001", "quantity": 2}, {"sku": "MUG-002", "quantity": 1}]

    first = await run_activity(ship_order, {"order_id": "o-9", "items": items})
    again = await run_activity(ship_order, {"order_id": "o-9", "items": items})

    assert first == again
    assert first["tracking_number"].startswith("CP")
    assert first["parcels"] == 3


async def test_customer_notification_is_recorded() -> None:
    notice = {"order_id": "o-7", "email": "bo@example.com", "total": 5.0, "tracking_number": "CP1"}

    result = await run_activity(notify_customer, notice)

    assert result == {"notified": True, "to": "bo@example.com"}
    last = sent_notifications()[-1]
    assert last.to == "bo@example.com"
    assert "CP1" in last.body
