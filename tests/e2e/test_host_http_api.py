"""The durable HTTP API over real HTTP: status codes, headers and JSON bodies as the real
host answers them (docs/protocol.md G)."""

from __future__ import annotations

from datetime import timedelta
from typing import Optional

import aiohttp
import pytest
import yarl

from devhost.http.urls import WEBHOOK_PATH as API
from devhost.testing import DurableHost
from tests.support.http import call


# --- start ----------------------------------------------------------------------------


async def test_start_answers_202_with_management_urls(host: DurableHost, http: aiohttp.ClientSession) -> None:
    status, body, headers = await call(http, "POST", f"{host.base_url}{API}/orchestrators/sequence", json=1)
    assert status == 202
    assert set(body) == {
        "id", "statusQueryGetUri", "sendEventPostUri", "terminatePostUri",
        "purgeHistoryDeleteUri", "restartPostUri", "suspendPostUri", "resumePostUri",
    }  # fmt: skip  (ext `CreateCheckStatusResponse`: no rewindPostUri)
    assert len(body["id"]) == 32
    assert headers["Location"] == body["statusQueryGetUri"]
    assert headers["Retry-After"] == "10"
    assert (await host.wait(body["id"])).output == 4


async def test_start_with_an_instance_id_and_a_live_duplicate(host: DurableHost, http: aiohttp.ClientSession) -> None:
    url = f"{host.base_url}{API}/orchestrators/waits_for_events/order-42"
    status, body, _ = await call(http, "POST", url)
    assert (status, body["id"]) == (202, "order-42")
    status, body, _ = await call(http, "POST", url)
    assert status == 409
    assert "already exists" in body["error"]


async def test_start_rejects_unknown_functions_bad_ids_and_bad_json(
    host: DurableHost, http: aiohttp.ClientSession
) -> None:
    status, body, _ = await call(http, "POST", f"{host.base_url}{API}/orchestrators/nope")
    assert status == 400 and "doesn't exist" in body["ExceptionMessage"]
    status, body, _ = await call(http, "POST", f"{host.base_url}{API}/orchestrators/sequence/@bad")
    assert status == 400 and "must not start with @" in body["error"]
    status, body, _ = await call(
        http, "POST", f"{host.base_url}{API}/orchestrators/sequence", data=b"{not json"
    )
    assert status == 400 and "Invalid JSON" in body["error"]


async def test_start_can_wait_for_the_result(host: DurableHost, http: aiohttp.ClientSession) -> None:
    url = f"{host.base_url}{API}/orchestrators/sequence?timeout=10&pollingInterval=1"
    status, body, _ = await call(http, "POST", url, json=2)
    assert (status, body) == (200, 5)


async def test_oversized_body_is_refused_with_413(host: DurableHost, http: aiohttp.ClientSession) -> None:
    limit = host._host.config.max_request_bytes
    status, body, _ = await call(
        http, "POST", f"{host.base_url}{API}/orchestrators/sequence", data=b"1" * (limit + 1)
    )
    assert status == 413 and "too large" in body["error"]


# --- status and queries -------------------------------------------------------------------


async def test_status_codes_follow_the_runtime_status(host: DurableHost, http: aiohttp.ClientSession) -> None:
    running = await host.start("waits_for_events")
    await host.settle()
    status, body, headers = await call(http, "GET", f"{host.base_url}{API}/instances/{running}")
    assert (status, body["runtimeStatus"]) == (202, "Running")
    assert headers["Retry-After"] == "5" and headers["Location"].endswith(f"/instances/{running}")

    failed = await host.start("fails")
    await host.wait(failed)
    status, body, _ = await call(http, "GET", f"{host.base_url}{API}/instances/{failed}")
    assert (status, body["runtimeStatus"]) == (200, "Failed")
    url = f"{host.base_url}{API}/instances/{failed}?returnInternalServerErrorOnFailure=true"
    assert (await call(http, "GET", url))[0] == 500

    # ext answers 404 (and 410) without a body
    assert (await call(http, "GET", f"{host.base_url}{API}/instances/missing"))[:2] == (404, None)


async def test_status_shows_input_and_history_on_request(host: DurableHost, http: aiohttp.ClientSession) -> None:
    instance = await host.start("sequence", 1)
    await host.wait(instance)
    base = f"{host.base_url}{API}/instances/{instance}"
    _, body, _ = await call(http, "GET", f"{base}?showInput=false")
    assert body["input"] is None and "historyEvents" not in body
    _, body, _ = await call(http, "GET", f"{base}?showHistory=true&showHistoryOutput=true")
    kinds = [event["EventType"] for event in body["historyEvents"]]
    assert kinds == ["ExecutionStarted", "TaskCompleted", "TaskCompleted", "TaskCompleted", "ExecutionCompleted"]
    completed = body["historyEvents"][1]
    assert (completed["FunctionName"], completed["Result"]) == ("add_one", 2)
    _, body, _ = await call(http, "GET", f"{base}?showHistory=true")
    assert "Result" not in body["historyEvents"][1]


async def test_list_filters_and_pages_with_a_continuation_token(
    host: DurableHost, http: aiohttp.ClientSession
) -> None:
    for n in range(5):
        await host.start("sequence", n, instance_id=f"batch-{n}")
    await host.start("waits_for_events", instance_id="other-1")
    await host.settle()
    url = f"{host.base_url}{API}/instances?instanceIdPrefix=batch-&runtimeStatus=Completed&top=2"
    seen: list[str] = []
    token: Optional[str] = None
    while True:
        status, body, headers = await call(
            http, "GET", url, headers={"x-ms-continuation-token": token} if token else None
        )
        assert status == 200
        seen += [item["instanceId"] for item in body]
        token = headers["x-ms-continuation-token"]  # always sent; empty on the last page
        if not token:
            break
    assert seen == [f"batch-{n}" for n in range(5)]
    _, body, _ = await call(http, "GET", f"{host.base_url}{API}/instances?runtimeStatus=Running")
    assert [item["instanceId"] for item in body] == ["other-1"]


async def test_bad_query_values_are_400(host: DurableHost, http: aiohttp.ClientSession) -> None:
    for query in (
        "runtimeStatus=Sleeping",
        "runtimeStatus=completed",  # names are case-sensitive in Azure: it would not filter
        "top=many",
        "createdTimeFrom=yesterday",
        "showInput=maybe",
    ):
        status, body, _ = await call(http, "GET", f"{host.base_url}{API}/instances?{query}")
        assert status == 400, query
        assert body["error"]


# --- events and commands -------------------------------------------------------------------


async def test_raise_event_statuses(host: DurableHost, http: aiohttp.ClientSession) -> None:
    instance = await host.start("waits_for_events")
    url = f"{host.base_url}{API}/instances/{instance}/raiseEvent/Go"
    assert (await call(http, "POST", url, json={"n": 1}))[0] == 202
    status, _, _ = await call(http, "POST", url, data=b"text", headers={"Content-Type": "text/plain"})
    assert status == 400
    status, _, _ = await call(
        http, "POST", url, data=b"{oops", headers={"Content-Type": "application/json"}
    )
    assert status == 400
    assert (await call(http, "POST", url, json=[2]))[0] == 202
    assert (await host.wait(instance)).output == [{"n": 1}, [2]]
    assert (await call(http, "POST", url, json=3))[0] == 410
    missing = f"{host.base_url}{API}/instances/nobody/raiseEvent/Go"
    assert (await call(http, "POST", missing, json=3))[0] == 404
    # ext checks the instance before the body: 404 even for a body it would refuse
    assert (await call(http, "POST", missing, data=b"text"))[0] == 404


async def test_raise_event_needs_a_json_body(host: DurableHost, http: aiohttp.ClientSession) -> None:
    instance = await host.start("waits_for_events")
    url = f"{host.base_url}{API}/instances/{instance}/raiseEvent/Go"
    status, body, _ = await call(http, "POST", url, headers={"Content-Type": "application/json"})
    assert status == 400 and "Invalid JSON" in body["error"]
    assert (await call(http, "POST", url, data=b"null", headers={"Content-Type": "application/json"}))[0] == 202


async def test_terminate_records_the_reason(host: DurableHost, http: aiohttp.ClientSession) -> None:
    instance = await host.start("waits_for_events")
    await host.settle()
    url = f"{host.base_url}{API}/instances/{instance}/terminate?reason=no%20longer%20needed"
    assert (await call(http, "POST", url))[0] == 202
    status = await host.wait(instance)
    assert (status.runtime_status, status.output) == ("Terminated", "no longer needed")
    assert (await call(http, "POST", url))[0] == 410


async def test_suspended_instance_holds_events_until_resumed(host: DurableHost, http: aiohttp.ClientSession) -> None:
    instance = await host.start("waits_for_events")
    await host.settle()
    base = f"{host.base_url}{API}/instances/{instance}"
    assert (await call(http, "POST", f"{base}/suspend?reason=maintenance"))[0] == 202
    await host.settle()
    await host.raise_event(instance, "Go", 1)
    await host.raise_event(instance, "Go", 2)
    await host.settle()
    assert (await host.status(instance)).runtime_status == "Suspended"
    assert (await call(http, "POST", f"{base}/suspend"))[0] == 409  # already suspended
    assert (await call(http, "POST", f"{base}/resume?reason=done"))[0] == 202
    assert (await host.wait(instance)).output == [1, 2]
    running = await host.start("waits_for_events")
    await host.settle()
    assert (await call(http, "POST", f"{host.base_url}{API}/instances/{running}/resume"))[0] == 409


async def test_rewind_reruns_the_failed_activity(host: DurableHost, http: aiohttp.ClientSession) -> None:
    instance = await host.start("fragile", {"key": "rewind", "failures": 1})
    failed = await host.wait(instance)
    assert failed.runtime_status == "Failed"
    url = f"{host.base_url}{API}/instances/{instance}/rewind?reason=fixed"
    assert (await call(http, "POST", url))[0] == 202
    await host.settle()
    status = await host.status(instance, history=True)
    assert (status.runtime_status, status.output) == ("Completed", "succeeded on attempt 2")
    assert any(event.get("Data") == "Rewound: fixed" for event in status.history or [])
    assert (await call(http, "POST", url))[0] == 410
    running = await host.start("waits_for_events")
    await host.settle()
    assert (await call(http, "POST", f"{host.base_url}{API}/instances/{running}/rewind"))[0] == 409


async def test_restart_runs_again_with_the_original_input(host: DurableHost, http: aiohttp.ClientSession) -> None:
    instance = await host.start("sequence", 10)
    await host.wait(instance)
    status, body, _ = await call(http, "POST", f"{host.base_url}{API}/instances/{instance}/restart")
    assert status == 202 and body["id"] != instance
    assert (await host.wait(body["id"])).output == 13
    url = f"{host.base_url}{API}/instances/{instance}/restart?restartWithNewInstanceId=false"
    status, body, _ = await call(http, "POST", url)
    assert (status, body["id"]) == (202, instance)
    assert (await host.wait(instance)).output == 13
    assert (await call(http, "POST", f"{host.base_url}{API}/instances/nobody/restart"))[0] == 400


async def test_purge_one_and_by_filter(host: DurableHost, http: aiohttp.ClientSession) -> None:
    first = await host.start("sequence", 1)
    second = await host.start("sequence", 2)
    await host.settle()
    url = f"{host.base_url}{API}/instances/{first}"
    status, body, _ = await call(http, "DELETE", url)
    assert (status, body) == (200, {"instancesDeleted": 1})
    status, body, _ = await call(http, "DELETE", url)
    assert status == 404
    status, body, _ = await call(http, "DELETE", f"{host.base_url}{API}/instances")
    assert status == 400 and "createdTimeFrom" in body["error"]
    since = "2000-01-01T00:00:00Z"
    status, body, _ = await call(
        http, "DELETE", f"{host.base_url}{API}/instances?createdTimeFrom={since}&runtimeStatus=Completed"
    )
    assert (status, body) == (200, {"instancesDeleted": 1})
    assert (await call(http, "GET", f"{host.base_url}{API}/instances/{second}"))[0] == 404


# --- entities ------------------------------------------------------------------------------


async def test_entity_signal_read_list_and_delete(host: DurableHost, http: aiohttp.ClientSession) -> None:
    base = f"{host.base_url}{API}/entities/Tally/k1"
    assert (await call(http, "POST", f"{base}?op=add", json="3"))[0] == 202
    await host.settle()
    status, body, _ = await call(http, "GET", base)
    assert (status, body) == (200, 3)
    _, body, _ = await call(http, "GET", f"{host.base_url}{API}/entities/Tally?fetchState=true")
    assert body == [{"entityId": {"name": "tally", "key": "k1"}, "lastOperationTime": body[0]["lastOperationTime"], "state": 3}]
    assert (await call(http, "DELETE", base))[0] == 202
    await host.settle()
    assert (await call(http, "GET", base))[0] == 404


async def test_entity_signal_without_op_and_to_unknown_entities(
    host: DurableHost, http: aiohttp.ClientSession
) -> None:
    """ext signals the operation "" when `op` is missing; an unknown entity is 400."""
    status, _, _ = await call(http, "POST", f"{host.base_url}{API}/entities/Tally/k1")
    assert status == 202
    status, body, _ = await call(http, "POST", f"{host.base_url}{API}/entities/Nothing/k1?op=add")
    assert status == 400 and "doesn't exist" in body["error"]
    status, body, _ = await call(http, "POST", f"{host.base_url}{API}/entities/Tally/a%3Fb?op=add")
    assert status == 400 and "must not contain" in body["error"]
    status, body, _ = await call(http, "POST", f"{host.base_url}{API}/entities/Tally?op=add")
    assert status == 400 and "entity key must not be null" in body["error"]


async def test_entity_list_pages_hold_at_most_top(host: DurableHost, http: aiohttp.ClientSession) -> None:
    for key in ("a", "b", "c"):
        await host.signal_entity("Tally", key, "add", 1)
    await host.settle()
    url = f"{host.base_url}{API}/entities/Tally?top=2"
    _, first, headers = await call(http, "GET", url)
    assert [item["entityId"]["key"] for item in first] == ["a", "b"]
    assert first[0]["state"] is None  # present, null unless fetchState=true
    token = headers["x-ms-continuation-token"]
    _, second, headers = await call(http, "GET", url, headers={"x-ms-continuation-token": token})
    assert [item["entityId"]["key"] for item in second] == ["c"]
    assert headers["x-ms-continuation-token"] == ""


async def test_the_dollar_key_reads_the_entity_with_an_empty_key(
    host: DurableHost, http: aiohttp.ClientSession
) -> None:
    await host.signal_entity("Tally", "", "add", 7)
    await host.settle()
    assert (await call(http, "GET", f"{host.base_url}{API}/entities/Tally/$"))[:2] == (200, 7)


async def test_raw_json_number_reaches_a_python_entity_as_the_real_host_sends_it(
    host: DurableHost, http: aiohttp.ClientSession
) -> None:
    """ext passes a JSON body on as compact JSON text; the Python SDK then cannot decode a
    bare number (`get_input` needs JSON text of JSON), so the operation fails and the
    state is untouched. A JSON string holding the number works."""
    base = f"{host.base_url}{API}/entities/Tally/k2"
    await call(http, "POST", f"{base}?op=add", json="10")
    await call(http, "POST", f"{base}?op=add", json=5)
    await host.settle()
    assert (await call(http, "GET", base))[1] == 10


# --- host surface -------------------------------------------------------------------------


async def test_unknown_routes_and_wrong_methods_are_an_empty_404_named_on_the_console(
    host: DurableHost, http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    assert (await call(http, "GET", f"{host.base_url}/api/start/sequence"))[:2] == (404, None)
    assert "No function handles GET /api/start/sequence (this route accepts POST) (404)." in caplog.text
    assert (await call(http, "GET", f"{host.base_url}/api/nothing-here"))[:2] == (404, None)
    assert (await call(http, "GET", f"{host.base_url}{API}/nothing-here"))[:2] == (404, None)
    assert "The durable HTTP API has no route for GET" in caplog.text


async def test_clock_advance_validates_its_body(host: DurableHost, http: aiohttp.ClientSession) -> None:
    url = f"{host.base_url}/devhost/clock/advance"
    before = host.now
    status, body, _ = await call(http, "POST", url, json={"seconds": 3600})
    assert status == 200 and body["now"].startswith((before + timedelta(hours=1)).strftime("%Y-%m-%dT%H"))
    for bad in ({"seconds": -1}, {"minutes": 1}, {"seconds": "soon"}):
        assert (await call(http, "POST", url, json=bad))[0] == 400
    assert (await call(http, "POST", url, data=b"{"))[0] == 400


async def test_a_running_instance_is_purged_like_any_other(host: DurableHost, http: aiohttp.ClientSession) -> None:
    """ext's Azure Storage purge checks no status; events sent later find no instance."""
    instance = await host.start("waits_for_events")
    await host.settle()
    status, body, _ = await call(http, "DELETE", f"{host.base_url}{API}/instances/{instance}")
    assert (status, body) == (200, {"instancesDeleted": 1})
    assert (await call(http, "GET", f"{host.base_url}{API}/instances/{instance}"))[0] == 404
    event = f"{host.base_url}{API}/instances/{instance}/raiseEvent/Go"
    assert (await call(http, "POST", event, json=1))[0] == 404


async def test_purge_by_filter_without_terminal_statuses_purges_every_status(
    host: DurableHost, http: aiohttp.ClientSession
) -> None:
    """ext keeps only the terminal statuses named; with none left there is no status
    filter at all (`AzureTableTrackingStore.PurgeInstanceHistoryAsync`)."""
    done = await host.start("sequence", 1)
    waiting = await host.start("waits_for_events")
    await host.settle()
    url = f"{host.base_url}{API}/instances?createdTimeFrom=2000-01-01T00:00:00Z&runtimeStatus=Running"
    status, body, _ = await call(http, "DELETE", f"{url}&instanceIdPrefix=x")
    assert status == 400 and "instanceIdPrefix is no purge filter" in body["error"]
    status, body, _ = await call(http, "DELETE", url)
    assert (status, body) == (200, {"instancesDeleted": 2})
    for instance in (done, waiting):
        assert (await call(http, "GET", f"{host.base_url}{API}/instances/{instance}"))[0] == 404


async def test_paging_250_instances_returns_each_once(host: DurableHost, http: aiohttp.ClientSession) -> None:
    started = {await host.start("waits_for_events", instance_id=f"page-{n:03d}") for n in range(250)}
    url = f"{host.base_url}{API}/instances?instanceIdPrefix=page-&top=100"
    seen: list[str] = []
    token = ""
    for _ in range(10):  # 3 pages, bounded should the token never run out
        status, body, headers = await call(http, "GET", url, headers={"x-ms-continuation-token": token})
        assert status == 200 and len(body) <= 100
        seen += [item["instanceId"] for item in body]
        token = headers["x-ms-continuation-token"]
        if not token:
            break
    assert sorted(seen) == sorted(started)


async def test_out_of_range_query_and_body_values_are_400_not_500(
    host: DurableHost, http: aiohttp.ClientSession
) -> None:
    base = f"{host.base_url}{API}"
    for query in ("top=%C2%B2", "createdTimeFrom=0001-01-01T00:00:00%2B01:00"):
        assert (await call(http, "GET", f"{base}/instances?{query}"))[0] == 400, query
    url = f"{base}/orchestrators/sequence?timeout=inf&pollingInterval=1"
    assert (await call(http, "POST", url, json=1))[0] == 400
    for seconds in (b"NaN", b"1e30"):
        body = b'{"seconds": ' + seconds + b"}"
        assert (await call(http, "POST", f"{host.base_url}/devhost/clock/advance", data=body))[0] == 400


async def test_route_words_match_in_any_case_and_a_trailing_slash_is_ignored(
    host: DurableHost, http: aiohttp.ClientSession
) -> None:
    """ext `HttpApiHandler` matches its routes case-insensitively on a trimmed path; a
    known path with another method is 404, not 405."""
    instance = await host.start("sequence", 1, instance_id="CaseKept")
    await host.wait(instance)
    status, body, _ = await call(http, "GET", f"{host.base_url}/runtime/webhooks/durableTask/Instances/CaseKept/")
    assert (status, body["instanceId"]) == (200, "CaseKept")
    assert (await call(http, "PUT", f"{host.base_url}{API}/instances/CaseKept"))[0] == 404


async def test_another_task_hub_is_refused_and_makeprimary_answers(
    host: DurableHost, http: aiohttp.ClientSession
) -> None:
    """One hub per host: a `taskHub` naming another would read another hub in Azure."""
    hub = host._host.config.hub
    assert (await call(http, "GET", f"{host.base_url}{API}/instances?taskHub={hub.upper()}"))[0] == 200
    status, body, _ = await call(http, "GET", f"{host.base_url}{API}/instances?taskHub=Elsewhere")
    assert status == 400 and "one hub per devhost" in body["error"]
    assert (await call(http, "POST", f"{host.base_url}{API}/makeprimary"))[0] == 200


async def test_entity_list_filters_by_last_operation_time(host: DurableHost, http: aiohttp.ClientSession) -> None:
    await host.signal_entity("Tally", "early", "add", 1)
    await host.settle()
    between = host.now + timedelta(minutes=30)
    await host.advance(timedelta(hours=1))
    await host.signal_entity("Tally", "late", "add", 1)
    await host.settle()
    stamp = between.strftime("%Y-%m-%dT%H:%M:%SZ")
    base = f"{host.base_url}{API}/entities/Tally"
    _, after, _ = await call(http, "GET", f"{base}?lastOperationTimeFrom={stamp}")
    _, before, _ = await call(http, "GET", f"{base}?lastOperationTimeTo={stamp}")
    assert [item["entityId"]["key"] for item in after] == ["late"]
    assert [item["entityId"]["key"] for item in before] == ["early"]


async def test_json_deeper_than_json_net_reads_is_400_everywhere(
    host: DurableHost, http: aiohttp.ClientSession
) -> None:
    """Json.NET reads at most 64 levels (its default `MaxDepth`); deeper bodies, even far
    deeper than Python's recursion limit, are the caller's error, never a 500."""

    def nested(levels: int) -> bytes:
        return b"[" * levels + b"]" * levels

    as_json = {"Content-Type": "application/json"}
    start = f"{host.base_url}{API}/orchestrators/echo_back"
    assert (await call(http, "POST", start, data=nested(64), headers=as_json))[0] == 202
    waiting = await host.start("waits_for_events")
    for url in (
        start,
        f"{host.base_url}{API}/instances/{waiting}/raiseEvent/Go",
        f"{host.base_url}{API}/entities/Tally/deep?op=add",
        f"{host.base_url}/devhost/clock/advance",
    ):
        for levels in (65, 5000):
            status, body, _ = await call(http, "POST", url, data=nested(levels), headers=as_json)
            assert status == 400 and "Invalid JSON content" in body["error"], (url, levels)


async def test_ids_azure_storage_cannot_hold_are_refused_on_both_stores(
    host: DurableHost, http: aiohttp.ClientSession
) -> None:
    """A table key holds 1 KiB and no control characters; `.` and `..` make no blob path.
    Refused up front, since the same app would fail on Azure (and loop on retries)."""
    for encoded in ("%2E", "%2E%2E"):  # clients resolve a literal "." or ".." segment away
        url = yarl.URL(f"{host.base_url}{API}/orchestrators/sequence/{encoded}", encoded=True)
        async with http.post(url) as response:
            assert response.status == 400 and "cannot name an instance" in (await response.json())["error"]
    long_key = "k" * 1000
    status, body, _ = await call(http, "POST", f"{host.base_url}{API}/entities/Tally/{long_key}?op=add", json=1)
    assert status == 400 and "too long for an Azure Storage table key" in body["error"]
    instance_id = await host.start("uses_entity", long_key)
    status = await host.wait(instance_id)
    assert status.runtime_status == "Failed" and "too long for an Azure Storage table key" in status.output


async def test_a_continuation_token_this_host_did_not_issue_is_400(
    host: DurableHost, http: aiohttp.ClientSession
) -> None:
    import base64

    crafted = [
        "not base64 at all!",
        base64.urlsafe_b64encode(b"5").decode(),
        base64.urlsafe_b64encode(b'{"PartitionKey": 1}').decode(),
        base64.urlsafe_b64encode(b'{"Other": "x"}').decode(),
    ]
    for token in crafted:
        for route in ("instances", "entities"):
            status, body, _ = await call(
                http, "GET", f"{host.base_url}{API}/{route}", headers={"x-ms-continuation-token": token}
            )
            assert status == 400 and "not one this host issued" in body["error"], (route, token)
