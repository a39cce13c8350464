"""The timer trigger's schedules against the rules of the host's timers extension and NCrontab.

Expected values come from the upstream sources: NCrontab's `CrontabScheduleTests.cs`
(ncrontab.signed 3.3.3), WebJobs.Extensions' `CronScheduleTests.cs` and
`TimerScheduleTests.cs`, and .NET's `TimeSpanParse.cs`; each test says which rule it checks.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Optional
from zoneinfo import ZoneInfo

import pytest

from devhost.triggers.crontab import CrontabExpression
from devhost.triggers.schedules import (
    NEVER,
    ConstantSchedule,
    CronSchedule,
    Schedule,
    ScheduleError,
    parse_schedule,
)

NEW_YORK = ZoneInfo("America/New_York")
LOS_ANGELES = ZoneInfo("America/Los_Angeles")


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, micro: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, micro, tzinfo=timezone.utc)


def local(
    zone: ZoneInfo, year: int, month: int, day: int, hour: int, minute: int, *, fold: int = 0
) -> datetime:
    """A wall time in `zone` as the instant it names (fold=1: the second pass of a repeat)."""
    wall = datetime(year, month, day, hour, minute, tzinfo=zone, fold=fold)
    return wall.astimezone(timezone.utc)


def cron(expression: str, time_zone: Optional[str] = None) -> CronSchedule:
    schedule = parse_schedule(expression, time_zone=time_zone)
    assert isinstance(schedule, CronSchedule)
    return schedule


# --- Crontab fields (NCrontab `CrontabFieldImpl`, `CrontabField`) --------------------------


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (utc(2024, 1, 1, 0, 0, 0), utc(2024, 1, 1, 2, 0, 0)),
        (utc(2024, 1, 1, 1, 59, 59, 500_000), utc(2024, 1, 1, 2, 0, 0)),  # fraction dropped
        (utc(2024, 1, 1, 2, 0, 0), utc(2024, 1, 2, 2, 0, 0)),  # strictly after
        (utc(2024, 1, 1, 2, 0, 0, 1), utc(2024, 1, 2, 2, 0, 0)),
        (utc(2024, 2, 29, 3, 0, 0), utc(2024, 3, 1, 2, 0, 0)),  # leap day to March
        (utc(2024, 12, 31, 23, 59, 59), utc(2025, 1, 1, 2, 0, 0)),  # year end
    ],
)
def test_daily_at_two_is_the_next_two_oclock_strictly_after_the_moment(
    moment: datetime, expected: datetime
) -> None:
    assert cron("0 0 2 * * *").next_after(moment) == expected


def test_every_fifteen_seconds_steps_from_the_minute() -> None:
    schedule = cron("*/15 * * * * *")
    assert schedule.occurrences(utc(2015, 5, 22, 9, 45, 0), 5) == [
        utc(2015, 5, 22, 9, 45, 15),
        utc(2015, 5, 22, 9, 45, 30),
        utc(2015, 5, 22, 9, 45, 45),
        utc(2015, 5, 22, 9, 46, 0),
        utc(2015, 5, 22, 9, 46, 15),
    ]
    # NCrontab's ToString expands steps; the host's description is built from it.
    assert schedule.description == "Cron: '0,15,30,45 * * * * *'"


def test_every_five_minutes_fires_on_the_multiples_of_five() -> None:
    schedule = cron("0 */5 * * * *")
    assert schedule.occurrences(utc(2024, 5, 1, 18, 57, 12), 3) == [
        utc(2024, 5, 1, 19, 0, 0),
        utc(2024, 5, 1, 19, 5, 0),
        utc(2024, 5, 1, 19, 10, 0),
    ]


def test_weekdays_at_half_past_nine_skip_the_weekend() -> None:
    # Friday 2024-06-07 after 09:30: next are Monday to Wednesday.
    assert cron("0 30 9 * * 1-5").occurrences(utc(2024, 6, 7, 10, 0, 0), 3) == [
        utc(2024, 6, 10, 9, 30, 0),
        utc(2024, 6, 11, 9, 30, 0),
        utc(2024, 6, 12, 9, 30, 0),
    ]


def test_the_29th_of_february_comes_only_in_leap_years() -> None:
    schedule = cron("0 0 0 29 2 *")
    assert schedule.occurrences(utc(2024, 3, 1), 2) == [utc(2028, 2, 29), utc(2032, 2, 29)]
    # 2100 is not a leap year.
    assert schedule.next_after(utc(2096, 3, 1)) == utc(2104, 2, 29)


def test_day_of_month_and_day_of_week_must_both_match() -> None:
    # NCrontab ANDs them (Vixie cron would fire on every 13th and every Friday): Friday the 13th.
    assert cron("0 0 0 13 * 5").occurrences(utc(2024, 1, 1), 3) == [
        utc(2024, 9, 13),
        utc(2024, 12, 13),
        utc(2025, 6, 13),
    ]


def test_five_fields_are_accepted_without_seconds() -> None:
    # `CronSchedule.HasSeconds` is "not five fields"; five fire at second 0.
    schedule = cron("30 2 * * *")
    assert schedule.next_after(utc(2024, 1, 1, 2, 30, 0)) == utc(2024, 1, 2, 2, 30, 0)
    assert schedule.description == "Cron: '30 2 * * *'"


def test_names_are_case_insensitive_prefixes_and_sunday_is_zero() -> None:
    assert cron("0 30 9 * Jan Mon").next_after(utc(2024, 2, 1)) == utc(2025, 1, 6, 9, 30)
    assert cron("0 0 12 * * SUNDAY").crontab == cron("0 0 12 * * 0").crontab
    assert cron("0 0 12 * * mon-FRI").crontab == cron("0 0 12 * * 1-5").crontab
    # Any prefix of the English name, the first name it starts: "Ma" is March, "Ju" June.
    assert cron("0 0 0 1 Ma *").crontab.months == (3,)
    assert cron("0 0 0 1 Ju *").crontab.months == (6,)


def test_reversed_ranges_are_swapped_and_a_step_past_the_range_keeps_its_start() -> None:
    assert cron("0 0 5-1 * * *").crontab.hours == (1, 2, 3, 4, 5)
    assert cron("*/100 * * * * *").crontab.seconds == (0,)
    # A value with a step runs to the field's maximum.
    assert cron("0 0 20/2 * * *").crontab.hours == (20, 22)


def test_a_zero_step_is_taken_as_every_value() -> None:
    # `CrontabField.Accumulate` treats a step below 1 as 1 (a documented NCrontab quirk).
    assert cron("*/0 * * * * *").crontab.seconds == tuple(range(60))


# NCrontab.Tests `CrontabScheduleTests.Evaluations`: start, expression, next, with seconds.
@pytest.mark.parametrize(
    ("start", "expression", "expected", "with_seconds"),
    [
        ("01/01/2003 00:00:49", "45-47,48,49 * * * * *", "01/01/2003 00:01:45", True),
        ("01/01/2003 00:00:57", "2/5 * * * * *", "01/01/2003 00:01:02", True),
        ("24/02/2021 09:50:35", "* 0-1 10 * * *", "24/02/2021 10:00:00", True),
        ("01/01/2003 00:49:30", "6 45-47,48,49 * * * *", "01/01/2003 01:45:06", True),
        ("07/01/2003 00:00:00", "30  *  1 * *", "01/02/2003 00:30:00", False),
        ("30/04/2000 00:00:00", "0 0 15,30,31 * *", "15/05/2000 00:00:00", False),
        ("31/01/2000 00:00:00", "0 0 15,30,31 * *", "15/02/2000 00:00:00", False),
        ("01/12/2003 05:00:00", "10 * * 6 *", "01/06/2004 00:10:00", False),
        ("01/07/2002 05:00:00", "10 * * February,April-Jun *", "01/02/2003 00:10:00", False),
        (
            "11/03/1988 14:23:00",
            "20 * * january,FeB,Mar,april,May,JuNE,July,Augu,SEPT-October,Nov,DECEM *",
            "11/03/1988 15:20:00",
            False,
        ),
        ("26/06/2003 10:00:00", "30 6 * * sunday", "29/06/2003 06:30:00", False),
        ("01/01/2003 12:00:00", "45 16 1 * Mon", "01/09/2003 16:45:00", False),
        ("01/09/2003 23:45:00", "45 16 1 * Mon", "01/12/2003 16:45:00", False),
        ("29/02/2000 12:01:00", "1 12 29 2 *", "29/02/2004 12:01:00", False),
        ("29/02/2004 12:01:00", "1 12 28 2 *", "28/02/2005 12:01:00", False),
        ("01/01/2000 14:40:00", "40 14/1 * * *", "01/01/2000 15:40:00", False),
    ],
)
def test_ncrontab_evaluations(
    start: str, expression: str, expected: str, with_seconds: bool
) -> None:
    crontab = CrontabExpression.parse(expression, including_seconds=with_seconds)
    found = crontab.next_after(datetime.strptime(start, "%d/%m/%Y %H:%M:%S"))
    assert found == datetime.strptime(expected, "%d/%m/%Y %H:%M:%S")


# NCrontab.Tests `CrontabScheduleTests.Formatting`;
# WebJobs.Extensions `CronScheduleTests.ToString_ReturnsExpectedValue`.
@pytest.mark.parametrize(
    ("expression", "formatted"),
    [
        ("* 1-2,3 * * *", "* 1-3 * * *"),
        ("10-40/15 * * * *", "10,25,40 * * * *"),
        ("* * * Mar,Jan,Aug Fri,Mon-Tue", "* * * 1,3,8 1-2,5"),
        ("55 * * * Mar,Jan,Aug Fri,Mon-Tue", "55 * * * 1,3,8 1-2,5"),
        ("0 59 11 * * 1,2,3,4,5", "0 59 11 * * 1-5"),
    ],
)
def test_descriptions_use_ncrontabs_expanded_form(expression: str, formatted: str) -> None:
    assert cron(expression).description == f"Cron: '{formatted}'"


# WebJobs.Extensions `CronScheduleTests.IsInterval_ReturnsExpectedValue`.
@pytest.mark.parametrize(
    ("expression", "interval"),
    [
        ("* * * * * *", True),
        ("0 0-15 * * * *", True),
        ("0 0 1-3 * * 0", True),
        ("0 0 0 * * *", False),
        ("0 0 0 1 1 *", False),
        ("0 1-3 * * 0", True),
        (" 0 1 * * *", False),
        ("0 0 1 * *", False),
        ("0 0 */2 * * *", False),  # expanded to a list: a point in time
        ("0 0,1 2 * * *", True),  # expanded to "0-1": an interval
    ],
)
def test_interval_schedules_are_told_from_points_in_time(expression: str, interval: bool) -> None:
    assert cron(expression).is_interval is interval


@pytest.mark.parametrize(
    "expression",
    [
        "* * * *",  # four fields: read as six, too few
        "* * * * * * *",
        "",
        "60 * * * * *",
        "0 60 * * * *",
        "0 0 24 * * *",
        "0 0 0 0 * *",
        "0 0 0 32 * *",
        "0 0 0 * 13 *",
        "0 0 0 * * 7",  # day of week is 0-6; 7 is not Sunday
        "0 0 12-24 * * *",
        "*/x * * * * *",
        "*/ * * * * *",
        "1/2/3 * * * * *",
        "0 0 12 * * mon,bad,wed",
        "0 0 12,,13 * * *",
        "0 3-l2 * * * *",
        "invalid",
    ],
)
def test_expressions_neither_ncrontab_nor_timespan_reads_are_refused(expression: str) -> None:
    with pytest.raises(ScheduleError) as refused:
        parse_schedule(expression)
    assert str(refused.value) == (
        f"The schedule expression '{expression}' was not recognized as a valid cron expression "
        "or timespan string."
    )


def test_a_refusal_carries_ncrontabs_reason() -> None:
    with pytest.raises(ScheduleError) as refused:
        parse_schedule("0 61 * * * *")
    assert refused.value.reason == (
        "61 is higher than the maximum allowable value for the [Minute] field. "
        "Value must be between 0 and 59 (all inclusive)."
    )


def test_a_number_too_big_for_an_int32_fails_with_dotnets_message() -> None:
    with pytest.raises(ScheduleError, match="too large or too small for an Int32"):
        parse_schedule("*/99999999999 * * * * *")


def test_a_schedule_that_never_fires_answers_never() -> None:
    assert cron("0 0 0 31 2 *").next_after(utc(2024, 1, 1)) == NEVER
    assert cron("0 0 0 31 2 *").next_after(NEVER) == NEVER


def test_a_rare_schedule_is_found_years_ahead() -> None:
    # February 29th on a Monday: NCrontab's own test (`GetNextOccurence`), 28 years apart.
    assert cron("0 0 29 Feb Mon").occurrences(utc(2001, 1, 1), 2) == [
        utc(2016, 2, 29),
        utc(2044, 2, 29),
    ]


def test_occurrences_are_the_earliest_matching_second() -> None:
    """Every occurrence is the first second after the last that matches every field."""
    for expression in ("*/7 3-5 * * * *", "0 */20 1,13 * * *", "15 0 0 * * 0"):
        schedule = cron(expression)
        crontab = schedule.crontab
        moment = utc(2024, 6, 1, 0, 59, 30)
        for occurrence in schedule.occurrences(moment, 20):
            assert occurrence == _first_match_after(crontab, moment)
            moment = occurrence


def _first_match_after(crontab: CrontabExpression, moment: datetime) -> datetime:
    """A scan that skips a day, hour or minute only when that unit cannot match."""
    probe = moment.replace(microsecond=0) + timedelta(seconds=1)
    while True:
        if (
            probe.day not in crontab.days
            or probe.month not in crontab.months
            or (probe.weekday() + 1) % 7 not in crontab.days_of_week
        ):
            probe = probe.replace(hour=0, minute=0, second=0) + timedelta(days=1)
        elif probe.hour not in crontab.hours:
            probe = probe.replace(minute=0, second=0) + timedelta(hours=1)
        elif probe.minute not in crontab.minutes:
            probe = probe.replace(second=0) + timedelta(minutes=1)
        elif probe.second not in (crontab.seconds or (0,)):
            probe += timedelta(seconds=1)
        else:
            return probe


# --- TimeSpans (`TimeSpan.TryParse`, `ConstantSchedule`) -----------------------------------


def test_a_timespan_is_a_constant_interval_from_the_moment() -> None:
    schedule = parse_schedule("00:05:00")
    assert isinstance(schedule, ConstantSchedule)
    assert schedule.description == "Constant: 00:05:00"
    # `now + interval`, fractions kept: nothing aligns a constant schedule to the clock.
    assert schedule.occurrences(utc(2024, 1, 1, 1, 59, 59, 500_000), 2) == [
        utc(2024, 1, 1, 2, 4, 59, 500_000),
        utc(2024, 1, 1, 2, 9, 59, 500_000),
    ]


@pytest.mark.parametrize(
    ("expression", "interval", "description"),
    [
        ("00:00:45", timedelta(seconds=45), "00:00:45"),
        ("12:00:00", timedelta(hours=12), "12:00:00"),
        ("1.00:00", timedelta(hours=24), "1.00:00:00"),  # TimerScheduleTests
        ("1.00:00:00", timedelta(days=1), "1.00:00:00"),
        ("24:00:00", timedelta(days=24), "24.00:00:00"),  # hours past 23: read as d:hh:mm
        ("6:12:14:45", timedelta(days=6, hours=12, minutes=14, seconds=45), "6.12:14:45"),
        ("01:30", timedelta(minutes=90), "01:30:00"),
        ("5", timedelta(days=5), "5.00:00:00"),
        (" 00:00:01.5 ", timedelta(seconds=1.5), "00:00:01.5000000"),
    ],
)
def test_timespans_read_as_dotnet_reads_them(
    expression: str, interval: timedelta, description: str
) -> None:
    schedule = parse_schedule(expression)
    assert isinstance(schedule, ConstantSchedule)
    assert schedule.interval == interval
    assert schedule.description == f"Constant: {description}"


@pytest.mark.parametrize(
    "expression", ["24:30:00", "00:60:00", "1.24:00:00", "1:00:", "1,5", "00:00:00.12345678"]
)
def test_timespans_out_of_range_are_refused(expression: str) -> None:
    with pytest.raises(ScheduleError, match="not recognized"):
        parse_schedule(expression)


@pytest.mark.parametrize("expression", ["00:00:00", "-00:05:00"])
def test_a_timespan_that_does_not_move_forward_is_refused(expression: str) -> None:
    # The host accepts these and then fires continuously; refused here (see the module).
    with pytest.raises(ScheduleError, match="positive interval"):
        parse_schedule(expression)


def test_constant_schedules_ignore_daylight_saving_time() -> None:
    # `ConstantSchedule.AdjustForDST` is false: across spring forward it is still 60 minutes.
    schedule = parse_schedule("01:00:00", time_zone="America/New_York")
    start = local(NEW_YORK, 2024, 3, 10, 1, 30)
    assert schedule.next_after(start) == start + timedelta(hours=1)


# --- Time zones and Daylight Saving Time (`CronSchedule.GetNextOccurrence`) ----------------


def test_occurrences_follow_the_zone_and_are_returned_in_utc() -> None:
    schedule = cron("0 0 10 * * *", "America/New_York")
    assert schedule.next_after(utc(2024, 1, 15, 12)) == utc(2024, 1, 15, 15)  # EST, UTC-5
    assert schedule.next_after(utc(2024, 7, 15, 12)) == utc(2024, 7, 15, 14)  # EDT, UTC-4
    assert schedule.next_after(utc(2024, 7, 15, 12)).tzinfo is timezone.utc


@pytest.mark.parametrize(
    "name", ["Eastern Standard Time", "eastern standard time", "America/New_York"]
)
def test_windows_and_iana_zone_names_are_accepted(name: str) -> None:
    schedule = cron("0 0 10 * * *", name)
    assert schedule.zone == NEW_YORK


@pytest.mark.parametrize("name", ["Mars Standard Time", "America", "../etc/passwd"])
def test_an_unknown_zone_is_refused_by_name(name: str) -> None:
    with pytest.raises(ScheduleError, match=f"'{name}'"):
        parse_schedule("0 0 10 * * *", time_zone=name)


def test_no_zone_is_utc() -> None:
    assert cron("0 0 10 * * *").zone is timezone.utc
    assert cron("0 0 10 * * *", "").zone is timezone.utc


def test_a_time_spring_forward_skips_runs_an_hour_later_on_that_day() -> None:
    # New York, 2024-03-10: 02:00 EST jumps to 03:00 EDT. NCrontab answers the local time
    # 02:30, which does not exist; .NET gives such a time the standard offset (UTC-5), so it
    # is 07:30 UTC, which the clock shows as 03:30 EDT. The day after, 02:30 EDT again.
    schedule = cron("0 30 2 * * *", "America/New_York")
    assert schedule.occurrences(local(NEW_YORK, 2024, 3, 9, 0, 0), 3) == [
        local(NEW_YORK, 2024, 3, 9, 2, 30),
        utc(2024, 3, 10, 7, 30),
        local(NEW_YORK, 2024, 3, 11, 2, 30),
    ]
    # Started after 03:00 EDT that day, the wall clock is past 02:30: that day's run is gone.
    assert schedule.next_after(local(NEW_YORK, 2024, 3, 10, 3, 10)) == local(
        NEW_YORK, 2024, 3, 11, 2, 30
    )


def test_a_time_after_the_repeated_hour_runs_once_on_fall_back_day() -> None:
    # New York, 2024-11-03: 02:00 EDT falls back to 01:00 EST, so 01:00-01:59 happens twice;
    # 02:30 happens once, in EST (07:30 UTC), 25 hours after the day before's.
    schedule = cron("0 30 2 * * *", "America/New_York")
    assert schedule.occurrences(local(NEW_YORK, 2024, 11, 2, 0, 0), 3) == [
        utc(2024, 11, 2, 6, 30),
        utc(2024, 11, 3, 7, 30),
        utc(2024, 11, 4, 7, 30),
    ]


def test_a_time_in_the_repeated_hour_runs_once_on_the_first_pass() -> None:
    # `TryAdjustAmbiguousTime` scenario 1: from daylight time, 01:30 is moved to the first
    # (EDT) pass; scenario 2: already in the second (EST) pass, the day's run is over.
    schedule = cron("0 30 1 * * *", "America/New_York")
    assert schedule.occurrences(local(NEW_YORK, 2024, 11, 2, 12, 0), 3) == [
        utc(2024, 11, 3, 5, 30),  # 01:30 EDT
        utc(2024, 11, 4, 6, 30),  # 01:30 EST
        utc(2024, 11, 5, 6, 30),
    ]
    second_pass = local(NEW_YORK, 2024, 11, 3, 1, 10, fold=1)
    assert schedule.next_after(second_pass) == utc(2024, 11, 4, 6, 30)


def test_an_interval_runs_through_both_passes_of_the_repeated_hour() -> None:
    # Scenario 3: "every hour at :30" runs at 01:30 EDT and again at 01:30 EST.
    schedule = cron("0 30 * * * *", "America/New_York")
    assert schedule.occurrences(local(NEW_YORK, 2024, 11, 3, 0, 0), 4) == [
        utc(2024, 11, 3, 4, 30),  # 00:30 EDT
        utc(2024, 11, 3, 5, 30),  # 01:30 EDT
        utc(2024, 11, 3, 6, 30),  # 01:30 EST
        utc(2024, 11, 3, 7, 30),  # 02:30 EST
    ]


# WebJobs.Extensions `CronScheduleTests`, Pacific time in 2018: (expression, start, expected
# wall time and offset in hours). Spring forward 2018-03-11, fall back 2018-11-04.
@pytest.mark.parametrize(
    ("expression", "start", "expected"),
    [
        ("0 30 * * * *", (2018, 3, 11, 0, 0), [(0, 30, -8), (1, 30, -8), (3, 30, -7), (4, 30, -7)]),
        ("0 30 * * * *", (2018, 11, 4, 0, 0), [(0, 30, -7), (1, 30, -7), (1, 30, -8), (2, 30, -8)]),
        (
            "0 */20 * * * *",
            (2018, 11, 4, 0, 30),
            [
                (0, 40, -7),
                (1, 0, -7),
                (1, 20, -7),
                (1, 40, -7),
                (1, 0, -8),
                (1, 20, -8),
                (1, 40, -8),
                (2, 0, -8),
                (2, 20, -8),
            ],
        ),
    ],
)
def test_the_extensions_own_dst_cases(
    expression: str, start: tuple[int, int, int, int, int], expected: list[tuple[int, int, int]]
) -> None:
    schedule = cron(expression, "Pacific Standard Time")
    day = datetime(start[0], start[1], start[2])
    found = schedule.occurrences(local(LOS_ANGELES, *start), len(expected))
    assert found == [
        (day.replace(hour=hour, minute=minute) - timedelta(hours=offset)).replace(
            tzinfo=timezone.utc
        )
        for hour, minute, offset in expected
    ]


def test_point_in_time_cases_of_the_extension_across_both_changes() -> None:
    # `PointInTime_IntoDST_ReturnsExpectedValue` and `PointInTime_OutOfDST_ReturnsExpectedValue`.
    schedule = cron("0 30 1 * * *", "Pacific Standard Time")
    assert schedule.occurrences(local(LOS_ANGELES, 2018, 3, 10, 0, 0), 3) == [
        utc(2018, 3, 10, 9, 30),
        utc(2018, 3, 11, 9, 30),
        utc(2018, 3, 12, 8, 30),
    ]
    assert schedule.occurrences(local(LOS_ANGELES, 2018, 11, 3, 0, 0), 3) == [
        utc(2018, 11, 3, 8, 30),
        utc(2018, 11, 4, 8, 30),
        utc(2018, 11, 5, 9, 30),
    ]


def test_next_is_strictly_after_the_moment_around_both_changes() -> None:
    expressions = (
        "0 30 2 * * *",
        "0 30 1 * * *",
        "0 */20 * * * *",
        "0 0,30 1-2 * * *",
        "*/45 * * * * *",
    )
    for expression in expressions:
        schedule = cron(expression, "America/New_York")
        for start in (utc(2024, 3, 10, 5), utc(2024, 11, 3, 4)):
            moment = start
            while moment < start + timedelta(hours=5):
                following = schedule.next_after(moment)
                assert following > moment, (expression, moment)
                moment += timedelta(minutes=7, seconds=30)


# --- The Schedule interface and %setting% references ---------------------------------------


def test_both_schedules_are_schedules_and_need_aware_moments() -> None:
    for schedule in (parse_schedule("0 0 2 * * *"), parse_schedule("00:05:00")):
        assert isinstance(schedule, Schedule)
        assert schedule.occurrences(utc(2024, 1, 1), 0) == []
        with pytest.raises(ValueError):
            schedule.next_after(datetime(2024, 1, 1))
        with pytest.raises(ValueError):
            schedule.occurrences(utc(2024, 1, 1), -1)


