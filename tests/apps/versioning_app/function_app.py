"""Orchestration versioning the way the SDK's `samples-v2/orchestration_versioning` app
uses it: the orchestrator branches on `context.version`, pauses for an event so a test
can stop the host and change `defaultVersion`, then calls a sub-orchestration with and
without an explicit version.

The same names and results as that sample, so the tests can hold devhost to the output
its README promises. host.json sets `defaultVersion` to 1.0; tests copy this folder and
write their own host.json to try other settings.
"""

from __future__ import annotations

import logging

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="orchestrators/{functionName}")
@app.durable_client_input(client_name="client")
async def http_start(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    """Starts `functionName`; `?version=` overrides host.json's defaultVersion."""
    name = req.route_params["functionName"]
    version = req.params.get("version")
    if version:
        instance_id = await client.start_new(name, version=version)
    else:
        instance_id = await client.start_new(name)
    logging.info("Started '%s' as %s (version %s).", name, instance_id, version or "default")
    return client.create_check_status_response(req, instance_id)


@app.orchestration_trigger(context_name="context")
def my_orchestrator(context: df.DurableOrchestrationContext):
    # The version an instance was created with stays with it across deployments, so the
    # branch it took is the branch its replays take.
    if context.version == "1.0":
        greeting = yield context.call_activity("activity_a")
    else:
        greeting = yield context.call_activity("activity_b")
    context.set_custom_status("Waiting for Continue event...")
    yield context.wait_for_external_event("Continue")
    context.set_custom_status("Continue event received")
    explicit = yield context.call_sub_orchestrator("my_sub_orchestrator", version="0.9")
    default = yield context.call_sub_orchestrator("my_sub_orchestrator")
    return [
        f"Orchestration version: {context.version}",
        f"Suborchestration version (explicit): {explicit}",
        f"Suborchestration version (default): {default}",
        greeting,
    ]


@app.orchestration_trigger(context_name="context")
def my_sub_orchestrator(context: df.DurableOrchestrationContext):
    return context.version


@app.orchestration_trigger(context_name="context")
def continues_once(context: df.DurableOrchestrationContext):
    """Continue-as-new keeps the instance's version, whatever the host's default now is."""
    if context.get_input() == "second":
        return context.version
    yield context.wait_for_external_event("Continue")
    context.continue_as_new("second")


@app.activity_trigger(input_name="input")
def activity_a(input: str) -> str:
    return "Hello from A!"


@app.activity_trigger(input_name="input")
def activity_b(input: str) -> str:
    return "Hello from B!"
