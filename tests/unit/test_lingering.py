"""The batching policy of engine/lingering.py, against a store that hands over arrivals
as the test scripts them: which work items wait for more, and what they gather."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import cast

from devhost.engine.lingering import Lingering
from devhost.protocol import OrchestrationStatus, events
from devhost.stores.base import Checkpoint, InstanceRecord, Message, Store, WorkItem

T0 = datetime(2024, 5, 1, tzinfo=timezone.utc)
ID = "waiting"


class ScriptedStore:
    """Arrivals come in the order given, each as soon as the engine waits for one; once
    they run out, a wait times out (nothing more arrives)."""

    arrival_granularity = 0.0

    def __init__(self, *arrivals: list[Message]) -> None:
        self._arrivals = list(arrivals)
        self._ready: list[Message] = []
        self.waits = 0

    async def next_arrival(self, timeout: float) -> bool:
        self.waits += 1
        if not self._arrivals:
            return False
        self._ready = self._arrivals.pop(0)
        return True

    def more(self, item: WorkItem) -> list[Message]:
        arrived, self._ready = self._ready, []
        item.messages.extend(arrived)
        return arrived


def _event(n: int) -> Message:
    return Message(ID, events.event_raised(T0, "tick", str(n)))


def _result(n: int) -> Message:
    return Message(ID, events.task_completed(T0, n, str(n)))


def _item(*messages: Message) -> WorkItem:
    return WorkItem(ID, list(messages), record=None, history=[])


def _running() -> InstanceRecord:
    return InstanceRecord(ID, "o", "e", OrchestrationStatus.RUNNING, T0, T0)


def _after_episode(lingering: Lingering, item: WorkItem, outgoing: list[Message] | None = None) -> None:
    lingering.committed(item, Checkpoint(record=_running(), outgoing=outgoing or []), seconds=0.001)


async def _gather(lingering: Lingering, store: ScriptedStore, item: WorkItem) -> list[Message]:
    await lingering.gather(cast(Store, store), item)
    return item.messages


async def test_the_first_event_of_a_quiet_instance_is_delivered_at_once() -> None:
    lingering = Lingering()
    _after_episode(lingering, _item())  # the episode that started waiting
    store = ScriptedStore([_event(2)])
    delivered = await _gather(lingering, store, _item(_event(1)))
    assert (len(delivered), store.waits) == (1, 0)


async def test_events_that_come_together_are_delivered_together() -> None:
    lingering = Lingering()
    _after_episode(lingering, _item())
    store = ScriptedStore([_event(3)], [_event(4), _event(5)])
    delivered = await _gather(lingering, store, _item(_event(1), _event(2)))
    assert [m.event["Input"] for m in delivered] == ["1", "2", "3", "4", "5"]


async def test_an_event_on_the_heels_of_a_stream_waits_for_the_rest() -> None:
    lingering = Lingering()
    streamed = _item(_event(1), _event(2))
    _after_episode(lingering, streamed)
    store = ScriptedStore([_event(4)])
    delivered = await _gather(lingering, store, _item(_event(3)))
    assert [m.event["Input"] for m in delivered] == ["3", "4"]


async def test_results_due_are_waited_for_until_the_last_is_in() -> None:
    lingering = Lingering()
    scheduled = [Message(ID, events.task_scheduled(T0, n, "a", None)) for n in range(3)]
    _after_episode(lingering, _item(), outgoing=scheduled)
    store = ScriptedStore([_result(1)], [_result(2)], [_event(9)])
    delivered = await _gather(lingering, store, _item(_result(0)))
    assert len(delivered) == 3  # the event after the last result waits for the next episode
    assert store.waits == 2


async def test_an_ended_instance_is_forgotten() -> None:
    lingering = Lingering()
    _after_episode(lingering, _item(_event(1), _event(2)))
    ended = _running().copy(status=OrchestrationStatus.COMPLETED)
    lingering.committed(_item(), Checkpoint(record=ended), seconds=0.001)
    store = ScriptedStore([_event(4)])
    delivered = await _gather(lingering, store, _item(_event(3), _event(5)))
    assert (len(delivered), store.waits) == (2, 0)
