"""Function chaining: `process_order` validates, reserves stock, charges, ships and notifies.

Each activity's output feeds the next. When payment fails, by a decline or after every
retry, the reservation is released (compensation) and the instance still completes: the
output, not an exception, tells the caller what happened to the order.
"""

import logging
import re
from dataclasses import asdict, dataclass, field
from typing import Any, Generator

import azure.durable_functions as df

from activities.gateways import Simulation
from activities.orders import (
    charge_payment,
    notify_customer,
    release_stock,
    reserve_stock,
    ship_order,
    validate_order,
)
from entities.counter import ORDERS_COMPLETED, REVENUE_CENTS

from .inputs import NON_EMPTY, NON_NEGATIVE, NON_NEGATIVE_INT, POSITIVE_INT, parse, rule
from .retries import BackoffRetryOptions

bp = df.Blueprint()
logger = logging.getLogger(__name__)

# 5 s, 10 s, 20 s between the 4 attempts (DTFx also waits after the last one, D.1).
PAYMENT_RETRY = BackoffRetryOptions(
    first_retry_interval_in_milliseconds=5_000,
    max_number_of_attempts=4,
    backoff_coefficient=2.0,
    max_retry_interval_in_milliseconds=60_000,
)

# The order id names the reservation blob and keys the gateways: keep it path-safe.
ORDER_ID = rule(
    lambda value: re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", value) is not None,
    "must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit",
)
EMAIL = rule(
    lambda value: re.fullmatch(r"[^@\s]+@[^@\s]+", value) is not None, "must be an email address"
)


@dataclass(frozen=True)
class Customer:
    id: str = field(metadata=NON_EMPTY)
    email: str = field(metadata=EMAIL)


@dataclass(frozen=True)
class OrderLine:
    sku: str = field(metadata=NON_EMPTY)
    quantity: int = field(metadata=POSITIVE_INT)
    unit_price: float = field(metadata=NON_NEGATIVE)


@dataclass(frozen=True)
class Payment:
    card: str = field(metadata=NON_EMPTY)
    simulate: Simulation = "approve"  # Steers the simulated gateway (activities/gateways.py).
    failures: int = field(default=2, metadata=NON_NEGATIVE_INT)


@dataclass(frozen=True)
class OrderInput:
    """Input of `process_order`."""

    order_id: str = field(metadata=ORDER_ID)
    customer: Customer
    items: list[OrderLine] = field(metadata=NON_EMPTY)
    payment: Payment


@bp.orchestration_trigger(context_name="context")
def process_order(context: df.DurableOrchestrationContext) -> Generator[Any, Any, dict[str, Any]]:
    """validate_order → reserve_stock → charge_payment (retried) → ship_order → notify."""
    order = parse(OrderInput, context.get_input())
    checked = yield context.call_activity(validate_order, asdict(order))
    if checked["problems"]:
        return {
            "order_id": order.order_id,
            "status": "rejected",
            "reason": "; ".join(checked["problems"]),
            "problems": checked["problems"],
        }
    priced: dict[str, Any] = checked["order"]
    reservation = yield context.call_activity(reserve_stock, priced)

    payment = yield from _charge(context, order, priced["total"])
    if not payment["approved"]:
        yield context.call_activity(release_stock, reservation)
        if not context.is_replaying:
            logger.warning("order %s payment failed: %s", order.order_id, payment["reason"])
        return {
            "order_id": order.order_id,
            "status": "payment_failed",
            "reason": payment["reason"],
            "stock_released": True,
        }

    shipment = yield context.call_activity(
        ship_order, {"order_id": order.order_id, "items": priced["items"]}
    )
    notice = yield context.call_activity(
        notify_customer,
        {
            "order_id": order.order_id,
            "email": order.customer.email,
            "total": priced["total"],
            "tracking_number": shipment["tracking_number"],
        },
    )
    # Aggregator: the entity serializes concurrent adds from every completed order.
    context.signal_entity(ORDERS_COMPLETED, "add", 1)
    context.signal_entity(REVENUE_CENTS, "add", round(priced["total"] * 100))
    if not context.is_replaying:
        logger.info("order %s completed", order.order_id)
    return {
        "order_id": order.order_id,
        "status": "completed",
        "total": priced["total"],
        "reservation_id": reservation["reservation_id"],
        "payment_id": payment["payment_id"],
        "payment_attempts": payment["attempts"],
        "tracking_number": shipment["tracking_number"],
        "carrier": shipment["carrier"],
        "notified": notice["notified"],
    }


def _charge(
    context: df.DurableOrchestrationContext, order: OrderInput, total: float
) -> Generator[Any, Any, dict[str, Any]]:
    """The gateway's answer; a failure that outlived every retry reads as a refusal."""
    try:
        payment: dict[str, Any] = yield context.call_activity_with_retry(
            charge_payment,
            PAYMENT_RETRY,
            {
                "order_id": order.order_id,
                "amount": total,
                "card": order.payment.card,
                "simulate": order.payment.simulate,
                "failures": order.payment.failures,
            },
        )
    except Exception as error:  # The SDK surfaces the last failure as a plain Exception.
        # Its text is "<Reason> \n <Details>"; the reason line says what went wrong.
        first_line = (
            str(error).strip().splitlines()[0].strip() if str(error).strip() else "no details"
        )
        return {
            "approved": False,
            "reason": (
                f"payment failed after {PAYMENT_RETRY.max_number_of_attempts} attempts: "
                f"{first_line}"
            ),
        }
    return payment
