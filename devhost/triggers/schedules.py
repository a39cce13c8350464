"""A timer trigger's schedule, parsed and evaluated as the Functions host's timers extension does.

WebJobs.Extensions `TimerSchedule.Create` reads the (resolved) expression as NCrontab first
(`CronSchedule`), then as a TimeSpan (`ConstantSchedule`); occurrences are computed in the
zone WEBSITE_TIME_ZONE names, with `CronSchedule`'s Daylight Saving adjustments.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo
from typing import Protocol, runtime_checkable

from devhost.triggers.crontab import CrontabError, CrontabExpression, Int32Overflow
from devhost.triggers.time_zones import find_time_zone
from devhost.triggers.timespans import format_timespan, parse_timespan

__all__ = [
    "NEVER",
    "ConstantSchedule",
    "CronSchedule",
    "Schedule",
    "ScheduleError",
    "parse_schedule",
]

# What a schedule with no occurrence left answers (a 30th of February): NCrontab's
# `GetNextOccurrence` returns its end time, `DateTime.MaxValue`, which a host in UTC keeps.
NEVER = datetime.max.replace(tzinfo=UTC)


class ScheduleError(ValueError):
    """Raised when a schedule expression, its %setting% references or WEBSITE_TIME_ZONE
    cannot be used; `reason` carries NCrontab's explanation where the host hides it."""

    def __init__(self, message: str, *, reason: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason


@runtime_checkable
class Schedule(Protocol):
    """What a timer needs of its schedule (WebJobs.Extensions `TimerSchedule`)."""

    def next_after(self, moment: datetime) -> datetime:
        """The first occurrence strictly after `moment` (aware), in UTC."""
        ...

    @property
    def description(self) -> str:
        """The schedule as the host's `ToString` writes it in its startup lines."""
        ...

    def occurrences(self, after: datetime, count: int) -> list[datetime]:
        """The next `count` occurrences, each computed from the one before."""
        ...


class _Occurrences:
    """`TimerSchedule.GetNextOccurrences`, shared by both schedules."""

    def next_after(self, moment: datetime) -> datetime:
        raise NotImplementedError

    def occurrences(self, after: datetime, count: int) -> list[datetime]:
        """The host logs the next five at start (`TimerInfo.FormatNextOccurrences`)."""
        if count < 0:
            raise ValueError("count must not be negative")
        found: list[datetime] = []
        for _ in range(count):
            after = self.next_after(after)
            found.append(after)
        return found


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"a schedule needs an aware datetime, not the naive {moment.isoformat()}")
    return moment.astimezone(UTC)


def _is_ambiguous(wall: datetime, zone: tzinfo) -> bool:
    """`TimeZoneInfo.IsAmbiguousTime`: the wall time happens twice, the clock going back at
    the end of Daylight Saving Time (the first pass has the larger offset)."""
    first, second = wall.replace(tzinfo=zone, fold=0), wall.replace(tzinfo=zone, fold=1)
    offsets = first.utcoffset(), second.utcoffset()
    return (
        offsets[0] is not None and offsets[1] is not None and offsets[0] > offsets[1] and (first.dst() != second.dst())
    )


def _instant(wall: datetime, zone: tzinfo) -> datetime:
    """`new DateTimeOffset(local).ToLocalTime()` for a local time NCrontab made: a time the
    zone skips (spring forward) or repeats (fall back) gets the zone's standard offset, so
    02:30 on a spring-forward day in New York is 07:30 UTC (03:30 EDT)."""
    first, second = wall.replace(tzinfo=zone, fold=0), wall.replace(tzinfo=zone, fold=1)
    if first.utcoffset() != second.utcoffset() and first.dst() and not second.dst():
        return second.astimezone(UTC)
    return first.astimezone(UTC)


class CronSchedule(_Occurrences):
    """An NCrontab expression evaluated in a zone (WebJobs.Extensions `CronSchedule`)."""

    def __init__(self, crontab: CrontabExpression, zone: tzinfo = UTC) -> None:
        self.crontab = crontab
        self.zone = zone
        # `CronSchedule`'s constructor: an "interval" schedule has *, - or / in its second,
        # minute or hour field (minute or hour for five fields), read from NCrontab's expanded
        # form, where a step is already a list: "0 0 */2 * * *" is "0 0 0,2,...,22 * * *", a
        # point in time, while "0 0,1 ..." is "0 0-1 ..." and so an interval.
        parts = str(crontab).split()
        self.is_interval = any(marker in part for part in parts[: 3 if len(parts) == 6 else 2] for marker in "*-/")

    @property
    def expression(self) -> str:
        """NCrontab's expanded form of the expression (`CrontabSchedule.ToString`)."""
        return str(self.crontab)

    @property
    def description(self) -> str:
        return f"Cron: '{self.expression}'"

    def __repr__(self) -> str:
        return f"<CronSchedule {self.expression!r} in {self.zone}>"

    def next_after(self, moment: datetime) -> datetime:
        """`CronSchedule.GetNextOccurrence`: NCrontab's next local time after the local wall
        time of `moment` (its fraction of a second dropped, so 01:59:59.5 gives 02:00:00),
        as an instant, then `TryAdjustAmbiguousTime` for the hour that repeats."""
        now = _utc(moment)
        if now >= NEVER:
            return NEVER
        try:
            return self._next(now)
        except OverflowError:
            # Within a day of year 10000, where .NET's DateTime ends too.
            return NEVER

    def _next(self, now: datetime) -> datetime:
        local_now = now.astimezone(self.zone)
        wall_now = local_now.replace(tzinfo=None)
        wall_next = self.crontab.next_after(wall_now)
        if wall_next is None:
            return NEVER
        following = _instant(wall_next, self.zone)
        if self.zone is UTC:
            # `!TimeZoneInfo.Local.SupportsDaylightSavingTime`: nothing to adjust.
            return following
        local_next = following.astimezone(self.zone)
        now_offset, next_offset = local_now.utcoffset(), local_next.utcoffset()
        assert now_offset is not None and next_offset is not None
        now_ambiguous = _is_ambiguous(wall_now, self.zone)
        next_ambiguous = _is_ambiguous(local_next.replace(tzinfo=None), self.zone)
        if not self.is_interval and next_ambiguous:
            if next_offset != now_offset:
                # Scenario 1: from Daylight time to a repeated time, which NCrontab's times
                # always take as the second (standard) pass: run on the first pass instead.
                return following + (next_offset - now_offset)
            # Scenario 2: already in the second pass, so the first pass ran (or would have):
            # skip every occurrence that falls in the repeated hour.
            wall = local_next.replace(tzinfo=None)
            while _is_ambiguous(wall, self.zone):
                later = self.crontab.next_after(wall)
                if later is None:
                    return NEVER
                wall = later
            return _instant(wall, self.zone)
        if self.is_interval and (now_ambiguous or next_ambiguous) and next_offset != now_offset:
            # Scenario 3: an interval runs through both passes of the repeated hour: moving
            # across the offset change, keep now's offset ("01:30-7 -> 02:00-8 -> 01:00-8").
            # As the host does, this applies whenever either end is ambiguous and the offsets
            # differ, even when the next occurrence is days later.
            return following + (next_offset - now_offset)
        return following


class ConstantSchedule(_Occurrences):
    """A TimeSpan between occurrences (WebJobs.Extensions `ConstantSchedule`): `now + interval`
    on the instant, never adjusted for DST (its `AdjustForDST` is false)."""

    def __init__(self, ticks: int) -> None:
        if ticks <= 0:
            raise ValueError("a constant schedule needs a positive interval")
        self.ticks = ticks
        # Python's datetime stops at microseconds; a TimeSpan counts 100 ns ticks.
        self.interval = timedelta(microseconds=ticks // 10)

    @property
    def description(self) -> str:
        return f"Constant: {format_timespan(self.ticks)}"

    def __repr__(self) -> str:
        return f"<ConstantSchedule {format_timespan(self.ticks)}>"

    def next_after(self, moment: datetime) -> datetime:
        now = _utc(moment)
        try:
            return now + max(self.interval, timedelta(microseconds=1))
        except OverflowError:
            return NEVER


def _has_seconds(expression: str) -> bool:
    """`CronSchedule.HasSeconds`: anything but five fields is read as six."""
    return len([token for token in expression.split(" ") if token]) != 5


def parse_schedule(expression: str, *, time_zone: str | None = None) -> Schedule:
    """`TimerSchedule.Create` for an expression whose %settings% are already resolved;
    `time_zone` is WEBSITE_TIME_ZONE's value (None: UTC)."""
    zone = find_time_zone(time_zone)
    if zone is None:
        raise ScheduleError(
            f"WEBSITE_TIME_ZONE names a time zone that is not known: '{time_zone}'. Use an "
            "IANA name such as 'America/New_York' or a common Windows one such as "
            "'Eastern Standard Time'."
        )
    try:
        crontab = CrontabExpression.parse(expression, including_seconds=_has_seconds(expression))
    except Int32Overflow as overflow:
        # NCrontab lets .NET's OverflowException through, and the host fails with its message.
        raise ScheduleError(f"The schedule expression '{expression}' could not be parsed: {overflow}") from None
    except CrontabError as refused:
        reason: str | None = str(refused)
    else:
        return CronSchedule(crontab, zone)
    ticks = parse_timespan(expression)
    if ticks is not None:
        if ticks <= 0:
            # The host takes these and then fires continuously, each next occurrence being
            # already due: refused here instead, since `next_after` must move forward.
            raise ScheduleError(
                f"The schedule expression '{expression}' is a TimeSpan of "
                f"{format_timespan(ticks)}; a constant schedule needs a positive interval."
            )
        return ConstantSchedule(ticks)
    raise ScheduleError(
        f"The schedule expression '{expression}' was not recognized as a valid cron expression or timespan string.",
        reason=reason,
    )
