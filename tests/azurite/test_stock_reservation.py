"""Stock reservation and its compensation against a real Azurite, as activities run them."""

import json
import uuid
from typing import Any

from azure.storage.blob.aio import BlobServiceClient

from activities import release_stock, reserve_stock
from tests.unit.function_invoker import run_activity


def priced_order(order_id: str) -> dict[str, Any]:
    return {
        "order_id": order_id,
        "customer": {"id": "c-1", "email": "ann@example.com"},
        "items": [{"sku": "BOOK-001", "quantity": 2, "unit_price": 12.5, "line_total": 25.0}],
        "total": 25.0,
    }


async def read_reservation(connection: str, order_id: str) -> Any:
    async with BlobServiceClient.from_connection_string(connection) as service:
        blob = service.get_blob_client("orders", f"reservations/{order_id}.json")
        if not await blob.exists():
            return None
        return json.loads(await (await blob.download_blob()).readall())


async def test_reservation_is_written_as_a_json_blob(storage_connection: str) -> None:
    order_id = f"o-{uuid.uuid4().hex[:8]}"

    reservation = await run_activity(reserve_stock, priced_order(order_id))

    assert reservation["reservation_id"] == f"res-{order_id}"
    assert reservation["blob"] == f"orders/reservations/{order_id}.json"
    stored = await read_reservation(storage_connection, order_id)
    assert stored == {
        "reservation_id": f"res-{order_id}",
        "order_id": order_id,
        "customer_id": "c-1",
        "items": [{"sku": "BOOK-001", "quantity": 2}],
        "total": 25.0,
    }


async def test_reserving_twice_keeps_the_first_reservation(storage_connection: str) -> None:
    order_id = f"o-{uuid.uuid4().hex[:8]}"
    first = await run_activity(reserve_stock, priced_order(order_id))

    again = await run_activity(reserve_stock, {**priced_order(order_id), "total": 99.0})

    assert again["reservation_id"] == first["reservation_id"]
    assert (await read_reservation(storage_connection, order_id))["total"] == 25.0


async def test_release_deletes_the_reservation_and_can_run_again(storage_connection: str) -> None:
    order_id = f"o-{uuid.uuid4().hex[:8]}"
    reservation = await run_activity(reserve_stock, priced_order(order_id))

    released = await run_activity(release_stock, reservation)
    again = await run_activity(release_stock, reservation)

    assert released == {"reservation_id": f"res-{order_id}", "released": True, "existed": True}
    assert again == {"reservation_id": f"res-{order_id}", "released": True, "existed": False}
    assert await read_reservation(storage_connection, order_id) is None
