"""An app that calls every public method of the SDK's `DurableOrchestrationClient` from
an HTTP function, the way client code in a real app does, so tests can drive each one
over HTTP and compare what it returns or raises with what it does against Azure.

`POST /api/client/{method}` takes `{"args": [...], "kwargs": {...}}` and answers
`{"result": ...}` or `{"raised": "<message>"}`. Arguments are plain JSON with three
spellings for the SDK's own types: `{"entity": [name, key]}` for an `EntityId`,
`{"time": "<ISO 8601>"}` for a datetime and `{"statuses": [...]}` for runtime statuses.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import azure.durable_functions as df
import azure.functions as func
from azure.durable_functions.models.DurableOrchestrationStatus import DurableOrchestrationStatus

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)

# Methods that take the triggering request as their first argument.
_WITH_REQUEST = {"create_check_status_response", "wait_for_completion_or_create_check_status_response"}


def _argument(value: Any) -> Any:
    if isinstance(value, dict) and "entity" in value:
        return df.EntityId(*value["entity"])
    if isinstance(value, dict) and "time" in value:
        return datetime.fromisoformat(value["time"])
    if isinstance(value, dict) and "statuses" in value:
        return [df.OrchestrationRuntimeStatus(name) for name in value["statuses"]]
    return value


def _plain(value: Any) -> Any:
    """The method's result as JSON: SDK objects by their public fields."""
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, DurableOrchestrationStatus):
        # A status for no instance is falsy; SDK 1.7's to_json() cannot render it.
        return {"truthy": True, **value.to_json()} if value else {"truthy": False}
    if isinstance(value, func.HttpResponse):
        body = value.get_body().decode()
        return {"status_code": value.status_code, "headers": dict(value.headers), "body": json.loads(body) if body else None}
    if hasattr(value, "entity_exists"):
        return {"entity_exists": value.entity_exists, "entity_state": value.entity_state}
    if hasattr(value, "instances_deleted"):
        return {"instances_deleted": value.instances_deleted}
    return value


@app.route(route="client/{method}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def call_client(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    method = req.route_params["method"]
    call = req.get_json()
    args = [_argument(a) for a in call.get("args", [])]
    kwargs = {name: _argument(v) for name, v in call.get("kwargs", {}).items()}
    if method in _WITH_REQUEST:
        args.insert(0, req)
    try:
        outcome = getattr(client, method)(*args, **kwargs)
        if hasattr(outcome, "__await__"):
            outcome = await outcome
    except Exception as error:  # the caller compares what the SDK raised
        answer: dict[str, Any] = {"raised": str(error)}
    else:
        answer = {"result": _plain(outcome)}
    return func.HttpResponse(json.dumps(answer, default=str), mimetype="application/json")


@app.orchestration_trigger(context_name="context")
def echo(context: df.DurableOrchestrationContext):
    return context.get_input()


@app.orchestration_trigger(context_name="context")
def waits(context: df.DurableOrchestrationContext):
    return (yield context.wait_for_external_event("Go"))


@app.orchestration_trigger(context_name="context")
def fails_once(context: df.DurableOrchestrationContext):
    """Fails its first execution, so rewind has something to rewind."""
    return (yield context.call_activity(flaky, context.instance_id))


_ATTEMPTS: dict[str, int] = {}


@app.activity_trigger(input_name="key")
def flaky(key: str) -> str:
    _ATTEMPTS[key] = _ATTEMPTS.get(key, 0) + 1
    if _ATTEMPTS[key] == 1:
        raise ConnectionError("first attempt fails")
    return f"attempt {_ATTEMPTS[key]}"


@app.entity_trigger(context_name="context")
def Tally(context: df.DurableEntityContext) -> None:  # noqa: N802 (the entity's name)
    value = context.get_state(lambda: 0)
    if context.operation_name == "add":
        value += context.get_input()
    context.set_state(value)
