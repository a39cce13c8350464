"""Entity episodes (devhost/engine/entities.py) through the real SDK and a real entity
function, with the calling orchestrations replayed through the SDK too.

An entity is only a safe aggregator if each request is applied exactly once, in the
order it arrived, and every caller hears back, also when an operation fails
(docs/protocol.md D.3, E). The only stand-in is `Journal.run`, which records what
reached the SDK and then calls it.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Optional

import azure.durable_functions as df
import pytest

from devhost.engine.entities import EntityEpisodeContext, EntityState, request_digest, run_entity_episode
from devhost.protocol import OPERATION_EVENT_NAME, EntityRequest, EventType, events, parse_orchestrator_state
from devhost.stores.base import Checkpoint, InstanceRecord, Message, WorkItem
from tests.unit.history_builder import HistoryBuilder

T0 = datetime(2024, 5, 1, 10, tzinfo=timezone.utc)
JOURNAL = df.EntityId("Journal", "j")
JOURNAL_ID = "@journal@j"


def _journal(context: df.DurableEntityContext) -> None:
    """`append` keeps its input and returns how many entries there are; `explode` writes a
    half-done entry and then raises; `poison` sets a state JSON cannot hold, which fails
    the SDK's whole batch when it serializes the state at the end."""
    entries: list[Any] = context.get_state(list)
    operation = context.operation_name
    if operation == "append":
        entries.append(context.get_input())
        context.set_state(entries)
        context.set_result(len(entries))
    elif operation == "explode":
        entries.append(f"half-done {context.get_input()}")
        context.set_state(entries)
        raise ValueError(f"cannot {context.get_input()}")
    elif operation == "poison":
        context.set_state({"not", "json"})
        context.set_result(None)


class Journal:
    """The Journal entity's instance, episode by episode, as the engine runs it."""

    handle = staticmethod(df.Entity.create(_journal))

    def __init__(self, *, max_batch: int = 50, registered: bool = True) -> None:
        self.record: Optional[InstanceRecord] = None
        self.sdk_calls: list[list[str]] = []  # the operations of each batch the SDK ran
        self.context = EntityEpisodeContext(
            now=T0, entity_name="Journal" if registered else None, run_entity=self.run, max_batch=max_batch
        )

    def run(self, name: str, batch_json: str) -> str:
        assert name == "Journal"
        self.sdk_calls.append([operation["name"] for operation in json.loads(batch_json)["batch"]])
        return self.handle(batch_json)

    def deliver(self, *requests: EntityRequest) -> Checkpoint:
        messages = [
            Message(JOURNAL_ID, events.event_raised(T0, OPERATION_EVENT_NAME, r.to_json())) for r in requests
        ]
        checkpoint = run_entity_episode(WorkItem(JOURNAL_ID, messages, self.record, []), self.context)
        assert checkpoint.consumed == messages  # duplicates too: nothing stays queued
        self.record = checkpoint.record
        return checkpoint

    @property
    def entries(self) -> Any:
        state = EntityState.of(self.record).state
        return None if state is None else json.loads(state)


def request(operation: str, value: Any = None, *, caller: Optional[str] = None) -> EntityRequest:
    """A signal, or with `caller` a call from that orchestration; the input in its wire
    form (JSON text as a JSON string, docs/protocol.md E)."""
    return EntityRequest(
        id=str(uuid.uuid4()), operation=operation, is_signal=caller is None,
        input=json.dumps(json.dumps(value)), parent_instance_id=caller,
        parent_execution_id=None if caller is None else f"{caller}-exec",
    )  # fmt: skip


def answers(checkpoint: Checkpoint) -> dict[str, Any]:
    """Each response sent, by request id: its decoded result, or ("error", message)."""
    found: dict[str, Any] = {}
    for message in checkpoint.outgoing:
        assert message.event["EventType"] == EventType.EVENT_RAISED
        body = json.loads(message.event["Input"])
        result = json.loads(body["result"])
        found[message.event["Name"]] = ("error", result) if "exceptionType" in body else result
    return found


def test_a_request_delivered_twice_in_one_episode_is_applied_once() -> None:
    journal = Journal()
    first = request("append", "a", caller="o-1")
    checkpoint = journal.deliver(first, first, request("append", "b"))
    assert journal.entries == ["a", "b"]
    assert journal.sdk_calls == [["append", "append"]]
    assert answers(checkpoint) == {first.id: 1}


def test_a_request_delivered_again_later_is_neither_applied_nor_answered_again() -> None:
    """A host that crashed after sending but before committing sends its requests again."""
    journal = Journal()
    call, signal = request("append", "a", caller="o-1"), request("append", "b")
    journal.deliver(call, signal)
    again = journal.deliver(signal, call)
    assert journal.entries == ["a", "b"]
    assert (journal.sdk_calls, again.outgoing) == ([["append", "append"]], [])


def test_the_duplicate_window_keeps_30_minutes_and_1000_requests_so_the_row_stays_small() -> None:
    """As the extension's entity message reorder window: a redelivery comes within
    seconds; what is older is forgotten, and a busy entity's row does not grow."""
    journal = Journal()
    old = request("append", "old")
    journal.deliver(old)
    journal.context = replace(journal.context, now=T0 + timedelta(minutes=29))
    journal.deliver(old)
    assert journal.entries == ["old"]
    journal.context = replace(journal.context, now=T0 + timedelta(minutes=31))
    journal.deliver(*(request("append", n) for n in range(1_100)))
    window = EntityState.of(journal.record).recent
    assert len(window) == 1_000 and request_digest(old.id) not in {digest for digest, _ in window}
    assert journal.record is not None and len(journal.record.input or "") - len(json.dumps(journal.entries)) < 40_000


def test_operations_of_one_episode_run_in_arrival_order_in_one_sdk_call() -> None:
    journal = Journal()
    calls = [request("append", f"v{n}", caller=f"o-{n}") for n in range(5)]
    checkpoint = journal.deliver(*calls)
    assert journal.sdk_calls == [["append"] * 5]
    assert journal.entries == [f"v{n}" for n in range(5)]
    assert answers(checkpoint) == {call.id: n + 1 for n, call in enumerate(calls)}
    sent_to = [(m.instance_id, m.execution_id) for m in checkpoint.outgoing]
    assert sent_to == [(f"o-{n}", f"o-{n}-exec") for n in range(5)]


@pytest.mark.parametrize(
    ("max_batch", "sizes"), [(1, [1] * 7), (3, [3, 3, 1]), (7, [7]), (50, [7])]
)
def test_max_batch_caps_each_sdk_call_and_state_carries_between_them(max_batch: int, sizes: list[int]) -> None:
    """host.json `maxEntityOperationBatchSize`: one long batch would hold the entity."""
    journal = Journal(max_batch=max_batch)
    calls = [request("append", n, caller=f"o-{n}") for n in range(7)]
    checkpoint = journal.deliver(*calls)
    assert [len(batch) for batch in journal.sdk_calls] == sizes
    assert journal.entries == list(range(7))
    assert answers(checkpoint) == {call.id: n + 1 for n, call in enumerate(calls)}


def _caller(operation: str, value: Any) -> Callable[[str], str]:
    """An orchestration that calls the journal once and returns the result, or the error
    `call_entity` raised."""

    def orchestrator(context: df.DurableOrchestrationContext) -> Any:
        try:
            return (yield context.call_entity(JOURNAL, operation, value))
        except Exception as error:
            return f"failed: {error}"

    return df.Orchestrator.create(orchestrator)


def _callers_hear(journal: Journal, calls: list[tuple[str, Any]], *, signal_first: bool = False) -> list[Any]:
    """Each (operation, value) as a call from its own orchestration (replayed by the SDK up
    to its request), all delivered in one episode; then each orchestration replayed with
    the response the episode sent it. Returns the orchestrations' outputs."""
    builders, requests = [], []
    for n, (operation, value) in enumerate(calls):
        builder = HistoryBuilder("caller", instance_id=f"caller-{n}")
        request_id = builder.send_entity_operation(JOURNAL, operation, value)
        requests.append(EntityRequest.from_json(builder.history[-1]["Input"]))
        assert requests[-1].id == request_id
        builder.next_episode()
        builders.append(builder)
    checkpoint = journal.deliver(*([request("append", "s")] if signal_first else []), *requests)
    assert len(checkpoint.outgoing) == len(calls)  # a signal is never answered
    outputs = []
    for builder, (operation, value) in zip(builders, calls):
        (response,) = [m for m in checkpoint.outgoing if m.instance_id == builder.instance_id]
        builder.history.append(response.event)
        state = parse_orchestrator_state(_caller(operation, value)(builder.context_json()))
        assert state.is_done
        outputs.append(state.output)
    return outputs


def test_a_failing_operation_fails_alone_and_every_caller_hears_its_own_outcome() -> None:
    """The Python SDK keeps one state object for the batch and does not roll back a
    failed operation's writes; ext stores the state the SDK returns, and so must devhost."""
    journal = Journal()
    outputs = _callers_hear(journal, [("append", "a"), ("explode", "b"), ("append", "c")])
    assert outputs == [1, "failed: cannot b", 3]
    assert journal.entries == ["a", "half-done b", "c"]
    assert journal.sdk_calls == [["append", "explode", "append"]]


def test_a_batch_the_sdk_cannot_finish_fails_its_callers_and_leaves_the_state() -> None:
    """Only the failed SDK call is lost: the batch before it stays applied, the one after
    it runs, and each caller of the failed one gets the error instead of waiting forever."""
    journal = Journal(max_batch=2)
    outputs = _callers_hear(journal, [("append", "a"), ("poison", None), ("append", "c")], signal_first=True)
    assert outputs[1] == outputs[2] and outputs[1].startswith("failed: TypeError: ")
    assert outputs[0] == 2
    assert journal.entries == ["s", "a"]
    assert journal.sdk_calls == [["append", "append"], ["poison", "append"]]


def test_every_caller_of_an_entity_the_app_lacks_hears_so() -> None:
    journal = Journal(registered=False)
    calls = [request("append", n, caller=f"o-{n}") for n in range(3)]
    checkpoint = journal.deliver(*calls, request("append", "signal"))
    message = "The entity 'journal' is not registered in this app."
    assert answers(checkpoint) == {call.id: ("error", message) for call in calls}
    assert (journal.sdk_calls, journal.entries) == ([], None)
