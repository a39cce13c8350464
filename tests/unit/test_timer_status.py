"""What the timer keeps and decides without storage: the status JSON as the host writes and
reads it, when the monitor is off by schedule frequency, and host.json `singleton`."""

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from devhost.errors import StartupError
from devhost.triggers.locks import SingletonSettings
from devhost.triggers.schedules import parse_schedule
from devhost.triggers.timer import too_frequent_to_monitor
from devhost.triggers.timer_status import (
    UNSET,
    ScheduleStatus,
    format_occurrences,
    json_time,
    round_trip_time,
)

NOW = datetime(2026, 3, 2, 10, 0, 30, 250000, tzinfo=timezone.utc)


class TestStatusJson:
    def test_a_status_the_host_wrote_reads_back_with_seven_digit_fractions_and_unset_times(self) -> None:
        text = '{"Last":"0001-01-01T00:00:00+00:00","Next":"2026-03-02T10:05:00.0012377+00:00","LastUpdated":"2026-03-02T10:00:00.0012377+00:00"}'
        status = ScheduleStatus.from_json(text)
        assert status.last == UNSET
        assert status.next == datetime(2026, 3, 2, 10, 5, 0, 1237, tzinfo=timezone.utc)
        assert status.last_updated == datetime(2026, 3, 2, 10, 0, 0, 1237, tzinfo=timezone.utc)

    def test_names_ignore_case_and_a_missing_time_is_unset(self) -> None:
        status = ScheduleStatus.from_json('{"next":"2026-03-02T05:00:00-05:00"}')
        assert status == ScheduleStatus(UNSET, datetime(2026, 3, 2, 10, tzinfo=timezone.utc), UNSET)

    @pytest.mark.parametrize("text", ["[]", "{", '{"Next":"soon"}'])
    def test_what_is_not_a_status_is_refused(self, text: str) -> None:
        with pytest.raises(ValueError):
            ScheduleStatus.from_json(text)

    def test_times_are_written_local_to_the_zone_with_newtonsofts_fraction(self) -> None:
        eastern = ZoneInfo("America/New_York")
        assert json_time(NOW, timezone.utc) == "2026-03-02T10:00:30.25+00:00"
        assert json_time(NOW.replace(microsecond=0), eastern) == "2026-03-02T05:00:30-05:00"
        assert json_time(UNSET, timezone.utc) == "0001-01-01T00:00:00+00:00"
        assert json_time(UNSET, ZoneInfo("Asia/Tokyo")) == "0001-01-01T09:00:00+09:00"
        assert round_trip_time(NOW, timezone.utc) == "2026-03-02T10:00:30.2500000+00:00"

    def test_the_next_occurrences_line_shows_utc_beside_local_times(self) -> None:
        moments = [datetime(2026, 3, 3, 7, 30, tzinfo=timezone.utc)]
        assert format_occurrences(moments, timezone.utc) == "03/03/2026 07:30:00Z"
        assert format_occurrences(moments, ZoneInfo("America/New_York")) == "03/03/2026 02:30:00-05:00 (03/03/2026 07:30:00Z)"


class TestMonitorByFrequency:
    """`TimerSchedule.Create`: schedules more frequent than a minute keep no status."""

    @pytest.mark.parametrize(
        ("expression", "frequent"),
        [
            ("*/10 * * * * *", True),
            ("0,30 * * * * *", True),
            ("0 * * * * *", False),
            ("* * * * *", False),  # five fields: once a minute at most
            ("*/10 * 3 * * *", False),  # restricted beyond the seconds: never off
            ("00:00:30", True),
            ("00:01:00", False),
        ],
    )
    def test_frequency(self, expression: str, frequent: bool) -> None:
        assert too_frequent_to_monitor(parse_schedule(expression), NOW) is frequent


class TestSingletonSettings:
    def test_defaults_are_the_hosts(self) -> None:
        assert SingletonSettings.from_host_json({}) == SingletonSettings(60, 60.0)

    def test_periods_are_timespans_and_keys_ignore_case(self) -> None:
        settings = SingletonSettings.from_host_json(
            {"ListenerLockPeriod": "00:00:20", "listenerLockRecoveryPollingInterval": "00:02:00"}
        )
        assert settings == SingletonSettings(20, 120.0)

    @pytest.mark.parametrize(
        ("section", "message"),
        [
            ({"listenerLockPeriod": "00:00:10"}, "must be between 00:00:15 and 00:01:00"),
            ({"listenerLockPeriod": "00:02:00"}, "must be between 00:00:15 and 00:01:00"),
            ({"listenerLockRecoveryPollingInterval": "00:00:05"}, "must be at least 00:00:15"),
            ({"listenerLockPeriod": "soon"}, "to type 'System.TimeSpan'"),
        ],
    )
    def test_what_the_host_refuses_stops_the_start(self, section: dict[str, str], message: str) -> None:
        with pytest.raises(StartupError, match=message):
            SingletonSettings.from_host_json(section)
