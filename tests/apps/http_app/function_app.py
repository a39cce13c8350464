"""HTTP functions written the ways users write them, for holding devhost to what the
Python worker hands a function and what the Functions host answers for what it returns.

Starters read their bodies in different ways (`get_json`, `get_body`, `form`, `files`),
and `/api/returns/{kind}` returns each kind of value a function can return.
"""

from __future__ import annotations

import json
from typing import Any

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


def _json(value: Any, status_code: int = 200) -> func.HttpResponse:
    return func.HttpResponse(json.dumps(value), status_code=status_code, mimetype="application/json")


@app.route(route="orchestrators/{functionName}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def start_from_json(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """The common starter: `req.get_json()`, a 400 naming the worker's error otherwise."""
    try:
        payload = req.get_json()
    except ValueError as error:
        return _json({"error": str(error), "cause": type(error.__cause__).__name__}, 400)
    instance_id = await client.start_new(req.route_params["functionName"], None, payload)
    return client.create_check_status_response(req, instance_id)


@app.route(route="inspect/{*rest}", methods=["GET", "POST", "PUT"])
def inspect_request(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
    """Everything the function sees of its request, as JSON."""
    return _json(
        {
            "type": f"{type(req).__module__}.{type(req).__name__}",
            "method": req.method,
            "url": req.url,
            "headers": dict(req.headers),
            "params": dict(req.params),
            "route_params": dict(req.route_params),
            "body": req.get_body().decode("utf-8", "replace"),
            "form": {name: req.form.getlist(name) for name in req.form},
            "files": {name: req.files[name].read().decode() for name in req.files},
            "traceparent": context.trace_context.Traceparent,
            "retry_count": context.retry_context.retry_count,
            "thread_knows_invocation": context.thread_local_storage.invocation_id == context.invocation_id,
        }
    )


@app.route(route="returns/{kind}", methods=["GET"])
def returns(req: func.HttpRequest):  # noqa: ANN201 (returns every kind on purpose)
    kind = req.route_params["kind"]
    if kind == "text":
        return "plain text"
    if kind == "json-text":
        return json.dumps({"a": 1, "b": [True, None]})
    if kind == "response-object":
        return json.dumps({"body": "made", "status": 201, "headers": {"X-Kind": "object"}})
    if kind == "boolean-status":
        return json.dumps({"body": "made", "statusCode": True})
    if kind == "impossible-status":
        return func.HttpResponse("x", status_code=99999)
    if kind == "json-response":
        return func.HttpResponse('{"ok": true}', mimetype="application/json")
    if kind == "html":
        return func.HttpResponse("<p>hi</p>", mimetype="text/html", charset="utf-8")
    if kind == "headers":
        response = func.HttpResponse("h", status_code=202)
        response.headers.add("X-Repeated", "first")
        response.headers.add("X-Repeated", "last")
        response.headers.add("Set-Cookie", 'session="a b"; Path=/; HttpOnly')
        response.headers.add("Set-Cookie", "theme=dark; Max-Age=60; Secure; SameSite=Strict")
        return response
    if kind == "dict":
        return {"not": "allowed"}
    if kind == "bytes":
        return b"raw"
    return None


@app.route(route="out/{answer}", methods=["GET"], binding_arg_name="response")
def answers_through_out(req: func.HttpRequest, response: func.Out[func.HttpResponse]) -> None:
    """The response set on an `Out` parameter instead of returned."""
    if req.route_params["answer"] == "yes":
        response.set(func.HttpResponse("set on Out", status_code=201))


@app.route(route="any-verb")
def any_verb(req: func.HttpRequest) -> str:
    """No `methods`: the host takes any method, custom verbs too."""
    return req.method


@app.route(route="raises", methods=["GET"])
def raises(req: func.HttpRequest) -> func.HttpResponse:
    raise RuntimeError("database password is hunter2")


@app.route(route="documents/{name}", methods=["GET"])
@app.cosmos_db_input(
    arg_name="document", database_name="db", container_name="docs", connection="CosmosConnection", id="{name}"
)
def read_document(req: func.HttpRequest, document: func.DocumentList) -> func.HttpResponse:
    """A Cosmos DB input binding, which devhost does not fill in."""
    return func.HttpResponse(document[0].to_json())


@app.orchestration_trigger(context_name="context")
def echo_input(context: df.DurableOrchestrationContext):
    return context.get_input()


@app.service_bus_queue_trigger(arg_name="message", queue_name="payments", connection="ServiceBusConnection")
@app.durable_client_input(client_name="client")
async def payment_received(message: func.ServiceBusMessage, client: df.DurableOrchestrationClient) -> None:
    """A trigger devhost does not run: called by hand through the admin API, it starts an
    orchestration named after the message body."""
    body = message.get_body().decode()
    await client.start_new("echo_input", f"payment-{body}", body)
