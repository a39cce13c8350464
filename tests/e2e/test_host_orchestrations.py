"""Orchestration behaviours of the host, one test each, against the protocol fixture app."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

import aiohttp
from aiohttp import web

from devhost.protocol import parse_timestamp
from devhost.stores.base import InstanceQuery
from devhost.testing import DurableHost
from tests.support.loopback import serving


def _events(status: Any, kind: str) -> list[dict[str, Any]]:
    return [e for e in status.history or [] if e["EventType"] == kind]


async def test_chained_activities_feed_each_other(host: DurableHost) -> None:
    status = await host.wait(await host.start("sequence", 1))
    assert (status.runtime_status, status.output) == ("Completed", 4)


async def test_fan_out_collects_every_result(host: DurableHost) -> None:
    status = await host.wait(await host.start("fan_out", 300))
    assert status.output == sum(range(1, 301))


async def test_large_input_and_output_round_trip(host: DurableHost) -> None:
    payload = {"rows": [f"{n:05d}" + "x" * 1000 for n in range(300)]}  # about 300 KB
    status = await host.wait(await host.start("echo_back", payload))
    assert (status.runtime_status, status.output) == ("Completed", payload)
    assert status.input == json.dumps(payload)


async def test_retry_waits_on_durable_timers_between_attempts(host: DurableHost) -> None:
    instance = await host.start("with_retry", {"key": uuid.uuid4().hex, "failures": 2})
    await host.settle()
    assert (await host.status(instance)).runtime_status == "Running"
    await host.advance(timedelta(seconds=1))
    assert (await host.status(instance)).runtime_status == "Running"
    await host.advance(timedelta(seconds=1))
    status = await host.wait(instance)
    assert status.output == "succeeded on attempt 3"
    timers = _events(await host.status(instance, history=True), "TimerCreated")
    assert len(timers) == 2


async def test_retry_gives_up_after_the_last_attempt(host: DurableHost) -> None:
    instance = await host.start("with_retry", {"key": uuid.uuid4().hex, "failures": 9})
    await host.advance(timedelta(seconds=5))
    status = await host.wait(instance)
    assert status.output.startswith(
        "gave up: Activity function 'flaky' failed: ConnectionError: attempt 3 failed"
    )


async def test_activity_failure_reaches_the_orchestrator_as_an_exception(host: DurableHost) -> None:
    status = await host.wait(await host.start("catches_failure"))
    assert status.output["caught"].startswith("Activity function 'boom' failed: ValueError: no stock")


async def test_uncaught_orchestrator_error_fails_the_instance(host: DurableHost) -> None:
    status = await host.wait(await host.start("fails"))
    assert status.runtime_status == "Failed"
    assert status.output == "Orchestrator function 'fails' failed: orchestrator gave up"


async def test_uncaught_activity_error_fails_the_instance_with_its_message(host: DurableHost) -> None:
    status = await host.wait(await host.start("fails_in_activity"))
    assert status.runtime_status == "Failed"
    assert "Activity function 'boom' failed: ValueError: activity exploded" in status.output


async def test_unknown_activity_fails_with_the_extension_message(host: DurableHost) -> None:
    status = await host.wait(await host.start("calls_missing_activity"))
    assert status.runtime_status == "Failed"
    assert "The function 'no_such_activity' doesn't exist" in status.output
    assert "'add_one'" in status.output


async def test_activity_name_comes_from_the_trigger_and_gets_a_context(host: DurableHost) -> None:
    status = await host.wait(await host.start("renamed_caller"))
    assert status.output == "activity_with_other_name:x"


async def test_an_activity_with_a_durable_client_raises_events_and_starts_instances(host: DurableHost) -> None:
    """The host binds `durable_client_input` on any trigger, not only HTTP (a binding the
    Functions host fills for every function that declares it)."""
    waiting = await host.start("waits_for_events")
    caller = await host.start("uses_client_activity", {"instance_id": waiting, "data": "from activity", "start_with": 1})
    started = (await host.wait(caller)).output
    await host.raise_event(waiting, "Go", "from test")
    assert (await host.wait(waiting)).output == ['"from activity"', "from test"]
    assert (await host.wait(started)).output == 4


async def test_an_unversioned_instance_reads_version_none(host: DurableHost) -> None:
    """With no defaultVersion the ExecutionStarted `Version` is null, so the SDK's
    `context.version` is None (not "")."""
    status = await host.wait(await host.start("reports_version"))
    assert status.output == {"version": None}
    assert "version" not in status.to_json()


async def test_sub_orchestrations_with_ids_generated_ids_and_retries(host: DurableHost) -> None:
    instance = await host.start("parent")
    await host.advance(timedelta(seconds=2))
    status = await host.wait(instance)
    assert status.output["explicit"] == 13
    assert status.output["generated"] == 23
    assert status.output["failure"].startswith("Orchestrator function 'fails' failed: orchestrator gave up")
    child = await host.status(f"child-of-{instance}")
    assert (child.runtime_status, child.output) == ("Completed", 13)
    children, _ = await host.management.list(InstanceQuery(instance_id_prefix=""))
    generated = [c for c in children if c.name == "sequence" and c.output == 23]
    assert len(generated) == 1 and generated[0].instance_id.endswith(":1")


async def test_timer_fires_only_when_the_clock_reaches_it(host: DurableHost) -> None:
    started_at = host.now
    instance = await host.start("sleeper", 2)
    await host.advance(timedelta(hours=1, minutes=59))
    assert (await host.status(instance)).runtime_status == "Running"
    await host.advance(timedelta(minutes=1))
    status = await host.wait(instance)
    assert parse_timestamp(status.output) - started_at == timedelta(hours=2)


async def test_long_timers_are_split_like_azure_storage(host: DurableHost) -> None:
    started_at = host.now
    instance = await host.start("sleeper", 24 * 10)
    await host.advance(timedelta(days=10))
    status = await host.status(instance, history=True)
    assert status.runtime_status == "Completed"
    fire_times = [parse_timestamp(t["FireAt"]) - started_at for t in _events(status, "TimerCreated")]
    assert fire_times == [timedelta(days=3), timedelta(days=6), timedelta(days=10)]


async def test_events_are_delivered_in_order(host: DurableHost) -> None:
    instance = await host.start("waits_for_events")
    await host.raise_event(instance, "Go", "first")
    await host.settle()
    await host.raise_event(instance, "Go", "second")
    assert (await host.wait(instance)).output == ["first", "second"]


async def test_event_raised_before_the_first_episode_is_not_lost(host: DurableHost) -> None:
    instance = await host.start("waits_for_events")
    await host.raise_event(instance, "Go", "early")
    await host.settle()
    await host.raise_event(instance, "Go", "late")
    assert (await host.wait(instance)).output == ["early", "late"]


async def test_task_any_lets_an_event_beat_a_timer(host: DurableHost) -> None:
    instance = await host.start("race")
    await host.raise_event(instance, "Answer", {"ok": True})
    status = await host.wait(instance)
    assert status.output == {"answer": {"ok": True}}


async def test_task_any_timer_wins_when_no_event_comes(host: DurableHost) -> None:
    instance = await host.start("race")
    await host.advance(timedelta(hours=1))
    assert (await host.wait(instance)).output == {"answer": None}


async def test_continue_as_new_carries_state_and_keeps_history_short(host: DurableHost) -> None:
    instance = await host.start("collector")
    for item in ("a", "b", "c"):
        await host.raise_event(instance, "Item", item)
        await host.settle()
    await host.raise_event(instance, "Item", "stop")
    status = await host.wait(instance)
    assert status.output == ["a", "b", "c", "stop"]
    assert len(_events(await host.status(instance, history=True), "EventRaised")) == 1


async def test_events_that_arrive_with_the_continue_as_new_decision_carry_over(
    host: DurableHost,
) -> None:
    instance = await host.start("collector")
    await host.settle()
    for item in ("a", "b", "c", "stop"):
        await host.raise_event(instance, "Item", item)
    assert (await host.wait(instance)).output == ["a", "b", "c", "stop"]


async def test_custom_status_is_visible_while_running(host: DurableHost) -> None:
    instance = await host.start("reports_progress")
    await host.settle()
    assert (await host.status(instance)).custom_status == {"stage": "waiting"}
    await host.raise_event(instance, "Continue", 7)
    status = await host.wait(instance)
    assert (status.output, status.custom_status) == (7, {"stage": "done", "value": 7})


async def test_orchestration_signals_and_calls_an_entity(host: DurableHost) -> None:
    status = await host.wait(await host.start("uses_entity", "k1"))
    assert status.output["after_add"] == 7
    assert "tally refuses" in status.output["failure"]
    assert await host.read_entity("Tally", "k1") == 7


async def test_call_http_makes_a_real_request(host: DurableHost) -> None:
    received: list[Any] = []

    async def handler(request: web.Request) -> web.Response:
        received.append((request.content_type, await request.text()))
        return web.Response(text="pong")

    server = web.Application()
    server.router.add_post("/ping", handler)
    async with serving(server) as base_url:
        status = await host.wait(await host.start("calls_http", f"{base_url}/ping"))
    assert status.output == {"status": 200, "content": "pong"}
    assert received == [("text/plain", '{"ping": 1}')]


async def test_changed_orchestrator_code_fails_as_non_deterministic(host: DurableHost) -> None:
    instance = await host.start("shifty")
    await host.settle()
    host.app_module.BEHAVIOUR["alternate"] = True
    await host.raise_event(instance, "Gate", "open")
    status = await host.wait(instance)
    assert status.runtime_status == "Failed"
    assert "Non-Deterministic workflow detected" in status.output


async def test_http_starter_uses_the_sdk_client_against_the_host(
    host: DurableHost, http: aiohttp.ClientSession
) -> None:
    async with http.post(f"{host.base_url}/api/start/sequence", json=5) as response:
        assert response.status == 202
        payload = await response.json()
        assert response.headers["Location"] == payload["statusQueryGetUri"]
    assert payload["statusQueryGetUri"].startswith(f"{host.base_url}/runtime/webhooks/durabletask/")
    assert (await host.wait(payload["id"])).output == 8


async def test_a_second_execution_at_the_same_time_gets_its_own_entity_calls(host: DurableHost) -> None:
    first = await host.wait(await host.start("uses_entity", "same-time", instance_id="reused"))
    second = await host.wait(await host.start("uses_entity", "same-time", instance_id="reused"))
    assert (first.output["after_add"], second.output["after_add"]) == (7, 14)
