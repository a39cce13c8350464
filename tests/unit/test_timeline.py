"""The dashboard's timeline on real histories: orchestrations of the protocol app run on
the memory store under a virtual clock, their histories read through
`Management.history` as the dashboard reads them, then drawn as SVG."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import datetime, timedelta
from typing import AsyncIterator, Optional, Sequence
from xml.etree import ElementTree

import pytest_asyncio

from devhost.dashboard.timeline import Bar, BarKind, Outcome, Timeline, build_timeline
from devhost.dashboard.timeline_svg import MAX_BARS, render_svg
from devhost.testing import DurableHost
from tests.support.apps import PROTOCOL_APP

_SVG = "{http://www.w3.org/2000/svg}"


@pytest_asyncio.fixture
async def host() -> AsyncIterator[DurableHost]:
    async with DurableHost(PROTOCOL_APP) as durable_host:
        yield durable_host


async def _timeline(host: DurableHost, instance_id: str, *, now: Optional[datetime] = None) -> Timeline:
    return build_timeline(await host.management.history(instance_id), now=now or host.now)


async def _finished(host: DurableHost, name: str, input: object = None) -> Timeline:
    instance_id = await host.start(name, input)
    await host.wait(instance_id)
    return await _timeline(host, instance_id)


def _of(timeline: Timeline, kind: BarKind) -> list[Bar]:
    return [bar for bar in timeline.bars if bar.kind == kind]


def _drawing(bars: Sequence[Bar], timeline: Timeline, *, limit: int = MAX_BARS) -> ElementTree.Element:
    """The SVG parsed as XML: what a browser served `image/svg+xml` would have to read."""
    svg = render_svg(bars, start=timeline.start, end=timeline.end, markers=timeline.markers, limit=limit)
    return ElementTree.fromstring(svg)


def _drawn_bars(drawing: ElementTree.Element) -> list[ElementTree.Element]:
    return [group for group in drawing.iter(f"{_SVG}g") if "data-kind" in group.attrib]


# --- bars from histories ----------------------------------------------------------------


async def test_a_chain_is_one_bar_per_activity_in_sequence_on_one_lane(host: DurableHost) -> None:
    timeline = await _finished(host, "sequence", 1)
    assert [(bar.kind, bar.label, bar.outcome) for bar in timeline.bars] == [
        (BarKind.ACTIVITY, "add_one", Outcome.COMPLETED)
    ] * 3
    # Under the virtual clock all three take no time at the same instant: only the
    # history's order tells that each began after the one before ended.
    assert {bar.lane for bar in timeline.bars} == {0}
    assert all(before.end <= after.start for before, after in zip(timeline.bars, timeline.bars[1:]))
    assert [bar.attempt for bar in timeline.bars] == [None] * 3  # called again, not retried
    assert [marker.label for marker in timeline.markers] == ["Completed"]


async def test_a_fan_out_sits_side_by_side_in_a_lane_per_call(host: DurableHost) -> None:
    timeline = await _finished(host, "fan_out", 4)
    bars = _of(timeline, BarKind.ACTIVITY)
    assert sorted(bar.lane for bar in bars) == [0, 1, 2, 3]
    assert max(bar.start for bar in bars) <= min(bar.end for bar in bars)


async def test_a_retry_repeats_the_bar_with_attempt_numbers_and_a_delay_between(host: DurableHost) -> None:
    instance_id = await host.start("with_retry", {"key": uuid.uuid4().hex, "failures": 2})
    await host.settle()
    await host.advance(timedelta(seconds=1))
    await host.advance(timedelta(seconds=1))
    await host.wait(instance_id)
    timeline = await _timeline(host, instance_id)
    assert [(bar.label, bar.attempt, bar.outcome) for bar in timeline.bars] == [
        ("flaky", 1, Outcome.FAILED),
        ("retry delay", None, Outcome.COMPLETED),
        ("flaky", 2, Outcome.FAILED),
        ("retry delay", None, Outcome.COMPLETED),
        ("flaky", 3, Outcome.COMPLETED),
    ]
    for failed, delay, retried in (timeline.bars[0:3], timeline.bars[2:5]):
        assert delay.kind == BarKind.TIMER and delay.duration == timedelta(seconds=1)
        assert failed.end <= delay.start and delay.end <= retried.start
    assert "attempt 1 failed" in (timeline.bars[0].detail or "")


async def test_a_timer_spans_from_created_to_fired(host: DurableHost) -> None:
    instance_id = await host.start("sleeper", 2)
    await host.settle()
    created = host.now
    await host.advance(timedelta(hours=2))
    await host.wait(instance_id)
    (timer,) = (await _timeline(host, instance_id)).bars
    assert (timer.kind, timer.outcome) == (BarKind.TIMER, Outcome.COMPLETED)
    assert (timer.start, timer.end) == (created, created + timedelta(hours=2))


async def test_a_running_instance_s_open_bar_ends_at_the_given_now(host: DurableHost) -> None:
    instance_id = await host.start("sleeper", 2)
    await host.settle()
    now = host.now + timedelta(minutes=30)
    timeline = await _timeline(host, instance_id, now=now)
    (timer,) = timeline.bars
    assert (timer.outcome, timer.end, timeline.end) == (Outcome.RUNNING, now, now)
    assert timeline.markers == ()


async def test_sub_orchestrations_are_bars_retried_like_activities(host: DurableHost) -> None:
    instance_id = await host.start("parent")
    await host.settle()
    await host.advance(timedelta(seconds=1))
    await host.wait(instance_id)
    children = _of(await _timeline(host, instance_id), BarKind.SUB_ORCHESTRATION)
    assert [(bar.label, bar.outcome, bar.attempt) for bar in children] == [
        ("sequence", Outcome.COMPLETED, None),
        ("sequence", Outcome.COMPLETED, None),
        ("fails", Outcome.FAILED, 1),
        ("fails", Outcome.FAILED, 2),
    ]
    assert children[0].detail == f"instance child-of-{instance_id}"
    # A child without an id of its own is `<parent execution id>:<event id>` (D).
    child, reason = (children[3].detail or "").split("\n")
    assert child.startswith("instance ") and child.endswith(":4")
    assert reason == "Orchestrator function 'fails' failed: orchestrator gave up"


async def test_a_failed_activity_is_marked_failed_with_its_reason(host: DurableHost) -> None:
    timeline = await _finished(host, "fails_in_activity")
    (bar,) = timeline.bars
    assert (bar.label, bar.outcome) == ("boom", Outcome.FAILED)
    assert "ValueError: activity exploded" in (bar.detail or "")
    (end,) = timeline.markers
    assert end.label == "Failed" and "activity exploded" in (end.detail or "")


async def test_an_entity_call_pairs_the_request_with_its_answer(host: DurableHost) -> None:
    timeline = await _finished(host, "uses_entity", "t1")
    # The orchestrator signals `add` first: a signal expects no answer and is no bar.
    assert [(bar.kind, bar.label, bar.outcome) for bar in timeline.bars] == [
        (BarKind.ENTITY_CALL, "tally@t1: add", Outcome.COMPLETED),
        (BarKind.ENTITY_CALL, "tally@t1: fail", Outcome.FAILED),
    ]
    assert timeline.bars[1].detail == "entity @tally@t1\ntally refuses"


async def test_a_wait_starts_when_the_orchestrator_began_waiting(host: DurableHost) -> None:
    instance_id = await host.start("waits_for_events")
    await host.settle()
    waiting_since = host.now
    await host.advance(timedelta(minutes=5))
    await host.raise_event(instance_id, "Go", 1)
    await host.settle()
    timeline = await _timeline(host, instance_id)
    first, second = timeline.bars
    assert (first.kind, first.label, first.outcome) == (BarKind.EVENT_WAIT, "Go", Outcome.COMPLETED)
    assert (first.start, first.end) == (waiting_since, waiting_since + timedelta(minutes=5))
    # The second wait has no event in history yet: nothing else is open, so it waits.
    assert (second.kind, second.outcome) == (BarKind.EVENT_WAIT, Outcome.RUNNING)
    assert (second.start, second.end) == (first.end, host.now)


async def test_work_the_execution_ended_without_is_unfinished(host: DurableHost) -> None:
    instance_id = await host.start("race")
    await host.settle()
    await host.advance(timedelta(minutes=10))
    await host.raise_event(instance_id, "Answer", 42)
    await host.wait(instance_id)
    timeline = await _timeline(host, instance_id, now=host.now + timedelta(days=1))
    (timer,) = _of(timeline, BarKind.TIMER)
    (answer,) = _of(timeline, BarKind.EVENT_WAIT)
    assert (timer.outcome, timer.end) == (Outcome.UNFINISHED, timeline.markers[0].at)
    assert (answer.label, answer.outcome) == ("Answer", Outcome.COMPLETED)
    assert timer.lane != answer.lane  # the timer and the wait ran at once (task_any)


async def test_a_terminated_wait_is_unfinished_and_the_reason_is_on_the_marker(host: DurableHost) -> None:
    instance_id = await host.start("waits_for_events")
    await host.settle()
    await host.management.terminate(instance_id, "no longer needed")
    await host.wait(instance_id)
    timeline = await _timeline(host, instance_id)
    assert [(bar.kind, bar.outcome) for bar in timeline.bars] == [(BarKind.EVENT_WAIT, Outcome.UNFINISHED)]
    (end,) = timeline.markers
    assert (end.label, end.detail) == ("Terminated", "no longer needed")


async def test_a_wait_goes_on_through_a_suspension_shown_by_markers(host: DurableHost) -> None:
    instance_id = await host.start("waits_for_events")
    await host.settle()
    waiting_since = host.now
    await host.advance(timedelta(minutes=10))
    await host.management.suspend(instance_id, "hold on")
    await host.settle()
    await host.advance(timedelta(minutes=10))
    await host.management.resume(instance_id, "go on")
    await host.settle()
    timeline = await _timeline(host, instance_id)
    assert [(marker.label, marker.detail, marker.at - waiting_since) for marker in timeline.markers] == [
        ("Suspended", "hold on", timedelta(minutes=10)),
        ("Resumed", "go on", timedelta(minutes=20)),
    ]
    (wait,) = timeline.bars  # the orchestrator did not run in those episodes
    assert (wait.kind, wait.outcome, wait.start) == (BarKind.EVENT_WAIT, Outcome.RUNNING, waiting_since)


async def test_a_rewind_is_a_marker_and_the_failed_attempt_is_gone(host: DurableHost) -> None:
    instance_id = await host.start("fragile", {"key": uuid.uuid4().hex, "failures": 1})
    await host.wait(instance_id)
    await host.management.rewind(instance_id, "fixed")
    await host.settle()  # `wait` alone could return at once: the instance is still Failed
    timeline = await _timeline(host, instance_id)
    # A rewind takes the failed attempt out of the history; the one after it succeeded.
    assert [(bar.label, bar.outcome) for bar in timeline.bars] == [("flaky", Outcome.COMPLETED)]
    assert [(marker.label, marker.detail) for marker in timeline.markers] == [
        ("Rewound", "Rewound: fixed"),
        ("Completed", None),
    ]


# --- the drawing ----------------------------------------------------------------------------


async def test_the_svg_carries_kind_outcome_lane_and_attempt_on_each_bar(host: DurableHost) -> None:
    instance_id = await host.start("parent")
    await host.settle()
    await host.advance(timedelta(seconds=1))
    await host.wait(instance_id)
    timeline = await _timeline(host, instance_id)
    drawing = _drawing(timeline.bars, timeline)
    drawn = _drawn_bars(drawing)
    assert [group.get("data-kind") for group in drawn].count("sub-orchestration") == 4
    assert [group.get("data-kind") for group in drawn].count("timer") == 2
    assert [group.get("data-outcome") for group in drawn].count("failed") == 2
    attempts = [group.attrib["data-attempt"] for group in drawn if "data-attempt" in group.attrib]
    assert sorted(attempts) == ["1", "2"]
    assert {group.get("data-lane") for group in drawn} == {str(bar.lane) for bar in timeline.bars}
    assert all(group.find(f"{_SVG}title") is not None for group in drawn)
    assert drawing.get("role") == "img"
    assert drawing.get("aria-label") == (
        "Timeline of 6 bars: 2 timer, 4 sub-orchestration; 4 completed, 2 failed"
    )


async def test_the_svg_escapes_what_the_instance_holds(host: DurableHost) -> None:
    name = "<script>alert(1)</script> & co"
    instance_id = await host.start("waits_for_events")
    await host.settle()
    await host.raise_event(instance_id, name, None)  # nobody waits for it: still a bar
    await host.settle()
    await host.management.terminate(instance_id, "</title><b>stop</b> & \x00go")
    await host.wait(instance_id)
    timeline = await _timeline(host, instance_id)
    svg = render_svg(timeline.bars, start=timeline.start, end=timeline.end, markers=timeline.markers)
    assert "<script>" not in svg and "<b>" not in svg
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in svg
    drawing = ElementTree.fromstring(svg)  # well-formed XML, the NUL replaced
    titles = [group.findtext(f"{_SVG}title") or "" for group in drawing.iter(f"{_SVG}g")]
    assert any(title.startswith(name + "\n") for title in titles)
    assert any("</title><b>stop</b> & \ufffdgo" in title for title in titles)


async def test_the_svg_draws_at_most_its_limit_and_says_how_many_it_left_out(host: DurableHost) -> None:
    timeline = await _finished(host, "fan_out", 12)
    drawing = _drawing(timeline.bars, timeline, limit=5)
    assert len(_drawn_bars(drawing)) == 5
    note = drawing.find(f"{_SVG}text[@class='note']")
    assert note is not None and note.get("data-omitted") == "7"
    huge = timeline.bars * 100  # 1,200 bars: what a long-running eternal fan-out leaves
    assert len(_drawn_bars(_drawing(huge, timeline))) == MAX_BARS == 500
    assert "500 of 1200 drawn" in (_drawing(huge, timeline).get("aria-label") or "")
    long_name = dataclasses.replace(timeline.bars[0], label="x" * 100_000, detail="y" * 100_000)
    assert len(render_svg([long_name], start=timeline.start, end=timeline.end)) < 5_000


async def test_the_svg_colours_read_against_white(host: DurableHost) -> None:
    waiting = await host.start("waits_for_events")
    parent = await host.start("parent")  # sub-orchestrations and timers
    await host.settle()
    await host.advance(timedelta(seconds=1))
    await host.wait(parent)
    bars = [
        *(await _finished(host, "fails_in_activity")).bars,
        *(await _finished(host, "uses_entity", "t2")).bars,
        *(await _timeline(host, waiting)).bars,
        *(await _timeline(host, parent)).bars,
    ]
    colours: dict[str, set[str]] = {}
    for group in _drawn_bars(_drawing(bars, await _timeline(host, parent))):
        rect = group.find(f"{_SVG}rect")
        assert rect is not None
        colours.setdefault(group.get("data-kind") or "", set()).add(rect.get("fill") or "")
        if group.get("data-outcome") == "failed":
            colours.setdefault("failed", set()).add(rect.get("stroke") or "")
    assert set(colours) == {kind.value for kind in BarKind} | {"failed"}
    for colour in set().union(*colours.values()):
        assert _contrast_with_white(colour) >= 4.5, colour


async def test_the_axis_is_labelled_in_time_since_the_start(host: DurableHost) -> None:
    instance_id = await host.start("sleeper", 2)
    await host.settle()
    await host.advance(timedelta(hours=2))
    await host.wait(instance_id)
    timeline = await _timeline(host, instance_id)
    axis = next(g for g in _drawing(timeline.bars, timeline).iter(f"{_SVG}g") if g.get("class") == "axis")
    assert [text.text for text in axis.iter(f"{_SVG}text")] == ["0", "0.5 h", "1 h", "1.5 h", "2 h"]
    (bar,) = _drawn_bars(_drawing(timeline.bars, timeline))
    assert "timer, 2 h, completed" in (bar.findtext(f"{_SVG}title") or "")


def _contrast_with_white(colour: str) -> float:
    """WCAG 2.x contrast ratio of `#rrggbb` against white."""
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    luminance = 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    return 1.05 / (luminance + 0.05)


# --- the episode axis -------------------------------------------------------------------


def _bar_spans(drawing: ElementTree.Element) -> list[tuple[float, float]]:
    """Each drawn bar's (left, right), in the order drawn."""
    spans = []
    for group in _drawn_bars(drawing):
        rect = group.find(f"{_SVG}rect")
        assert rect is not None
        left = float(rect.get("x") or 0)
        spans.append((left, left + float(rect.get("width") or 0)))
    return spans


async def test_under_a_still_clock_a_chain_steps_along_the_episodes(host: DurableHost) -> None:
    timeline = await _finished(host, "sequence", 1)
    assert not timeline.by_time  # every bar took no virtual time
    assert [(bar.first_episode, bar.last_episode) for bar in timeline.bars] == [(1, 2), (2, 3), (3, 4)]
    assert timeline.episodes == 4 and timeline.markers[0].episode == 4

    svg = render_svg(timeline.bars, start=timeline.start, end=timeline.end, markers=timeline.markers, episodes=timeline.episodes)
    spans = sorted(_bar_spans(ElementTree.fromstring(svg)))
    assert all(before[1] <= after[0] + 0.01 and before[0] < after[0] for before, after in zip(spans, spans[1:]))
    axis = next(g for g in ElementTree.fromstring(svg).iter(f"{_SVG}g") if g.get("class") == "axis")
    assert [text.text for text in axis.iter(f"{_SVG}text")] == [f"episode {n}" for n in range(1, 5)]


async def test_on_the_episode_axis_a_fan_outs_bars_overlap(host: DurableHost) -> None:
    timeline = await _finished(host, "fan_out", 4)
    bars = _of(timeline, BarKind.ACTIVITY)
    assert {bar.first_episode for bar in bars} == {1}
    svg = render_svg(bars, start=timeline.start, end=timeline.end, episodes=timeline.episodes)
    spans = _bar_spans(ElementTree.fromstring(svg))
    assert max(left for left, _ in spans) < min(right for _, right in spans)


async def test_open_work_reaches_the_episode_to_come(host: DurableHost) -> None:
    instance_id = await host.start("waits_for_events", None)
    await host.settle()
    timeline = await _timeline(host, instance_id)
    (wait,) = timeline.bars
    assert (wait.outcome, wait.last_episode) == (Outcome.RUNNING, timeline.episodes)
    assert timeline.episodes == wait.first_episode + 1


async def test_time_is_the_axis_when_work_took_time(host: DurableHost) -> None:
    instance_id = await host.start("sleeper", 2)
    await host.settle()
    await host.advance(timedelta(hours=2))
    await host.wait(instance_id)
    assert (await _timeline(host, instance_id)).by_time
