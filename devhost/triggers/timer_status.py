"""A timer's schedule status, kept where the host keeps it, and the times in the host's text.

WebJobs.Extensions `StorageScheduleMonitor` keeps one blob per timer,
`azure-webjobs-hosts/timers/{hostId}/{timerName}/status`, holding the JSON of a
`ScheduleStatus` (`{"Last":...,"Next":...,"LastUpdated":...}`, written by Newtonsoft.Json:
local times with their offset, in the zone WEBSITE_TIME_ZONE names), so a restart neither
skips nor repeats an occurrence. `ScheduleMonitor.CheckPastDueAsync` decides at start
whether an occurrence was missed while no host ran the timer.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Any

from azure.core.exceptions import ResourceNotFoundError

from ..errors import StartupError
from ..protocol import parse_timestamp
from .schedules import Schedule

logger = logging.getLogger(__name__)

HOSTS_CONTAINER = "azure-webjobs-hosts"  # WebJobs `HostContainerNames.Hosts`

# .NET's `default(DateTime)`: what a status holds for an occurrence that never happened.
UNSET = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True)
class ScheduleStatus:
    """WebJobs.Extensions `ScheduleStatus`: the last occurrence run (UNSET: none yet), the
    one expected next, and when `Next` was last computed (UNSET: never recorded)."""

    last: datetime
    next: datetime
    last_updated: datetime

    def to_json(self, zone: tzinfo) -> dict[str, str]:
        return {
            "Last": json_time(self.last, zone),
            "Next": json_time(self.next, zone),
            "LastUpdated": json_time(self.last_updated, zone),
        }

    @classmethod
    def from_json(cls, text: str) -> ScheduleStatus:
        """Newtonsoft's reading: property names ignore case, a missing one is UNSET;
        raises ValueError for anything that is not such an object."""
        document = json.loads(text)
        if not isinstance(document, dict):
            raise ValueError("the status is not a JSON object")
        values = {str(key).lower(): value for key, value in document.items()}

        def moment(name: str) -> datetime:
            value = values.get(name.lower())
            if value is None:
                return UNSET
            try:
                parsed = parse_timestamp(str(value))
            except OverflowError:  # .NET's minimum in a zone ahead of UTC
                return UNSET
            return UNSET if parsed.year == 1 else parsed

        return cls(moment("Last"), moment("Next"), moment("LastUpdated"))


# --- times as the host writes them -----------------------------------------------------


def _local(moment: datetime, zone: tzinfo) -> datetime:
    """The moment as a local time of `zone`; UNSET is .NET's `DateTime.MinValue` there
    (`ToLocalTime` cannot go below it), and a time past the zone's year 9999 stays UTC."""
    if moment == UNSET:
        reference = datetime(2001, 1, 1)
        standard = (zone.utcoffset(reference) or timedelta(0)) - (zone.dst(reference) or timedelta(0))
        wall = datetime.min + max(standard, timedelta(0))
        return wall.replace(tzinfo=timezone(standard))
    try:
        return moment.astimezone(zone)
    except OverflowError:
        return moment.astimezone(UTC)


def _wall(local: datetime) -> str:
    """`yyyy-MM-ddTHH:mm:ss` (strftime would drop the leading zeros of year 1)."""
    return f"{local.year:04d}-{local.month:02d}-{local.day:02d}T{local.hour:02d}:{local.minute:02d}:{local.second:02d}"


def _offset(local: datetime) -> str:
    """`zzz` / Newtonsoft's offset: `+00:00`, never `Z`, for a local time."""
    minutes = round((local.utcoffset() or timedelta(0)).total_seconds() / 60)
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def json_time(moment: datetime, zone: tzinfo) -> str:
    """Newtonsoft.Json's `IsoDateFormat` for a local `DateTime`: the fraction of a second
    without trailing zeros (`2024-05-02T02:00:00.00123+00:00`), none when whole."""
    local = _local(moment, zone)
    fraction = f".{local.microsecond:06d}".rstrip("0") if local.microsecond else ""
    return f"{_wall(local)}{fraction}{_offset(local)}"


def round_trip_time(moment: datetime, zone: tzinfo) -> str:
    """.NET's `ToString("o")` of a local time: seven digits of fraction, the offset."""
    local = _local(moment, zone)
    return f"{_wall(local)}.{local.microsecond:06d}0{_offset(local)}"


def invariant_time(moment: datetime, zone: tzinfo) -> str:
    """`DateTime.ToString()` in the invariant culture, the host's on Linux."""
    return f"{_local(moment, zone):%m/%d/%Y %H:%M:%S}"


def is_utc(zone: tzinfo) -> bool:
    """`TimeZoneInfo.HasSameRules(TimeZoneInfo.Utc)`: no offset, winter or summer."""
    return all(zone.utcoffset(datetime(2001, month, 1)) == timedelta(0) for month in (1, 7))


def format_occurrences(occurrences: list[datetime], zone: tzinfo) -> str:
    """`TimerInfo.FormatNextOccurrences`: one line each, `MM/dd/yyyy HH:mm:ssK`, the
    UTC time in parentheses when the zone is not UTC."""

    def utc(moment: datetime) -> str:
        return f"{moment.astimezone(UTC):%m/%d/%Y %H:%M:%S}Z"

    if is_utc(zone):
        return "\n".join(utc(moment) for moment in occurrences)
    lines = []
    for moment in occurrences:
        local = _local(moment, zone)
        lines.append(f"{local:%m/%d/%Y %H:%M:%S}{_offset(local)} ({utc(moment)})")
    return "\n".join(lines)


# --- the status blobs ------------------------------------------------------------------


class ScheduleMonitor:
    """WebJobs.Extensions `StorageScheduleMonitor` (and its base `ScheduleMonitor`) over
    the `azure-webjobs-hosts` container of AzureWebJobsStorage."""

    def __init__(self, container: Any, host_id: str, zone: tzinfo) -> None:
        self._container = container
        self._host_id = host_id
        self._zone = zone
        # What the status blob holds, as this host last read or wrote it.
        self.known: ScheduleStatus | None = None

    def blob_name(self, timer_name: str) -> str:
        return f"timers/{self._host_id}/{timer_name}/status"

    async def get_status(self, timer_name: str) -> ScheduleStatus | None:
        """The recorded status, None if none was recorded yet; a blob that is not a
        status stops the timer's start, as Newtonsoft's exception does the host's."""
        name = self.blob_name(timer_name)
        try:
            download = await self._container.get_blob_client(name).download_blob()
            text = (await download.readall()).decode("utf-8-sig")
        except ResourceNotFoundError:
            return None
        try:
            self.known = ScheduleStatus.from_json(text)
            return self.known
        except ValueError as error:
            raise StartupError(
                f"The timer status blob '{HOSTS_CONTAINER}/{name}' is not a schedule status ({error}); "
                "delete it to start the schedule afresh."
            ) from None

    async def update_status(self, timer_name: str, status: ScheduleStatus) -> None:
        """Best effort, as the host's: a failure is logged and the timer goes on."""
        text = json.dumps(status.to_json(self._zone), separators=(",", ":"))
        try:
            if not await self._container.exists():
                await self._container.create_container()
            await self._container.get_blob_client(self.blob_name(timer_name)).upload_blob(
                text.encode("utf-8"), overwrite=True
            )
        except Exception:
            logger.exception("Function '%s' failed to update the timer trigger status.", timer_name)
            return
        self.known = status

    async def check_past_due(
        self, timer_name: str, now: datetime, schedule: Schedule, status: ScheduleStatus | None
    ) -> tuple[ScheduleStatus | None, bool]:
        """`ScheduleMonitor.CheckPastDueAsync`: the status the listener goes on with (None
        if none was recorded: the one written here stays in storage only, as the host's
        listener keeps its own), and whether an occurrence was missed. A schedule that
        changed since the status was written gets a new `Next`, from now if the one it
        implies is already past, so a change alone never counts as missed."""
        if status is None:
            written = ScheduleStatus(UNSET, schedule.next_after(now), now)
            await self.update_status(timer_name, written)
            return None, now > written.next
        if status.last != UNSET:
            expected, updated = schedule.next_after(status.last), status.last
        elif status.last_updated != UNSET:
            expected, updated = schedule.next_after(status.last_updated), status.last_updated
        else:
            expected, updated = schedule.next_after(now), now
        if status.next != expected:
            if now > expected:
                expected, updated = schedule.next_after(now), now
            status = ScheduleStatus(UNSET, expected, updated)
            await self.update_status(timer_name, status)
        return status, now > status.next
