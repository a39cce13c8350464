"""Drop an order on the `orders-incoming` queue, as a shop front would, for the
`intake_order` function to start `process_order`.

    .venv/bin/python scripts/put_order.py --order-id A-2001
    .venv/bin/python scripts/put_order.py --invalid          # lands in orders-incoming-poison

Uses `AzureWebJobsStorage` if set, else Azurite's development account (what
local.settings.json points the app at). Messages are Base64-encoded text, the queue
trigger's default `messageEncoding`.
"""

from __future__ import annotations

import argparse
import json
import os

from azure.core.exceptions import ResourceExistsError
from azure.storage.queue import QueueClient, TextBase64EncodePolicy

QUEUE = "orders-incoming"


def order(order_id: str) -> dict[str, object]:
    return {
        "order_id": order_id,
        "customer": {"id": "c-1", "email": "ada@example.com"},
        "items": [{"sku": "BOOK-001", "quantity": 1, "unit_price": 12.5}],
        "payment": {"card": "4242424242424242", "simulate": "approve"},
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--order-id", default="A-2001")
    parser.add_argument("--invalid", action="store_true", help="send a message that is not an order")
    options = parser.parse_args()
    connection = os.environ.get("AzureWebJobsStorage", "UseDevelopmentStorage=true")
    queue = QueueClient.from_connection_string(connection, QUEUE, message_encode_policy=TextBase64EncodePolicy())
    with queue:
        try:
            queue.create_queue()
        except ResourceExistsError:
            pass
        body = '{"not": "an order"}' if options.invalid else json.dumps(order(options.order_id))
        sent = queue.send_message(body)
    print(f"Queued message {sent.id} on '{QUEUE}'.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
