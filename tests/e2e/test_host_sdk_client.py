"""The SDK's own `DurableOrchestrationClient`, unchanged, against the host's RPC API: every
call it has, with the binding JSON the host gives client functions."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import azure.durable_functions as df
import azure.functions as func
from azure.durable_functions.models.OrchestrationRuntimeStatus import OrchestrationRuntimeStatus

from devhost.testing import DurableHost


def _client(host: DurableHost) -> df.DurableOrchestrationClient:
    assert host._host.urls is not None
    return df.DurableOrchestrationClient(host._host.urls.client_binding())


async def test_start_status_and_management_payloads(host: DurableHost) -> None:
    client = _client(host)
    instance = await client.start_new("sequence", None, 1)
    await host.wait(instance)
    status = await client.get_status(instance, show_history=True, show_history_output=True, show_input=True)
    assert status.runtime_status == OrchestrationRuntimeStatus.Completed
    assert (status.output, status.input_) == (4, "1")
    assert [e["EventType"] for e in status.historyEvents][0] == "ExecutionStarted"
    assert not await client.get_status("missing")
    request = func.HttpRequest("POST", "http://example.test:8080/api/x", body=b"")
    response = client.create_check_status_response(request, instance)
    assert response.status_code == 202
    links = json.loads(response.get_body())
    assert links["statusQueryGetUri"].startswith("http://example.test:8080/runtime/webhooks/durabletask/instances/")
    assert client.create_http_management_payload(instance)["id"] == instance


async def test_queries(host: DurableHost) -> None:
    client = _client(host)
    done = await client.start_new("sequence", "q-done", 1)
    waiting = await client.start_new("waits_for_events", "q-waiting")
    await host.settle()
    everything = await client.get_status_all()
    assert {s.instance_id for s in everything} == {done, waiting}
    running = await client.get_status_by(runtime_status=[OrchestrationRuntimeStatus.Running])
    assert [s.instance_id for s in running] == [waiting]
    recent = await client.get_status_by(
        created_time_from=datetime.now(timezone.utc) - timedelta(days=1),
        created_time_to=datetime.now(timezone.utc) + timedelta(days=1),
        instance_id_prefix="q-d",
    )
    assert [s.instance_id for s in recent] == [done]


async def test_events_and_commands(host: DurableHost) -> None:
    client = _client(host)
    instance = await client.start_new("waits_for_events")
    await client.suspend(instance, "hold")
    await client.raise_event(instance, "Go", {"n": 1})
    await host.settle()
    assert (await client.get_status(instance)).runtime_status == OrchestrationRuntimeStatus.Suspended
    await client.resume(instance, "go on")
    await client.raise_event(instance, "Go", 2)
    status = await host.wait(instance)
    # The SDK client posts JSON text, so event data arrives as that text (docs/protocol.md I.1).
    assert status.output == ['{"n": 1}', "2"]
    stuck = await client.start_new("waits_for_events")
    await client.terminate(stuck, "enough")
    assert (await host.wait(stuck)).output == "enough"


async def test_rewind_restart_and_purge(host: DurableHost) -> None:
    client = _client(host)
    failed = await client.start_new("fragile", None, {"key": "sdk-rewind", "failures": 1})
    await host.wait(failed)
    await client.rewind(failed, "try again")
    await host.settle()
    assert (await client.get_status(failed)).runtime_status == OrchestrationRuntimeStatus.Completed
    restarted = await client.restart(failed)
    assert restarted != failed
    done = await client.start_new("sequence", None, 2)
    await host.wait(done)
    assert (await client.purge_instance_history(done)).instances_deleted == 1
    assert (await client.purge_instance_history(done)).instances_deleted == 0
    purged = await client.purge_instance_history_by(
        created_time_from=datetime.now(timezone.utc) - timedelta(days=1),
        runtime_status=[OrchestrationRuntimeStatus.Completed],
    )
    assert purged.instances_deleted >= 1


async def test_entities(host: DurableHost) -> None:
    client = _client(host)
    tally = df.EntityId("Tally", "sdk")
    await client.signal_entity(tally, "add", 4)
    await client.signal_entity(tally, "add", 6)
    await host.settle()
    state = await client.read_entity_state(tally)
    assert (state.entity_exists, state.entity_state) == (True, 10)
    missing = await client.read_entity_state(df.EntityId("Tally", "never"))
    assert missing.entity_exists is False


async def test_wait_for_completion_or_check_status(host: DurableHost) -> None:
    client = _client(host)
    request = func.HttpRequest("POST", f"{host.base_url}/api/x", body=b"")
    instance = await client.start_new("sequence", None, 3)
    response = await client.wait_for_completion_or_create_check_status_response(request, instance, 5000, 100)
    assert (response.status_code, json.loads(response.get_body())) == (200, 6)
    waiting = await client.start_new("waits_for_events")
    response = await client.wait_for_completion_or_create_check_status_response(request, waiting, 300, 100)
    assert response.status_code == 202
