"""The memory store's contract details that the engine's throughput relies on."""

from __future__ import annotations

from datetime import timedelta
from typing import Optional

from devhost.clock import VirtualClock
from devhost.protocol import OrchestrationStatus, events
from devhost.stores.base import Checkpoint, InstanceQuery, InstanceRecord, Message
from devhost.stores.memory import MemoryStore


def _activity(n: int) -> Message:
    scheduled = events.task_scheduled(VirtualClock().now(), n, "work", "1")
    return Message("orchestration-1", scheduled, "e-1")


async def test_a_worker_takes_a_fair_share_of_the_queued_activities() -> None:
    store = MemoryStore(VirtualClock())
    await store.send([_activity(n) for n in range(3)])
    assert len(await store.next_activities(workers=10, most=16)) == 1
    await store.send([_activity(n) for n in range(100)])
    assert len(await store.next_activities(workers=10, most=16)) == 11
    assert len(await store.next_activities(workers=2, most=16)) == 16


async def test_future_timers_wait_for_release_and_due_ones_are_delivered_at_once() -> None:
    clock = VirtualClock()
    store = MemoryStore(clock)
    later = events.timer_fired(clock.now(), 0, clock.now())
    await store.send([Message("i", later, fire_at=clock.now().replace(year=clock.now().year + 1))])
    assert store.next_timer_due() is not None
    await store.send([Message("i", events.timer_fired(clock.now(), 1, clock.now()), fire_at=clock.now())])
    item = await store.next_work_item()
    assert [m.event["TimerId"] for m in item.messages] == [1]


async def test_a_release_returns_the_timers_it_released_earliest_first() -> None:
    """What a virtual clock's advance reports as fired: a purged instance's timer is not."""
    clock = VirtualClock()
    store = MemoryStore(clock)
    start, hour = clock.now(), timedelta(hours=1)
    for instance_id in ("kept", "purged"):
        record = InstanceRecord(instance_id, "orch", "e", OrchestrationStatus.RUNNING, start, start)
        begun = events.execution_started(start, instance_id=instance_id, execution_id="e", name="orch", input=None)
        await store.create_instance(record, Message(instance_id, begun, "e"))
    await store.purge("purged")
    due = [("kept", 2 * hour), ("purged", hour), ("kept", hour), ("kept", 3 * hour)]
    await store.send([
        Message(instance_id, events.timer_fired(start, n, start + after), "e", fire_at=start + after)
        for n, (instance_id, after) in enumerate(due)
    ])  # fmt: skip
    clock.set(start + 2 * hour)  # as an advance does before it releases
    released = await store.release_timers(clock.now())
    assert [(m.instance_id, m.fire_at) for m in released] == [("kept", start + hour), ("kept", start + 2 * hour)]
    assert store.next_timer_due() == start + 3 * hour


async def test_a_release_ahead_of_the_clock_holds_the_timer_back_again() -> None:
    """The clock decides when a timer is delivered, whatever moment a release names."""
    clock = VirtualClock()
    store = MemoryStore(clock)
    start, hour = clock.now(), timedelta(hours=1)
    record = InstanceRecord("i", "orch", "e", OrchestrationStatus.RUNNING, start, start)
    begun = events.execution_started(start, instance_id="i", execution_id="e", name="orch", input=None)
    await store.create_instance(record, Message("i", begun, "e"))
    await store.send([Message("i", events.timer_fired(start, 0, start + hour), "e", fire_at=start + hour)])
    await store.release_timers(start + 2 * hour)
    assert store.next_timer_due() == start + hour


async def test_messages_handed_back_go_ahead_of_those_that_arrived_meanwhile() -> None:
    clock = VirtualClock()
    store = MemoryStore(clock)
    held = Message("i", events.event_raised(clock.now(), "Held", "1"))
    later = Message("i", events.event_raised(clock.now(), "Later", "2"))
    await store.send([held])
    item = await store.next_work_item()
    await store.send([later])  # arrives while the episode runs
    await store.commit(item, Checkpoint(record=None, deferred=[held]))
    assert [m.id for m in (await store.next_work_item()).messages] == [held.id, later.id]


async def test_a_start_after_a_purge_is_not_swallowed_by_the_purged_episode() -> None:
    """Purge, then start the same id, while an episode of the old instance still runs:
    that episode commits nothing and the new start waits for the next one."""
    clock = VirtualClock()
    store = MemoryStore(clock)

    def start(execution: str) -> tuple[InstanceRecord, Message]:
        record = InstanceRecord("x", "orch", execution, OrchestrationStatus.PENDING, clock.now(), clock.now())
        event = events.execution_started(clock.now(), instance_id="x", execution_id=execution, name="orch", input=None)
        return record, Message("x", event, execution)

    await store.create_instance(*start("old"))
    episode = await store.next_work_item()
    await store.purge("x")
    new_record, new_start = start("new")
    await store.create_instance(new_record, new_start)
    assert store.more(episode) == []  # would hand over what arrived meanwhile
    assert new_start not in episode.messages
    await store.commit(episode, Checkpoint(record=episode.record, consumed=list(episode.messages)))
    assert [m.id for m in (await store.next_work_item()).messages] == [new_start.id]
    assert (await store.get_record("x")) == new_record


async def test_pages_follow_instance_id_order_through_starts_and_purges() -> None:
    """The store keeps ids in order as instances come and go (no sort per query): pages
    and prefixes see every instance once, in id order, purged ones gone."""
    clock = VirtualClock()
    store = MemoryStore(clock)
    for instance_id in ("b-2", "a-1", "c-1", "b-1", "a-2", "b-3"):
        record = InstanceRecord(instance_id, "orch", "e", OrchestrationStatus.PENDING, clock.now(), clock.now())
        started = events.execution_started(clock.now(), instance_id=instance_id, execution_id="e", name="orch", input=None)
        await store.create_instance(record, Message(instance_id, started, "e"))
    await store.purge("b-2")

    seen: list[str] = []
    token: Optional[str] = None
    while True:
        page, token = await store.query(InstanceQuery(), top=2, continuation=token)
        seen += [record.instance_id for record in page]
        if token is None:
            break
    prefixed, _ = await store.query(InstanceQuery(instance_id_prefix="b-"))
    assert seen == ["a-1", "a-2", "b-1", "b-3", "c-1"]
    assert [record.instance_id for record in prefixed] == ["b-1", "b-3"]
