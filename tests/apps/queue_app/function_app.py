"""Queue triggers and queue outputs, for devhost's queue tests. Every queue is named by an
app setting (`%ORDERS_QUEUE%`, ...), so each test gives its own queues and tests on one
Azurite share no messages. What the functions saw is kept in `seen` (each host's import
of the app its own), by message body, for the tests to read.
"""

from __future__ import annotations

import json
import threading
from collections import defaultdict
from typing import Any

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)

# message body -> what each call given that body saw (a test's bodies are its own).
seen: defaultdict[str, list[dict[str, Any]]] = defaultdict(list)


def _facts(msg: func.QueueMessage) -> dict[str, Any]:
    return {
        "id": msg.id,
        "body": msg.get_body(),
        "dequeue_count": msg.dequeue_count,
        "insertion_time": msg.insertion_time,
        "expiration_time": msg.expiration_time,
        "time_next_visible": msg.time_next_visible,
        "pop_receipt": msg.pop_receipt,
    }


# --- order intake: a queue-triggered durable client -----------------------------------------


@app.orchestration_trigger(context_name="context")
def order_flow(context: df.DurableOrchestrationContext) -> Any:
    return context.get_input()


@app.queue_trigger(arg_name="msg", queue_name="%ORDERS_QUEUE%", connection="AzureWebJobsStorage")
@app.durable_client_input(client_name="client")
async def start_order(msg: func.QueueMessage, client: df.DurableOrchestrationClient) -> None:
    """Starts `order_flow` with the order id as instance id, unless it exists already:
    a message delivered twice starts one orchestration."""
    order = json.loads(msg.get_body())
    status = await client.get_status(order["order_id"])
    started = status.runtime_status is None
    if started:
        await client.start_new("order_flow", order["order_id"], order)
    seen[msg.get_body().decode()].append({**_facts(msg), "started": started})


# --- failures and metadata -----------------------------------------------------------------


@app.queue_trigger(arg_name="msg", queue_name="%FAIL_QUEUE%", connection="AzureWebJobsStorage")
def always_fails(msg: func.QueueMessage) -> None:
    seen[msg.get_body().decode()].append(_facts(msg))
    raise ValueError("not a valid order")


@app.queue_trigger(arg_name="msg", queue_name="%INSPECT_QUEUE%", connection="AzureWebJobsStorage")
def inspect(msg: func.QueueMessage) -> None:
    """Records each call; fails while the dequeue count is below the body's `succeed_at`."""
    body = msg.get_body().decode()
    seen[body].append(_facts(msg))
    succeed_at = json.loads(body).get("succeed_at", 1) if body.startswith("{") else 1
    if msg.dequeue_count < succeed_at:
        raise RuntimeError(f"attempt {msg.dequeue_count} fails")


@app.queue_trigger(
    arg_name="msg", queue_name="%BINARY_QUEUE%", connection="AzureWebJobsStorage", data_type="binary"
)
def binary(msg: func.QueueMessage) -> None:
    seen[msg.get_body().hex()].append(_facts(msg))


# Opened by a test once the host holding `hold`'s message has stopped.
gate = threading.Event()


@app.queue_trigger(arg_name="msg", queue_name="%HOLD_QUEUE%", connection="AzureWebJobsStorage")
def hold(msg: func.QueueMessage) -> None:
    """Runs until `gate` opens (the first call), so a test can stop the host meanwhile."""
    seen[msg.get_body().decode()].append(_facts(msg))
    if msg.dequeue_count == 1 and not gate.wait(timeout=60):
        raise TimeoutError("the test never opened the gate")


# --- outputs ---------------------------------------------------------------------------------


@app.route(route="enqueue/{shape}", methods=["POST"])
@app.queue_output(arg_name="out", queue_name="%OUT_QUEUE%", connection="AzureWebJobsStorage")
@app.queue_output(arg_name="raw", queue_name="%OUT_QUEUE%", connection="AzureWebJobsStorage")
def enqueue(req: func.HttpRequest, out: func.Out[str], raw: func.Out[bytes]) -> func.HttpResponse:
    """`text`: the body as one message; `json`: `json.dumps` of the parsed body; `bytes`:
    the body's bytes as they are."""
    shape = req.route_params["shape"]
    if shape == "bytes":
        raw.set(req.get_body())
    elif shape == "json":
        out.set(json.dumps(req.get_json()))
    else:
        out.set(req.get_body().decode())
    return func.HttpResponse(status_code=202)


@app.queue_trigger(arg_name="msg", queue_name="%RELAY_QUEUE%", connection="AzureWebJobsStorage")
@app.queue_output(arg_name="$return", queue_name="{target}", connection="AzureWebJobsStorage")
def relay(msg: func.QueueMessage) -> list[str]:
    """`{"target": queue, "items": [...]}`: one message per item on the target queue."""
    return list(json.loads(msg.get_body())["items"])
