"""The timer trigger on a virtual clock, its status and lock in Azurite as the host keeps
them (`azure-webjobs-hosts/timers/...`, `.../locks/...`), on both durable stores.

The app (tests/apps/timer_app) records what each call was given; a scheduled call's
`schedule_status["Next"]` is the occurrence it runs, as the host's `TimerInfo` has it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, time, timedelta, timezone, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from azure.storage.blob import BlobLeaseClient, BlobServiceClient

from devhost.dashboard.render import iso_moment
from devhost.errors import StartupError
from devhost.testing import DurableHost
from tests.support.apps import TIMER_APP
from tests.support.waiting import eventually

STORES = pytest.mark.parametrize("storage", ["memory", "azurite"])
UNSET = "0001-01-01T00:00:00+00:00"  # .NET's default DateTime, as the host writes it
# A schedule the dashboard's clock lists after an advance: (occurrence, function).
_SCHEDULE_ROW = re.compile(
    r'<td><time datetime="([^"]+)">[^<]*</time></td>\s*<td>Schedule</td><td><code>([^<]+)</code></td>'
)


@pytest.fixture(autouse=True)
def host_id(monkeypatch: pytest.MonkeyPatch, storage_connection: str) -> str:
    """A host id of the test's own, so no status or lock of another test is seen."""
    value = f"timers-{uuid.uuid4().hex[:16]}"
    monkeypatch.setenv("AzureFunctionsWebHost__hostid", value)
    monkeypatch.setenv("TIMER_APP_SCHEDULE", "0 0 */8 * * *")
    return value


def _host(storage: str, connection: str, hub: str = "") -> DurableHost:
    if storage == "memory":
        return DurableHost(TIMER_APP)
    return DurableHost(TIMER_APP, storage="azurite", connection=connection, hub=hub or f"Timers{uuid.uuid4().hex[:8]}")


def _calls(host: DurableHost, name: str) -> list[dict[str, Any]]:
    calls: dict[str, list[dict[str, Any]]] = host.app_module.calls
    return calls.setdefault(name, [])


async def _run_for(durable_host: DurableHost, name: str, span: timedelta) -> tuple[datetime, list[dict[str, Any]]]:
    """Starts the host, moves its clock by `span`; when it started, and the calls of
    timer `name` on the way."""
    async with durable_host as host:
        start = host.now
        await host.advance(span)
        return start, _calls(host, name)


def _occurrences(calls: list[dict[str, Any]]) -> list[datetime]:
    return [datetime.fromisoformat(call["status"]["Next"]) for call in calls]


def _daily(after: datetime, until: datetime, at: time, zone: tzinfo = timezone.utc) -> list[datetime]:
    """Each day's `at` in `zone` after `after`, up to `until`."""
    day, found = after.astimezone(zone).date(), []
    while (moment := datetime.combine(day, at).replace(tzinfo=zone)) <= until:
        if moment > after:
            found.append(moment)
        day += timedelta(days=1)
    return found


def _blobs(connection: str) -> Any:
    container = BlobServiceClient.from_connection_string(connection).get_container_client("azure-webjobs-hosts")
    if not container.exists():
        container.create_container()
    return container


def _status_blob(connection: str, host_id: str, function: str) -> Any:
    return _blobs(connection).get_blob_client(f"timers/{host_id}/Host.Functions.{function}/status")


def _holds(condition: Callable[[], bool]) -> Callable[[], Awaitable[bool]]:
    """A condition on what the test already sees (logs, recorded calls), for `eventually`."""

    async def check() -> bool:
        return condition()

    return check


class TestOccurrences:
    @STORES
    async def test_a_daily_timer_fires_at_each_occurrence_and_records_it(
        self, storage: str, storage_connection: str, host_id: str
    ) -> None:
        start, calls = await _run_for(_host(storage, storage_connection), "nightly", timedelta(days=3))
        expected = _daily(start, start + timedelta(days=3), time(2))
        assert _occurrences(calls) == expected and len(expected) == 3
        assert [call["past_due"] for call in calls] == [False] * 3
        # The first call sees the status a first start keeps: no last occurrence yet.
        assert calls[0]["status"] == {"Last": UNSET, "Next": expected[0].isoformat(), "LastUpdated": UNSET}
        assert calls[1]["status"]["Last"] == expected[0].isoformat()
        assert calls[0]["schedule"] == {"AdjustForDST": True}
        stored = _status_blob(storage_connection, host_id, "nightly").download_blob().readall()
        last, following = expected[-1].isoformat(), (expected[-1] + timedelta(days=1)).isoformat()
        assert stored == f'{{"Last":"{last}","Next":"{following}","LastUpdated":"{last}"}}'.encode()

    @STORES
    async def test_the_dashboard_lists_each_schedule_fired_at_its_occurrence(
        self, storage: str, storage_connection: str, host_id: str, http: aiohttp.ClientSession
    ) -> None:
        async with _host(storage, storage_connection) as host:
            start = host.now
            form, origin = {"count": "1", "unit": "days"}, {"Origin": host.base_url}
            async with http.post(f"{host.base_url}/devhost/dashboard/clock", data=form, headers=origin) as response:
                page = await response.text()
            called = sum(len(calls) for calls in host.app_module.calls.values())
        rows = _SCHEDULE_ROW.findall(page)
        assert rows == sorted(rows) and len(rows) == called  # in order: by time, then by name
        assert rows[0] == (iso_moment(start), "at_startup")  # runOnStartup: due at the start
        nightly = _daily(start, start + timedelta(days=1), time(2))
        assert [when for when, name in rows if name == "nightly"] == [iso_moment(moment) for moment in nightly]

    async def test_a_schedule_from_an_app_setting(self, storage_connection: str, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("TIMER_APP_SCHEDULE", "0 15 */6 * * *")
        start, calls = await _run_for(_host("memory", storage_connection), "configured", timedelta(days=1))
        expected = sorted(
            moment for hour in (0, 6, 12, 18) for moment in _daily(start, start + timedelta(days=1), time(hour, 15))
        )
        assert _occurrences(calls) == expected and len(expected) == 4

    async def test_a_timespan_schedule_counts_from_the_last_call(self, storage_connection: str) -> None:
        start, calls = await _run_for(_host("memory", storage_connection), "every_six_hours", timedelta(days=1))
        assert _occurrences(calls) == [start + timedelta(hours=6 * n) for n in (1, 2, 3, 4)]
        assert calls[0]["schedule"] == {"AdjustForDST": False}

    async def test_website_time_zone_sets_the_zone_of_occurrences_and_status(
        self, storage_connection: str, host_id: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("WEBSITE_TIME_ZONE", "Eastern Standard Time")
        monkeypatch.setenv("TIMER_APP_SCHEDULE", "0 30 9 * * *")
        start, calls = await _run_for(_host("memory", storage_connection), "configured", timedelta(days=2))
        expected = _daily(start, start + timedelta(days=2), time(9, 30), ZoneInfo("America/New_York"))
        assert [call["status"]["Next"] for call in calls] == [moment.isoformat() for moment in expected]
        stored = json.loads(_status_blob(storage_connection, host_id, "configured").download_blob().readall())
        assert stored["Last"] == expected[-1].isoformat()

    async def test_a_failing_call_does_not_stop_the_schedule(
        self, storage_connection: str, host_id: str, caplog: pytest.LogCaptureFixture
    ) -> None:
        start, calls = await _run_for(_host("memory", storage_connection), "failing", timedelta(days=2))
        expected = _daily(start, start + timedelta(days=2), time(3))
        assert _occurrences(calls) == expected
        assert sum("Executed 'Functions.failing' (Failed" in line for line in caplog.messages) == len(expected)
        stored = json.loads(_status_blob(storage_connection, host_id, "failing").download_blob().readall())
        assert stored["Next"] == (expected[-1] + timedelta(days=1)).isoformat()


class TestStartsAndRestarts:
    @STORES
    async def test_occurrences_missed_while_no_host_ran_run_once_past_due(
        self, storage: str, storage_connection: str, host_id: str, caplog: pytest.LogCaptureFixture
    ) -> None:
        """The status a host that stopped three days ago left: the host sees the gap
        from the status itself, so the blob is written as that host would have (a
        virtual clock cannot run while no host runs)."""
        caplog.set_level(logging.INFO)
        midnight = datetime.combine(datetime.now(timezone.utc).date(), time(), timezone.utc)
        last, missed = midnight - timedelta(days=3, hours=22), midnight - timedelta(days=2, hours=22)
        _blobs(storage_connection).get_blob_client(f"timers/{host_id}/Host.Functions.nightly/status").upload_blob(
            json.dumps({"Last": last.isoformat(), "Next": missed.isoformat(), "LastUpdated": last.isoformat()}),
            overwrite=True,
        )
        async with _host(storage, storage_connection) as host:
            start = host.now
            await host.advance(timedelta(0))
            calls = list(_calls(host, "nightly"))
            await host.advance(timedelta(days=1))
            later = _calls(host, "nightly")[len(calls) :]
        assert [(call["past_due"], call["status"]["Next"]) for call in calls] == [(True, missed.isoformat())]
        assert f"Trigger Details: UnscheduledInvocationReason: IsPastDue, OriginalSchedule: {missed:%Y-%m-%dT%H:%M:%S}.0000000+00:00" in caplog.messages
        # Then on schedule again, counted from the late call.
        assert [(call["past_due"], datetime.fromisoformat(call["status"]["Last"])) for call in later] == [(False, start)]
        assert _occurrences(later) == _daily(start, start + timedelta(days=1), time(2))

    async def test_a_first_start_records_the_next_occurrence_without_running_it(
        self, storage_connection: str, host_id: str
    ) -> None:
        async with _host("memory", storage_connection) as host:
            start = host.now
            stored = json.loads(_status_blob(storage_connection, host_id, "nightly").download_blob().readall())
            assert _calls(host, "nightly") == []
        assert (stored["Last"], stored["Next"]) == (UNSET, _daily(start, start + timedelta(days=1), time(2))[0].isoformat())
        assert datetime.fromisoformat(stored["LastUpdated"]) == start

    async def test_a_restart_neither_skips_nor_repeats_an_occurrence(self, storage_connection: str) -> None:
        """The hub keeps its virtual time (the second host goes on from it), and the
        status blob the occurrences already run."""
        hub = f"Timers{uuid.uuid4().hex[:8]}"
        async with _host("azurite", storage_connection, hub) as first:
            start = first.now
            await first.advance(timedelta(days=1))
            calls = _calls(first, "nightly")
        async with _host("azurite", storage_connection, hub) as second:
            await second.advance(start + timedelta(days=3) - second.now)
            calls += _calls(second, "nightly")
        assert _occurrences(calls) == _daily(start, start + timedelta(days=3), time(2))
        assert not any(call["past_due"] for call in calls)

    async def test_a_memory_hosts_clock_starts_afresh_and_so_does_its_schedule(self, storage_connection: str) -> None:
        """A memory store's virtual clock starts at the real time on every start, behind
        the status an earlier run left: that status belongs to another timeline, and the
        schedule runs from the clock's time, as a first start does (each test of a suite
        sees the schedule as it would on its own)."""
        async with _host("memory", storage_connection) as first:
            await first.advance(timedelta(days=2))
        async with _host("memory", storage_connection) as second:
            start = second.now
            await second.advance(timedelta(days=1))
            calls = _calls(second, "nightly")
        assert _occurrences(calls) == _daily(start, start + timedelta(days=1), time(2))
        assert not any(call["past_due"] for call in calls)

    async def test_run_on_startup_runs_once_as_the_host_starts(
        self, storage_connection: str, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.INFO)
        async with _host("memory", storage_connection) as host:
            start = host.now
            await host.advance(timedelta(0))  # the startup call is due at the start
            first = list(_calls(host, "at_startup"))
            await host.advance(timedelta(days=1))
            calls = _calls(host, "at_startup")
        scheduled = _daily(start, start + timedelta(days=1), time(9, 30))
        assert first == [
            {
                "past_due": False,
                "status": {"Last": UNSET, "Next": scheduled[0].isoformat(), "LastUpdated": UNSET},
                "schedule": {"AdjustForDST": True},
            }
        ]
        assert "Trigger Details: UnscheduledInvocationReason: RunOnStartup" in caplog.messages
        assert _occurrences(calls[1:]) == scheduled and datetime.fromisoformat(calls[1]["status"]["Last"]) == start


class TestOneHostOfSeveral:
    async def test_only_the_lock_holder_runs_a_schedule_and_another_takes_over_when_it_stops(
        self, storage_connection: str, caplog: pytest.LogCaptureFixture
    ) -> None:
        """The second host retries the lock every 15 s (the test app's host.json
        `singleton.listenerLockRecoveryPollingInterval`, the host's minimum)."""
        caplog.set_level(logging.INFO)

        def started() -> int:  # the listener's first line, once it holds the lock
            return sum(line.startswith("The next 5 occurrences of the 'nightly' schedule") for line in caplog.messages)

        async with contextlib.AsyncExitStack() as first_running:
            first = await first_running.enter_async_context(_host("memory", storage_connection))
            start = first.now
            async with _host("memory", storage_connection) as second:
                await first.advance(timedelta(days=1))
                await second.advance(timedelta(days=1))
                calls = _calls(first, "nightly")
                assert (len(calls), _calls(second, "nightly")) == (1, [])  # only the lock holder ran it
                assert started() == 1
                await first_running.aclose()  # the first host stops and releases its locks
                await eventually(_holds(lambda: started() == 2), "the second host taking the lock")
                await second.advance(timedelta(days=1))
                calls += _calls(second, "nightly")
        assert _occurrences(calls) == _daily(start, start + timedelta(days=2), time(2))

    async def test_a_host_that_lost_its_lease_to_another_stops_running_the_schedule(
        self, storage_connection: str, host_id: str, caplog: pytest.LogCaptureFixture
    ) -> None:
        """What a host sees when its lease lapsed and another host took it: its next
        renewal (every 7.5 s, half the test app's 15 s lease) is refused."""
        caplog.set_level(logging.INFO)
        lock = _blobs(storage_connection).get_blob_client(f"locks/{host_id}/Host.Functions.nightly.Listener")
        async with _host("memory", storage_connection) as host:
            BlobLeaseClient(lock).break_lease(lease_break_period=0)
            other = lock.acquire_lease(lease_duration=60)
            try:
                refused = f"Singleton lock renewal failed for blob '{host_id}/Host.Functions.nightly.Listener'"
                await eventually(
                    _holds(lambda: any(line.startswith(refused) for line in caplog.messages)),
                    "the renewal finding the lease taken",
                )
                await host.advance(timedelta(days=1))
                assert _calls(host, "nightly") == []
                assert len(_calls(host, "configured")) == 3  # its other timers keep their locks
            finally:
                other.release()

    async def test_the_lock_is_a_lease_on_the_hosts_lock_blob_released_at_the_stop(
        self, storage_connection: str, host_id: str
    ) -> None:
        lock = _blobs(storage_connection).get_blob_client(f"locks/{host_id}/Host.Functions.nightly.Listener")
        async with _host("memory", storage_connection):
            lease = lock.get_blob_properties().lease
            assert (lease.state, lease.duration) == ("leased", "fixed")
        assert lock.get_blob_properties().lease.state == "available"


class TestSystemClock:
    async def test_the_system_clock_runs_the_schedule_and_keeps_no_status_under_a_minute(
        self, storage_connection: str, host_id: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Every second: the host's timer turns the monitor off for such schedules, so
        the calls get no status and none is stored."""
        monkeypatch.setenv("TIMER_APP_SCHEDULE", "* * * * * *")
        async with DurableHost(TIMER_APP, virtual_clock=False) as host:
            calls = _calls(host, "configured")
            await eventually(_holds(lambda: len(calls) >= 2), "two calls of an every-second schedule")
        assert all(call == {"past_due": False, "status": {}, "schedule": {"AdjustForDST": True}} for call in calls)
        assert not _status_blob(storage_connection, host_id, "configured").exists()


class TestCalls:
    async def test_a_call_by_hand_runs_now_with_the_recorded_status(self, storage_connection: str, host_id: str) -> None:
        async with _host("memory", storage_connection) as host:
            await host.advance(timedelta(days=1))
            calls = _calls(host, "nightly")
            async with aiohttp.ClientSession() as http:
                async with http.post(f"{host.base_url}/admin/functions/nightly", json={"input": ""}) as response:
                    assert response.status == 202
            await eventually(_holds(lambda: len(calls) == 2), "the call by hand")
        stored = json.loads(_status_blob(storage_connection, host_id, "nightly").download_blob().readall())
        assert calls[1] == {"past_due": False, "status": stored, "schedule": {"AdjustForDST": True}}


class TestRefusals:
    async def test_a_schedule_that_is_not_one_stops_the_start(
        self, storage_connection: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("TIMER_APP_SCHEDULE", "every day")
        with pytest.raises(StartupError) as refused:
            async with _host("memory", storage_connection):
                pass
        assert str(refused.value) == (
            "Error indexing method 'Functions.configured': The schedule expression 'every day' was not "
            "recognized as a valid cron expression or timespan string."
        )

    async def test_a_timer_without_azurewebjobsstorage_stops_the_start(
        self, storage_connection: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.delenv("AzureWebJobsStorage")
        with pytest.raises(StartupError) as refused:
            async with _host("memory", storage_connection):
                pass
        message = str(refused.value)
        assert message.startswith("Missing value for AzureWebJobsStorage in local.settings.json. This is required for all triggers other than httptrigger")
        assert "\n" not in message
