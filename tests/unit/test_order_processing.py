"""`process_order` replayed through the SDK: every branch of the chain and its compensation."""

from datetime import timedelta
from typing import Any

from history_builder import (
    CALL_ACTIVITY_WITH_RETRY,
    SIGNAL_ENTITY,
    HistoryBuilder,
    calls,
    of_type,
    replay,
)

from orchestrators import PAYMENT_RETRY, process_order

ORDER: dict[str, Any] = {
    "order_id": "o-1",
    "customer": {"id": "c-1", "email": "ann@example.com"},
    "items": [
        {"sku": "BOOK-001", "quantity": 2, "unit_price": 12.5},
        {"sku": "MUG-002", "quantity": 1, "unit_price": 8.0},
    ],
    "payment": {"card": "4242424242424242", "simulate": "approve"},
}
PRICED: dict[str, Any] = {
    "order_id": "o-1",
    "customer": ORDER["customer"],
    "items": [
        {**ORDER["items"][0], "line_total": 25.0},
        {**ORDER["items"][1], "line_total": 8.0},
    ],
    "total": 33.0,
}
RESERVATION = {
    "reservation_id": "res-o-1",
    "order_id": "o-1",
    "blob": "orders/reservations/o-1.json",
}
APPROVED = {"approved": True, "payment_id": "pay-1", "attempts": 1}
SHIPMENT = {"carrier": "Contoso Parcel", "tracking_number": "CP123", "parcels": 3}
TRANSIENT = "Activity function 'charge_payment' failed: TransientGatewayError: gateway unavailable"


def reserved(order: dict[str, Any] = ORDER) -> HistoryBuilder:
    """History up to the payment being scheduled."""
    history = HistoryBuilder("process_order", order)
    history.run_activity("validate_order", {"problems": [], "order": PRICED})
    history.run_activity("reserve_stock", RESERVATION)
    return history


def last_call(history: HistoryBuilder) -> tuple[str, Any]:
    return calls(replay(process_order, history.context_json()))[-1]


def test_order_is_validated_as_given_with_payment_defaults() -> None:
    state = replay(process_order, HistoryBuilder("process_order", ORDER).context_json())

    assert calls(state) == [
        ("validate_order", {**ORDER, "payment": {**ORDER["payment"], "failures": 2}})
    ]
    assert not state.is_done


def test_valid_order_is_reserved_charged_shipped_and_notified() -> None:
    history = HistoryBuilder("process_order", ORDER)
    history.run_activity("validate_order", {"problems": [], "order": PRICED})
    assert last_call(history) == ("reserve_stock", PRICED)

    history.run_activity("reserve_stock", RESERVATION)
    assert last_call(history) == (
        "charge_payment",
        {
            "order_id": "o-1",
            "amount": 33.0,
            "card": "4242424242424242",
            "simulate": "approve",
            "failures": 2,
        },
    )

    payment = history.schedule_activity("charge_payment")
    history.next_episode()
    history.complete_activity(payment, APPROVED)
    assert last_call(history) == ("ship_order", {"order_id": "o-1", "items": PRICED["items"]})

    history.run_activity("ship_order", SHIPMENT)
    assert last_call(history) == (
        "notify_customer",
        {"order_id": "o-1", "email": "ann@example.com", "total": 33.0, "tracking_number": "CP123"},
    )

    history.run_activity("notify_customer", {"notified": True, "to": "ann@example.com"})
    state = replay(process_order, history.context_json())

    assert state.is_done
    assert state.output == {
        "order_id": "o-1",
        "status": "completed",
        "total": 33.0,
        "reservation_id": "res-o-1",
        "payment_id": "pay-1",
        "payment_attempts": 1,
        "tracking_number": "CP123",
        "carrier": "Contoso Parcel",
        "notified": True,
    }
    signals = [(s["instanceId"], s["operation"], s["input"]) for s in of_type(state, SIGNAL_ENTITY)]
    assert signals == [
        ("@counter@orders_completed", "add", "1"),
        ("@counter@revenue_cents", "add", "3300"),
    ]


def test_payment_is_charged_with_backoff_retries() -> None:
    state = replay(process_order, reserved().context_json())

    (charge,) = of_type(state, CALL_ACTIVITY_WITH_RETRY)
    assert charge["retryOptions"] == {
        "firstRetryIntervalInMilliseconds": 5000,
        "maxNumberOfAttempts": 4,
        "backoffCoefficient": 2.0,
        "maxRetryIntervalInMilliseconds": 60000,
    }


def test_flaky_payment_is_retried_then_the_order_completes() -> None:
    history = reserved()
    attempt: Any = history.schedule_activity("charge_payment")
    history.next_episode()
    for failed in (1, 2):
        attempt = history.fail_attempt(
            attempt,
            TRANSIENT,
            retry_after=timedelta(milliseconds=PAYMENT_RETRY.delay_before_retry_ms(failed)),
        )
        assert not replay(process_order, history.context_json()).is_done
    history.complete_activity(attempt, {**APPROVED, "attempts": 3})

    assert last_call(history)[0] == "ship_order"
    history.run_activity("ship_order", SHIPMENT)
    history.run_activity("notify_customer", {"notified": True, "to": "ann@example.com"})
    state = replay(process_order, history.context_json())

    assert state.output["status"] == "completed"
    assert state.output["payment_attempts"] == 3
    assert [name for name, _ in calls(state)].count("charge_payment") == 1  # retries are the host's


def test_declined_card_releases_stock() -> None:
    history = reserved()
    payment = history.schedule_activity("charge_payment")
    history.next_episode()
    history.complete_activity(
        payment, {"approved": False, "reason": "card declined by the issuer", "attempts": 1}
    )
    assert last_call(history) == ("release_stock", RESERVATION)

    history.run_activity(
        "release_stock", {"reservation_id": "res-o-1", "released": True, "existed": True}
    )
    state = replay(process_order, history.context_json())

    assert state.output == {
        "order_id": "o-1",
        "status": "payment_failed",
        "reason": "card declined by the issuer",
        "stock_released": True,
    }
    assert "ship_order" not in [name for name, _ in calls(state)]
    assert of_type(state, SIGNAL_ENTITY) == []


def test_payment_failing_on_every_attempt_releases_stock() -> None:
    history = reserved()
    attempt: Any = history.schedule_activity("charge_payment")
    history.next_episode()
    for failed in range(1, PAYMENT_RETRY.max_number_of_attempts + 1):
        last = failed == PAYMENT_RETRY.max_number_of_attempts
        attempt = history.fail_attempt(
            attempt,
            TRANSIENT,
            retry_after=timedelta(milliseconds=PAYMENT_RETRY.delay_before_retry_ms(failed)),
            last=last,
        )
    assert last_call(history) == ("release_stock", RESERVATION)

    history.run_activity(
        "release_stock", {"reservation_id": "res-o-1", "released": True, "existed": True}
    )
    state = replay(process_order, history.context_json())

    assert state.is_done
    assert state.output["status"] == "payment_failed"
    assert state.output["stock_released"] is True
    assert state.output["reason"] == f"payment failed after 4 attempts: {TRANSIENT}"


def test_order_with_unknown_sku_is_rejected_without_reserving_stock() -> None:
    history = HistoryBuilder("process_order", ORDER)
    history.run_activity("validate_order", {"problems": ["unknown SKU 'NOPE-1'"], "order": None})
    state = replay(process_order, history.context_json())

    assert state.output == {
        "order_id": "o-1",
        "status": "rejected",
        "reason": "unknown SKU 'NOPE-1'",
        "problems": ["unknown SKU 'NOPE-1'"],
    }
    assert [name for name, _ in calls(state)] == ["validate_order"]


def test_structurally_invalid_order_fails_naming_the_field() -> None:
    bad = {**ORDER, "items": [{"sku": "BOOK-001", "quantity": -1, "unit_price": 1.0}]}

    state = replay(process_order, HistoryBuilder("process_order", bad).context_json())

    assert state.error == "items[0].quantity: must be a positive integer"
    assert state.actions == []


def test_order_started_through_the_raw_http_api_reads_the_same() -> None:
    raw = HistoryBuilder("process_order", ORDER, from_sdk_client=False)

    assert calls(replay(process_order, raw.context_json()))[0][0] == "validate_order"
