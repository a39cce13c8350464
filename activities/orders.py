"""Activities of `process_order`: validate, reserve and release stock, charge, ship, notify.

Activities run at least once, so each is idempotent: the reservation blob is written only
if absent and deleting a missing one is fine; the gateways key everything by order id.
"""

import json
import logging
from typing import Any

import azure.durable_functions as df
from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.storage.blob import ContentSettings

from . import gateways
from .storage import blob_service, write_creating_container

bp = df.Blueprint()
logger = logging.getLogger(__name__)

# Units in stock per SKU: the whole inventory of this sample.
CATALOG: dict[str, int] = {
    "BOOK-001": 120,
    "MUG-002": 40,
    "PEN-003": 500,
    "LAMP-004": 3,
}
ORDERS_CONTAINER = "orders"


def reservation_blob_name(order_id: str) -> str:
    """Where the reservation of `order_id` lives in the `orders` container."""
    return f"reservations/{order_id}.json"


@bp.activity_trigger(input_name="order")
def validate_order(order: dict[str, Any]) -> dict[str, Any]:
    """Business rules the input's shape cannot express: known SKUs, enough stock.

    Returns `{"problems": [...], "order": None}` or `{"problems": [], "order": <priced>}`.
    """
    wanted: dict[str, int] = {}
    for item in order["items"]:
        wanted[item["sku"]] = wanted.get(item["sku"], 0) + item["quantity"]
    problems = [f"unknown SKU '{sku}'" for sku in wanted if sku not in CATALOG]
    problems += [
        f"only {CATALOG[sku]} of '{sku}' in stock, {quantity} ordered"
        for sku, quantity in wanted.items()
        if sku in CATALOG and quantity > CATALOG[sku]
    ]
    if problems:
        return {"problems": problems, "order": None}
    items = [
        {**item, "line_total": round(item["quantity"] * item["unit_price"], 2)}
        for item in order["items"]
    ]
    total = round(sum(item["line_total"] for item in items), 2)
    # Card details stay out of the priced order: only charge_payment needs them.
    priced = {"order_id": order["order_id"], "customer": order["customer"], "items": items}
    return {"problems": [], "order": {**priced, "total": total}}


@bp.activity_trigger(input_name="order")
async def reserve_stock(order: dict[str, Any]) -> dict[str, Any]:
    """Writes `orders/reservations/<order_id>.json`; a second run finds it and keeps it."""
    order_id = order["order_id"]
    reservation = {
        "reservation_id": f"res-{order_id}",
        "order_id": order_id,
        "customer_id": order["customer"]["id"],
        "items": [{"sku": i["sku"], "quantity": i["quantity"]} for i in order["items"]],
        "total": order["total"],
    }
    name = reservation_blob_name(order_id)
    content = json.dumps(reservation, indent=2).encode("utf-8")
    async with blob_service() as service:
        try:
            await write_creating_container(
                service,
                ORDERS_CONTAINER,
                lambda container: container.upload_blob(
                    name,
                    content,
                    overwrite=False,
                    content_settings=ContentSettings(content_type="application/json"),
                ),
            )
        except ResourceExistsError:
            logger.info("reservation for order %s already exists", order_id)
    return {**reservation, "blob": f"{ORDERS_CONTAINER}/{name}"}


@bp.activity_trigger(input_name="reservation")
async def release_stock(reservation: dict[str, Any]) -> dict[str, Any]:
    """Compensation for `reserve_stock`: deletes the reservation blob if it is still there."""
    order_id = reservation["order_id"]
    async with blob_service() as service:
        container = service.get_container_client(ORDERS_CONTAINER)
        try:
            await container.delete_blob(reservation_blob_name(order_id))
            existed = True
        except ResourceNotFoundError:
            existed = False
    logger.info("released stock of order %s (reservation existed: %s)", order_id, existed)
    return {"reservation_id": reservation["reservation_id"], "released": True, "existed": existed}


@bp.activity_trigger(input_name="charge")
def charge_payment(charge: dict[str, Any]) -> dict[str, Any]:
    """Raises on a transient gateway failure (the orchestrator retries); a decline is a value."""
    return gateways.charge(
        order_id=charge["order_id"],
        amount=charge["amount"],
        card=charge["card"],
        simulate=charge["simulate"],
        failures=charge["failures"],
    )


@bp.activity_trigger(input_name="shipment")
def ship_order(shipment: dict[str, Any]) -> dict[str, Any]:
    """Books the parcel with the (simulated) carrier."""
    return gateways.ship(order_id=shipment["order_id"], items=shipment["items"])


@bp.activity_trigger(input_name="notice")
def notify_customer(notice: dict[str, Any]) -> dict[str, Any]:
    """Tells the customer the order is on its way."""
    gateways.notify(
        to=notice["email"],
        subject=f"Order {notice['order_id']} is on its way",
        body=(
            f"We charged {notice['total']:.2f} and handed your parcel to {gateways.CARRIER}; "
            f"tracking number {notice['tracking_number']}."
        ),
    )
    return {"notified": True, "to": notice["email"]}
