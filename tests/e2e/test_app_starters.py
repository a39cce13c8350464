"""The app's nightly summary on real Azurite and both durable stores: the schedule in
the app settings starts one `summarize_blobs` a night, at 02:00 as the virtual clock
passes it (the order intake from a queue: tests/azurite/test_order_intake.py)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from devhost.testing import DurableHost


async def test_the_nightly_summary_starts_once_per_scheduled_night(app_host: DurableHost) -> None:
    now = app_host.now
    first = datetime(now.year, now.month, now.day, 2, tzinfo=timezone.utc)
    if first <= now:
        first += timedelta(days=1)
    await app_host.advance(first - now + timedelta(days=1, minutes=1))  # two nights

    for night in (first, first + timedelta(days=1)):
        instance_id = f"nightly-summary-docs-{night:%Y-%m-%d}"
        status = await app_host.wait(instance_id)
        assert status.runtime_status == "Completed"
        history = (await app_host.status(instance_id, history=True)).history or []
        started = next(e for e in history if e["EventType"] == "ExecutionStarted")
        assert started["Timestamp"].startswith(f"{night:%Y-%m-%dT02:00:00}")
