"""Stand-ins for the outside world: a payment gateway, a carrier and a notifier.

A real app would call a payment provider, a shipping API and an email service here. This
sample keeps them in process and deterministic, steered by the order input
(`payment.simulate`), so every pattern runs offline and tests can reach every branch.
It is the only simulated part of the app: storage and HTTP calls elsewhere are real.
"""

import hashlib
import logging
import threading
from collections import deque
from dataclasses import asdict, dataclass
from typing import Any, Literal

logger = logging.getLogger(__name__)

Simulation = Literal["approve", "decline", "flaky", "unavailable"]
CARRIER = "Contoso Parcel"


class TransientGatewayError(ConnectionError):
    """Raised when the simulated gateway cannot be reached; a retry may succeed."""


# Attempts per order id. Process memory is enough for a stand-in; a real gateway is
# called with the order id as its idempotency key and keeps this on its side.
_attempts: dict[str, int] = {}
_attempts_lock = threading.Lock()


def charge(
    *, order_id: str, amount: float, card: str, simulate: Simulation, failures: int
) -> dict[str, Any]:
    """Charges `amount`: raises TransientGatewayError to be retried, returns a decline as a value.

    "flaky" fails `failures` times per order id, then approves; "unavailable" always fails;
    "decline" declines, which no retry would change.
    """
    with _attempts_lock:
        attempt = _attempts.get(order_id, 0) + 1
        _attempts[order_id] = attempt
    if simulate == "unavailable" or (simulate == "flaky" and attempt <= failures):
        logger.warning("payment gateway unavailable (order %s, attempt %d)", order_id, attempt)
        raise TransientGatewayError(
            f"payment gateway unavailable (simulated), order {order_id}, attempt {attempt}"
        )
    if simulate == "decline":
        return {"approved": False, "reason": "card declined by the issuer", "attempts": attempt}
    return {
        "approved": True,
        "payment_id": f"pay-{_digest(order_id)}",
        "amount": round(amount, 2),
        "card_last4": card[-4:],
        "attempts": attempt,
    }


def ship(*, order_id: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    """Books a parcel; the tracking number derives from the order id, as a retry must."""
    parcels = sum(int(item["quantity"]) for item in items)
    return {
        "carrier": CARRIER,
        "tracking_number": f"CP{_digest(order_id)[:10].upper()}",
        "parcels": parcels,
    }


@dataclass(frozen=True)
class Notification:
    """One message the notifier would have sent."""

    to: str
    subject: str
    body: str


# The last messages sent, for people and tests to look at; bounded for long-running hosts.
_sent: deque[Notification] = deque(maxlen=1000)
_sent_lock = threading.Lock()


def notify(*, to: str, subject: str, body: str) -> dict[str, Any]:
    """Records and logs a message instead of emailing it."""
    message = Notification(to=to, subject=subject, body=body)
    with _sent_lock:
        _sent.append(message)
    logger.info("notification to %s: %s", to, subject)
    return asdict(message)


def sent_notifications() -> list[Notification]:
    """The messages recorded so far, oldest first."""
    with _sent_lock:
        return list(_sent)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
