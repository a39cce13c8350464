"""Crontab expressions as NCrontab parses and evaluates them, on wall-clock times only.

The timer trigger's `CronSchedule` hands NCrontab a local time without a zone and gets one
back; time zones and DST are schedules.py's. This models ncrontab.signed 3.3.3, the version
WebJobs.Extensions references: `CrontabSchedule.cs`, `CrontabField.cs`, `CrontabFieldImpl.cs`.
"""

from __future__ import annotations

import calendar
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

__all__ = ["CrontabError", "CrontabExpression", "Int32Overflow"]


class CrontabError(ValueError):
    """Raised when NCrontab would not parse an expression; the message is NCrontab's."""


class Int32Overflow(CrontabError):
    """Raised when a number overflows .NET's `int.Parse`: NCrontab does not catch that one,
    so the host fails with .NET's own message instead of its "not recognized" one."""

    def __init__(self) -> None:
        super().__init__("Value was either too large or too small for an Int32.")


class _Thrown(Exception):
    """A `FormatException`/`CrontabException` thrown inside a field's parse: NCrontab's
    `CrontabFieldImpl.TryParse` catches it and names the whole field instead."""


@dataclass(frozen=True)
class _Kind:
    """One column of `CrontabFieldImpl`: its `CrontabFieldKind` name, range and value names."""

    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()


_SECOND = _Kind("Second", 0, 59)
_MINUTE = _Kind("Minute", 0, 59)
_HOUR = _Kind("Hour", 0, 23)
_DAY = _Kind("Day", 1, 31)
_MONTH_NAMES = "January February March April May June July August September October November December"
_MONTH = _Kind("Month", 1, 12, tuple(_MONTH_NAMES.split()))
# Sunday is 0 and 7 is out of range (`CrontabFieldImpl.DayOfWeek` is 0-6).
_DAY_NAMES = "Sunday Monday Tuesday Wednesday Thursday Friday Saturday"
_DAY_OF_WEEK = _Kind("DayOfWeek", 0, 6, tuple(_DAY_NAMES.split()))
_KINDS = (_SECOND, _MINUTE, _HOUR, _DAY, _MONTH, _DAY_OF_WEEK)

# NumberStyles.Integer's white space, which .NET's int.Parse allows around the digits.
_DOTNET_WHITE = " \t\n\v\f\r"


def _dotnet_int(text: str) -> int:
    """`int.Parse(text, CultureInfo.InvariantCulture)`: white space around, one sign, ASCII
    digits; Python's int() would also take underscores and non-ASCII digits."""
    body = text.strip(_DOTNET_WHITE)
    negative = body[:1] == "-"
    if body[:1] in ("-", "+"):
        body = body[1:]
    if not body or not all("0" <= char <= "9" for char in body):
        raise _Thrown(f"The input string '{text}' was not in a correct format.")
    value = -int(body) if negative else int(body)
    if not -(2**31) <= value < 2**31:
        raise Int32Overflow()
    return value


def _parse_value(kind: _Kind, text: str) -> int:
    """`CrontabFieldImpl.ParseValue`: a number, or for months and days a name, matched when
    the text starts any name case-insensitively ("M" is March, "Ju" June, "S" Sunday)."""
    if not text:
        raise _Thrown("A crontab field value cannot be empty.")
    if "0" <= text[0] <= "9":
        return _dotnet_int(text)
    if not kind.names:
        raise _Thrown(
            f"'{text}' is not a valid [{kind.name}] crontab field value. It must be a numeric "
            f"value between {kind.low} and {kind.high} (all inclusive)."
        )
    if text.isascii():
        for index, name in enumerate(kind.names):
            if name.lower().startswith(text.lower()):
                return kind.low + index
    raise _Thrown(f"'{text}' is not a known value name. Use one of the following: {', '.join(kind.names)}.")


def _out_of_range(kind: _Kind, value: int) -> CrontabError:
    side = "higher than the maximum" if value > kind.high else "lower than the minimum"
    return CrontabError(
        f"{value} is {side} allowable value for the [{kind.name}] field. "
        f"Value must be between {kind.low} and {kind.high} (all inclusive)."
    )


def _accumulate(kind: _Kind, start: int, end: int, step: int, values: set[int]) -> None:
    """`CrontabField.Accumulate`: -1/-1 is `*`; a reversed range is swapped, not refused; a
    step below 1 counts as 1 (so `*/0` is every value, as NCrontab takes it)."""
    if start == end:
        if start < 0:
            if step <= 1:
                values.update(range(kind.low, kind.high + 1))
                return
            start, end = kind.low, kind.high
        elif not kind.low <= start <= kind.high:
            raise _out_of_range(kind, start)
    else:
        start, end = min(start, end), max(start, end)
        if start < kind.low:
            raise _out_of_range(kind, start)
        if end > kind.high:
            raise _out_of_range(kind, end)
    values.update(range(start, end + 1, max(step, 1)))


def _parse_part(kind: _Kind, text: str, values: set[int]) -> None:
    """`CrontabFieldImpl.InternalParse`: a list, else `x/step`, then `*`, `a-b` or a value.
    Only a separator after the first character counts (`str.IndexOf(...) > 0`)."""
    if not text:
        raise CrontabError("A crontab field value cannot be empty.")
    if text.find(",") > 0:
        for element in text.split(","):
            _parse_part(kind, element, values)
        return
    step: int | None = None
    slash = text.find("/")
    if slash > 0:
        step = _dotnet_int(text[slash + 1 :])
        text = text[:slash]
    if text == "*":
        _accumulate(kind, -1, -1, 1 if step is None else step, values)
        return
    dash = text.find("-")
    if dash > 0:
        first, last = _parse_value(kind, text[:dash]), _parse_value(kind, text[dash + 1 :])
        _accumulate(kind, first, last, 1 if step is None else step, values)
        return
    value = _parse_value(kind, text)
    if step is None:
        _accumulate(kind, value, value, 1, values)
    else:
        # `5/15` means from 5 to the field's maximum, every 15.
        _accumulate(kind, value, kind.high, step, values)


def _parse_field(kind: _Kind, text: str) -> tuple[int, ...]:
    values: set[int] = set()
    try:
        _parse_part(kind, text, values)
    except _Thrown as thrown:
        raise CrontabError(f"'{text}' is not a valid [{kind.name}] crontab field expression. ({thrown})") from None
    return tuple(sorted(values))


def _format_field(kind: _Kind, values: tuple[int, ...]) -> str:
    """`CrontabFieldImpl.Format` with names off: runs of consecutive values as `a-b`, and
    `*` when the one run is the whole range; steps never survive (`*/15` is `0,15,30,45`)."""
    runs: list[tuple[int, int]] = []
    for value in values:
        if runs and value == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], value)
        else:
            runs.append((value, value))
    if runs == [(kind.low, kind.high)]:
        return "*"
    return ",".join(str(first) if first == last else f"{first}-{last}" for first, last in runs)


@dataclass(frozen=True)
class CrontabExpression:
    """A parsed `CrontabSchedule`: each field's values, ascending. `seconds` is None for a
    five-field expression, which then fires at second 0 (`CrontabSchedule.SecondZero`)."""

    seconds: tuple[int, ...] | None
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days: tuple[int, ...]
    months: tuple[int, ...]
    days_of_week: tuple[int, ...]

    @classmethod
    def parse(cls, expression: str, *, including_seconds: bool) -> CrontabExpression:
        """`CrontabSchedule.TryParse`: fields split on spaces only (tabs stay inside a field)."""
        tokens = [token for token in expression.split(" ") if token]
        expected = 6 if including_seconds else 5
        if len(tokens) != expected:
            sequence = "minutes, hours, days, months, and days of week"
            if including_seconds:
                sequence = "seconds, " + sequence
            raise CrontabError(
                f"'{expression}' is an invalid crontab expression. It must contain {expected} "
                f"components of a schedule in the sequence of {sequence}."
            )
        kinds = _KINDS if including_seconds else _KINDS[1:]
        fields = [_parse_field(kind, token) for kind, token in zip(kinds, tokens, strict=False)]
        if not including_seconds:
            fields.insert(0, ())
        seconds, minutes, hours, days, months, days_of_week = fields
        return cls(seconds if including_seconds else None, minutes, hours, days, months, days_of_week)

    def __str__(self) -> str:
        """`CrontabSchedule.ToString`: the expanded form the host logs and decides by."""
        pairs = zip(
            _KINDS,
            (self.seconds, self.minutes, self.hours, self.days, self.months, self.days_of_week),
            strict=False,
        )
        return " ".join(_format_field(kind, values) for kind, values in pairs if values is not None)

    def next_after(self, wall: datetime) -> datetime | None:
        """The first time on the schedule after `wall`'s whole second; None when there is none
        before year 10000 (NCrontab's `GetNextOccurrence` then answers `DateTime.MaxValue`).

        NCrontab steps field by field (`CrontabSchedule.TryGetNextOccurrence`) and ANDs the
        day of the month with the day of the week (Vixie cron ORs them); its answer is the
        earliest time matching every field, which this finds the same way: a day, then a time.
        """
        base = wall.replace(microsecond=0, tzinfo=None)
        day: date | None = base.date()
        while day is not None:
            day = self._day_from(day)
            if day is None:
                return None
            moment = self._time_after(base.time()) if day == base.date() else self._first_time()
            if moment is not None:
                return datetime.combine(day, moment)
            day = None if day == date.max else day + timedelta(days=1)
        return None

    def _day_from(self, start: date) -> date | None:
        """The first day on or after `start` whose month, day and day of week all match;
        months too short for a day are skipped, as NCrontab's `RetryDayMonth` does."""
        year, month, day = start.year, start.month, start.day
        while year <= date.max.year:
            for candidate_month in self.months[bisect_left(self.months, month) :]:
                first_day = day if candidate_month == month else 1
                last_day = calendar.monthrange(year, candidate_month)[1]
                for candidate_day in self.days[bisect_left(self.days, first_day) :]:
                    if candidate_day > last_day:
                        break
                    found = date(year, candidate_month, candidate_day)
                    # .NET's DayOfWeek counts from Sunday = 0; Python's weekday() from Monday.
                    if (found.weekday() + 1) % 7 in self.days_of_week:
                        return found
            year, month, day = year + 1, 1, 1
        return None

    def _time_after(self, after: time) -> time | None:
        """The first time of day on the schedule strictly after `after`, or None."""
        seconds = self.seconds or (0,)
        hour_index = bisect_left(self.hours, after.hour)
        if hour_index < len(self.hours) and self.hours[hour_index] == after.hour:
            minute_index = bisect_left(self.minutes, after.minute)
            if minute_index < len(self.minutes) and self.minutes[minute_index] == after.minute:
                second_index = bisect_right(seconds, after.second)
                if second_index < len(seconds):
                    return time(after.hour, after.minute, seconds[second_index])
                minute_index += 1
            if minute_index < len(self.minutes):
                return time(after.hour, self.minutes[minute_index], seconds[0])
            hour_index += 1
        if hour_index < len(self.hours):
            return time(self.hours[hour_index], self.minutes[0], seconds[0])
        return None

    def _first_time(self) -> time:
        return time(self.hours[0], self.minutes[0], (self.seconds or (0,))[0])
