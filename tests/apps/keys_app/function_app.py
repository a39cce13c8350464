"""Routes of each authorization level, for holding `--enforce-keys` to the keys Azure
asks for: a starter (function level, the default) answering with the SDK's check-status
response, an anonymous and an admin-level route, and an orchestration that waits for an
event, so every management URL in the payload can be followed.
"""

from __future__ import annotations

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)


@app.route(route="orchestrators/{functionName}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def start(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Starts through the SDK client (its RPC calls) and answers with its payload."""
    instance_id = await client.start_new(req.route_params["functionName"], None, req.get_json())
    return client.create_check_status_response(req, instance_id)


@app.route(route="status/{instanceId}", methods=["GET"])
@app.durable_client_input(client_name="client")
async def status(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """An instance's runtime status as the SDK client reads it."""
    found = await client.get_status(req.route_params["instanceId"])
    return func.HttpResponse(str(found.runtime_status.value if found.runtime_status else None))


@app.route(route="hello", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def hello(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("hello")


@app.route(route="operator", methods=["GET"], auth_level=func.AuthLevel.ADMIN)
def operator(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("operator")


@app.orchestration_trigger(context_name="context")
def wait_for_approval(context: df.DurableOrchestrationContext):  # type: ignore[no-untyped-def]
    approval = yield context.wait_for_external_event("Approval")
    return {"input": context.get_input(), "approval": approval}
