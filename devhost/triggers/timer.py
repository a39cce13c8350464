"""The timer trigger, as the Functions host's timers extension runs it.

WebJobs.Extensions `TimerListener`: at start (on the one host holding the timer's lock,
locks.py) it reads the schedule status (timer_status.py), runs an occurrence missed while
no host ran it (`IsPastDue`, once however many were missed) or, with `runOnStartup`, runs
once at once; then it runs each occurrence and records it, whether the call succeeded or
not. The function gets the host's `TimerInfo` as JSON: `Schedule`, `ScheduleStatus` (the
status before this call, so `Next` is the occurrence being run; null without the
monitor) and `IsPastDue`. With a virtual clock there is no loop: the engine's `advance`
asks `next_due` and calls `fire` for each occurrence in order; a startup call (past due,
`runOnStartup`) is due at the start, so the first advance (even by zero) makes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from azure.functions import meta

from ..errors import StartupError
from ..invoker import Triggered
from ..loader import FunctionInfo
from ..supervision import Supervisor
from .listeners import BY_HAND_REASON, Listener, TriggerServices
from .locks import ListenerLock, SingletonSettings
from .schedules import ConstantSchedule, CronSchedule, Schedule, ScheduleError, parse_schedule
from .time_zones import find_time_zone
from .timer_status import (
    HOSTS_CONTAINER,
    UNSET,
    ScheduleMonitor,
    ScheduleStatus,
    format_occurrences,
    invariant_time,
    round_trip_time,
)

logger = logging.getLogger(__name__)

TIME_ZONE_SETTING = "WEBSITE_TIME_ZONE"


@dataclass(frozen=True)
class _Startup:
    """`TimerListener.StartupInvocationContext`: the call made right after the start."""

    due: datetime
    past_due: bool
    original: datetime | None = None  # the missed occurrence


class TimerListener(Listener):
    """One `timerTrigger` function's schedule."""

    def __init__(self, info: FunctionInfo, binding: Mapping[str, Any], services: TriggerServices) -> None:
        super().__init__(info, binding, services)
        expression = str(binding.get("schedule") or "")
        zone_name = services.settings.get(TIME_ZONE_SETTING)
        try:
            self.schedule = parse_schedule(expression, time_zone=zone_name)
        except ScheduleError as error:  # the host refuses to index the function
            raise StartupError(f"Error indexing method 'Functions.{info.name}': {error}") from None
        zone = find_time_zone(zone_name)
        assert zone is not None, "parse_schedule refuses a zone it does not know"
        self._zone = zone
        self._run_on_startup = _flag(binding, "runOnStartup", default=False)
        # `TimerSchedule.Create` turns the monitor off for schedules more frequent than a minute.
        self._use_monitor = _flag(binding, "useMonitor", default=True) and not too_frequent_to_monitor(
            self.schedule, services.clock.now()
        )
        blobs = services.accounts.blobs(services.accounts.host_storage(function=info.name))
        hosts = blobs.get_container_client(HOSTS_CONTAINER)
        # `TimerTriggerBinding`: the method's full name, `Host.Functions.<name>` in the host.
        self._timer_name = f"Host.Functions.{info.name}"
        self._monitor = ScheduleMonitor(hosts, services.host_id, zone)
        self._lock = ListenerLock(
            hosts,
            info.name,
            f"{services.host_id}/{self._timer_name}.Listener",
            SingletonSettings.from_host_json(services.singleton),
            started=self._listen,
            stopped=self._halt,
            transient=services.transient_errors,
        )
        self._status: ScheduleStatus | None = None  # the listener's, once listening
        self._startup: _Startup | None = None
        self._loops: Supervisor | None = None

    @property
    def _loop_name(self) -> str:
        return f"timer:{self.info.name}"

    async def start(self, loops: Supervisor) -> None:
        self._loops = loops
        await self._lock.start(loops)

    async def stop(self) -> None:
        await self._lock.stop()

    # --- the virtual clock ------------------------------------------------------------

    def next_due(self) -> datetime | None:
        if not self._lock.listening or self._status is None:
            return None
        return self._startup.due if self._startup is not None else self._status.next

    async def fire(self, due: datetime) -> None:
        await self._fire()

    # --- by hand ----------------------------------------------------------------------

    def by_hand(self, text: str | None) -> Triggered:
        """`TimerTriggerBinding.BindAsync` for a value that is not a `TimerInfo`: the
        recorded status (here as this host last read or wrote it), not past due."""
        status = self._monitor.known if self._use_monitor else None
        return self._triggered(self.services.clock.now(), status, past_due=False, reason=BY_HAND_REASON)

    # --- TimerListener ----------------------------------------------------------------

    async def _listen(self) -> None:
        """`TimerListener.StartAsync`, once this host holds the lock."""
        now = self.services.clock.now()
        name = self.info.name
        logger.debug(
            "The '%s' timer is using the schedule '%s' and the local time zone: '%s'",
            name, self.schedule.description, self._zone,
        )  # fmt: skip
        status: ScheduleStatus | None = None
        past_due = False
        if self._use_monitor:
            status = await self._monitor.get_status(self._timer_name)
            if status is not None and self.services.clock.is_virtual and max(status.last, status.last_updated) > now:
                # Written on a virtual clock that ran further (a memory store's clock
                # starts at the real time on every start): another timeline, not this one.
                logger.debug("Function '%s': its recorded status is later than the clock; starting afresh.", name)
                status = None
            if status is not None:
                logger.debug(
                    "Function '%s' initial status: Last='%s', Next='%s', LastUpdated='%s'",
                    name, *status.to_json(self._zone).values(),
                )  # fmt: skip
            status, past_due = await self._monitor.check_past_due(self._timer_name, now, self.schedule, status)
        if status is None:
            status = ScheduleStatus(UNSET, self.schedule.next_after(now), UNSET)
        self._status = status
        logger.info(
            "The next 5 occurrences of the '%s' schedule (%s) will be:\n%s",
            name, self.schedule.description, format_occurrences(self.schedule.occurrences(now, 5), self._zone),
        )  # fmt: skip
        if past_due:
            self._startup = _Startup(now, past_due=True, original=status.next)
        elif self._run_on_startup:
            self._startup = _Startup(now, past_due=False)
        if not self.services.clock.is_virtual:
            assert self._loops is not None
            self._loops.spawn(self._loop_name, self._run, transient=self.services.transient_errors)

    async def _halt(self) -> None:
        """`TimerListener.StopAsync`. A call under way is not waited for (devhost never
        waits for user code at a stop): its occurrence stays unrecorded, so the next
        start runs it as past due."""
        if self._loops is not None and not self.services.clock.is_virtual:
            self._loops.cancel(self._loop_name)
        self._startup = None

    async def _run(self) -> None:
        """The system clock's timer: sleep until the next occurrence, run it, again."""
        while True:
            status = self._status
            assert status is not None
            if self._startup is None:
                await asyncio.sleep(max((status.next - self.services.clock.now()).total_seconds(), 0.0))
            await self._fire()

    async def _fire(self) -> None:
        """`HandleTimerEvent` + `InvokeJobFunction`: the startup call if one is due, else
        the next occurrence; then the status moves on from the time it fired (or from
        the occurrence, if it fired early), whatever the call's outcome."""
        now = self.services.clock.now()
        status = self._status
        assert status is not None
        startup, self._startup = self._startup, None
        details: dict[str, str] = {}
        if startup is not None and startup.past_due:
            logger.debug("Function '%s' is past due on startup. Executing now.", self.info.name)
            details["UnscheduledInvocationReason"] = "IsPastDue"
            if startup.original is not None:
                details["OriginalSchedule"] = round_trip_time(startup.original, self._zone)
        elif startup is not None:
            logger.debug("Function '%s' is configured to run on startup. Executing now.", self.info.name)
            details["UnscheduledInvocationReason"] = "RunOnStartup"
        triggered = self._triggered(
            now,
            status if self._use_monitor else None,
            past_due=startup is not None and startup.past_due,
            reason=f"Timer fired at {round_trip_time(now, self._zone)}",
        )
        if details:  # the host logs these right after its `Executing` line
            logger.info("Trigger Details: %s", ", ".join(f"{key}: {value}" for key, value in details.items()))
        with contextlib.suppress(Exception):  # logged by the invoker; the schedule goes on
            await self.services.invoke(self.info, triggered)
        moment = status.next if startup is None and status.next > now else now
        self._status = ScheduleStatus(moment, self.schedule.next_after(moment), moment)
        if self._use_monitor:
            await self._monitor.update_status(self._timer_name, self._status)
            logger.debug(
                "Function '%s' updated status: Last='%s', Next='%s', LastUpdated='%s'",
                self.info.name, *self._status.to_json(self._zone).values(),
            )  # fmt: skip

    def _triggered(self, now: datetime, status: ScheduleStatus | None, *, past_due: bool, reason: str) -> Triggered:
        """`TimerInfo` as the host serializes it for the worker (Newtonsoft, property
        order kept), and the `TimerTrigger` binding data (the time, as text)."""
        timer_info = {
            "Schedule": {"AdjustForDST": isinstance(self.schedule, CronSchedule)},
            "ScheduleStatus": status.to_json(self._zone) if status is not None else None,
            "IsPastDue": past_due,
        }
        stamp = invariant_time(now, self._zone)
        return Triggered(
            meta.Datum(json.dumps(timer_info, separators=(",", ":")), "json"),
            reason,
            metadata={"TimerTrigger": meta.Datum(stamp, "string")},
            data={"TimerTrigger": stamp},
        )


def _flag(binding: Mapping[str, Any], name: str, *, default: bool) -> bool:
    """A boolean binding property, as `GetMetadataValue<bool>` reads it (JSON true/false
    or their text)."""
    value = binding.get(name)
    if value is None:
        return default
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return bool(value)


def too_frequent_to_monitor(schedule: Schedule, now: datetime) -> bool:
    """`TimerSchedule.ShouldDisableScheduleMonitor` and its TimeSpan rule: a TimeSpan under a
    minute, or a crontab whose fields beyond the first are all `*` (in NCrontab's expanded
    form) with more than one occurrence in the coming minute."""
    if isinstance(schedule, ConstantSchedule):
        return schedule.interval < timedelta(minutes=1)
    if isinstance(schedule, CronSchedule):
        if any(part != "*" for part in schedule.expression.split(" ")[1:]):
            return False
        first = schedule.next_after(now)
        return schedule.next_after(first) < now + timedelta(minutes=1)
    return False
