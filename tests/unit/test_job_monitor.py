"""`monitor_job` replayed through the SDK: alert on the end, sleep and continue, or expire."""

import json
from datetime import timedelta

from history_builder import (
    CONTINUE_AS_NEW,
    CREATE_TIMER,
    T0,
    HistoryBuilder,
    calls,
    of_type,
    replay,
)

from devhost.protocol import parse_timestamp
from orchestrators import monitor_job

URL = "http://127.0.0.1:9/jobs/42"


def polled(job_state: dict, **monitor: object) -> HistoryBuilder:
    history = HistoryBuilder("monitor_job", {"status_url": URL, **monitor})
    history.run_activity("check_job_status", job_state)
    return history


def test_first_poll_checks_the_status_url() -> None:
    state = replay(monitor_job, HistoryBuilder("monitor_job", {"status_url": URL}).context_json())

    assert calls(state) == [("check_job_status", URL)]


def test_completed_job_is_alerted_and_ends_the_monitor() -> None:
    job = {"status": "completed", "result": "ok"}
    history = polled({"state": "completed", "job": job, "http_status": 200}, polls=2)
    name, alert = calls(replay(monitor_job, history.context_json()))[-1]
    assert name == "send_alert"
    assert alert["subject"] == f"Job completed: {URL}"

    history.run_activity("send_alert", {"to": "on-call"})
    state = replay(monitor_job, history.context_json())

    assert state.is_done
    assert state.output == {
        "status": "job_completed",
        "polls": 3,
        "job": job,
        "alerted": True,
        "status_url": URL,
    }


def test_failed_job_is_alerted_as_failed() -> None:
    history = polled({"state": "failed", "job": {"status": "failed"}, "http_status": 200})
    history.run_activity("send_alert", {"to": "on-call"})

    state = replay(monitor_job, history.context_json())

    assert state.output["status"] == "job_failed"
    assert state.output["polls"] == 1


def test_running_job_sleeps_then_continues_as_new_with_a_fixed_expiry() -> None:
    history = polled(
        {"state": "running", "job": {"status": "running"}, "http_status": 200}, interval_seconds=60
    )
    state = replay(monitor_job, history.context_json())
    (timer,) = of_type(state, CREATE_TIMER)
    assert parse_timestamp(timer["fireAt"]) == history.now + timedelta(seconds=60)
    assert of_type(state, CONTINUE_AS_NEW) == []

    timer_id = history.schedule_timer(parse_timestamp(timer["fireAt"]))
    history.next_episode(at=parse_timestamp(timer["fireAt"]))
    history.fire_timer(timer_id)
    state = replay(monitor_job, history.context_json())

    (continued,) = of_type(state, CONTINUE_AS_NEW)
    assert json.loads(continued["input"]) == {
        "status_url": URL,
        "interval_seconds": 60,
        "expires_at": "2024-05-01T11:00:00Z",  # T0 + the default 3600 s timeout
        "timeout_seconds": 3600,
        "polls": 1,
    }
    assert state.is_done


def test_unreachable_endpoint_is_polled_again_later() -> None:
    history = polled({"state": "unreachable", "error": "ClientConnectorError"})

    state = replay(monitor_job, history.context_json())

    assert len(of_type(state, CREATE_TIMER)) == 1
    assert not state.is_done


def test_wait_never_goes_past_the_expiry() -> None:
    expires_at = T0 + timedelta(seconds=10)
    history = polled(
        {"state": "running", "job": {"status": "running"}, "http_status": 200},
        interval_seconds=300,
        expires_at="2024-05-01T10:00:10Z",
    )

    (timer,) = of_type(replay(monitor_job, history.context_json()), CREATE_TIMER)

    assert parse_timestamp(timer["fireAt"]) == expires_at


def test_monitor_past_its_expiry_ends_without_polling() -> None:
    history = HistoryBuilder(
        "monitor_job",
        {"status_url": URL, "expires_at": "2024-05-01T10:00:00Z", "polls": 7},
        started_at=T0 + timedelta(seconds=1),
    )

    state = replay(monitor_job, history.context_json())

    assert state.output == {"status": "expired", "polls": 7, "status_url": URL}
    assert calls(state) == []


def test_status_url_must_be_http() -> None:
    state = replay(
        monitor_job, HistoryBuilder("monitor_job", {"status_url": "ftp://x/y"}).context_json()
    )

    assert state.error == "status_url: must be an http:// or https:// URL"
