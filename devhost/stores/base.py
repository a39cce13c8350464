"""The store interface: instances, their histories and the messages between them.

Shaped like the Azure Storage provider (docs/protocol.md H): an instance row, a
history per instance, messages that carry history events to an instance (control
queue) or to the activity workers (work-item queue), timers as messages that become
visible at their fire time. The engine only ever talks to this interface, so the
memory and Azure implementations behave the same.
"""

from __future__ import annotations

import asyncio
import base64
import json
from abc import ABC, abstractmethod
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar, cast

from ..errors import BadRequest, Conflict, StorageUnavailable
from ..ids import new_hex
from ..protocol import Event, EventType, OrchestrationStatus
from .ready import ReadyInstances

if TYPE_CHECKING:
    from ..supervision import Supervisor

T = TypeVar("T")


# Statuses a new start with the same id may not replace: ext's default
# `OverridableExistingInstanceStates.NonRunningStates`.
LIVE_STATUSES = frozenset(
    {
        OrchestrationStatus.RUNNING,
        OrchestrationStatus.PENDING,
        OrchestrationStatus.SUSPENDED,
        OrchestrationStatus.CONTINUED_AS_NEW,
    }
)


def ensure_replaceable(existing: InstanceRecord | None) -> None:
    """A start may replace an instance only once it has ended (409 otherwise, as ext)."""
    if existing is not None and existing.status in LIVE_STATUSES:
        raise Conflict(f"An Orchestration instance with the status {existing.status.api_name} already exists.")


async def take_share(queue: asyncio.Queue[T], *, workers: int, most: int) -> list[T]:
    """The next item, and as many more as this worker's fair share of what waits
    (at most `most`): `workers` workers then split a burst instead of one taking it all."""
    batch = [await queue.get()]
    share = min(most, -(-(queue.qsize() + 1) // max(workers, 1)))
    while len(batch) < share and not queue.empty():
        batch.append(queue.get_nowait())
    return batch


@dataclass
class InstanceRecord:
    """One row of the Instances table; entities keep their state in `input`."""

    instance_id: str
    name: str
    execution_id: str
    status: OrchestrationStatus
    created_time: datetime
    last_updated_time: datetime
    input: str | None = None
    output: str | None = None
    custom_status: str | None = None
    completed_time: datetime | None = None
    # The orchestration version (ExecutionStarted `Version`); None when unversioned.
    version: str | None = None
    parent_instance_id: str | None = None

    def copy(self, **changes: Any) -> InstanceRecord:
        return replace(self, **changes)


@dataclass
class Message:
    """A history event on its way to an instance (or, if TaskScheduled, to an activity).

    `execution_id` pins it to one execution: messages for an execution that has since
    continued as new are dropped, as DTFx does. `fire_at` makes it a timer.
    """

    instance_id: str
    event: Event
    execution_id: str | None = None
    fire_at: datetime | None = None
    id: str = field(default_factory=new_hex)
    # On an activity's result: the id of the work message it answers, so the host that
    # sent that work knows it done even when another host ran it.
    settles: str | None = None
    # The instance that sent it, where the receiver needs to know (an entity's response).
    sender: str | None = None

    @property
    def is_activity(self) -> bool:
        return bool(self.event["EventType"] == EventType.TASK_SCHEDULED)


@dataclass
class WorkItem:
    """What the store hands the engine for one episode of one instance.

    While a work item is out, no other work item for the same instance is handed out.
    `token` is the store's own bookkeeping (leases, ETags).
    """

    instance_id: str
    messages: list[Message]
    record: InstanceRecord | None
    history: list[Event]
    token: Any = None


@dataclass(frozen=True)
class EndedExecution:
    """An execution as it was when it continued as new."""

    execution_id: str
    history: list[Event]


@dataclass
class Checkpoint:
    """The result of an episode, committed as one unit.

    Order of effects (as DTFx): outgoing messages are sent, then history and the
    instance row are written, then the consumed messages are deleted. A crash between
    any two steps leaves a state the next episode repairs: duplicates of outgoing
    messages are detected by the receiver.
    """

    record: InstanceRecord | None
    # Events to append; with `replace_history`, the whole new history.
    new_events: list[Event] = field(default_factory=list)
    replace_history: bool = False
    outgoing: list[Message] = field(default_factory=list)
    consumed: list[Message] = field(default_factory=list)
    # Messages handed back undelivered, e.g. everything but control events while suspended.
    deferred: list[Message] = field(default_factory=list)
    # The Durable extension's tracking lines for what this episode ended (an execution, an
    # entity operation), as (logging level, text): logged once the checkpoint is
    # committed, so whoever reads one can read the new state.
    traces: list[tuple[int, str]] = field(default_factory=list)
    # Executions this episode ended by continuing as new, with their whole history: not
    # written (the new execution replaces the history, as DTFx writes it over the old
    # rows), handed after the commit to the engine's `EarlierExecutions`.
    ended: list[EndedExecution] = field(default_factory=list)

    @property
    def changes_history(self) -> bool:
        return bool(self.new_events) or self.replace_history


def encode_continuation(position: dict[str, str | None]) -> str:
    """A page position as the opaque token callers hand back."""
    return base64.urlsafe_b64encode(json.dumps(position).encode()).decode()


def decode_continuation(token: str, fields: frozenset[str]) -> dict[str, str | None]:
    """The position a token holds; a token this host did not issue (not decodable, or not
    an object of `fields` holding strings or null) is the caller's error, never a storage
    call's."""
    try:
        position = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (ValueError, RecursionError):
        position = None
    if not (
        isinstance(position, dict)
        and position
        and set(position) <= fields
        and all(value is None or isinstance(value, str) for value in position.values())
    ):
        raise BadRequest("The continuation token is not one this host issued.")
    return position


def discarded(item: WorkItem) -> Checkpoint:
    """The checkpoint of an episode whose instance was purged while it ran: nothing is
    written or sent, and the messages it took are consumed (DTFx drops messages for an
    instance that no longer exists)."""
    return Checkpoint(record=None, consumed=list(item.messages))


@dataclass(frozen=True)
class InstanceQuery:
    """Filters of the list/purge APIs; None means no filter."""

    created_from: datetime | None = None
    created_to: datetime | None = None
    statuses: frozenset[OrchestrationStatus] | None = None
    instance_id_prefix: str | None = None
    # The orchestrator's name, exactly: the dashboard's filter (the HTTP API has none).
    name: str | None = None
    # True: only entities; False: only orchestrations; None: both (as ext's HTTP API lists).
    entities: bool | None = False
    # False: the records may come without input, output and custom status, which a store
    # then need not read (large ones are blobs): what a count asks.
    values: bool = True

    def matches(self, record: InstanceRecord) -> bool:
        if self.entities is not None and self.entities != record.instance_id.startswith("@"):
            return False
        if self.created_from is not None and record.created_time < self.created_from:
            return False
        if self.created_to is not None and record.created_time > self.created_to:
            return False
        if self.statuses is not None and record.status not in self.statuses:
            return False
        if self.instance_id_prefix and not record.instance_id.startswith(self.instance_id_prefix):
            return False
        return not (self.name is not None and record.name != self.name)


class ConflictError(Exception):
    """Raised by `commit` when another episode of the instance committed first."""


class Store(ABC):
    """Durable state of one task hub."""

    # Exceptions that mean the storage service failed a call (not that the call was wrong).
    unavailable_errors: tuple[type[BaseException], ...] = ()

    _instances: ReadyInstances[Any]  # which instances have work (each store's own items)

    def __init__(self) -> None:
        # Set whenever a timer is held back, so a sleeping timer loop re-reads the schedule.
        self.timers_changed = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()

    @abstractmethod
    async def open(self, loops: Supervisor) -> None:
        """Creates what the hub needs (tables, queues), failing clearly if unreachable,
        and starts the store's background loops under `loops`."""

    def is_rejection(self, error: Exception) -> bool:
        """Whether storage refused a call for a reason retrying will not remove (a key
        or payload it cannot hold), as opposed to being unavailable."""
        return False

    @abstractmethod
    async def close(self) -> None: ...

    # --- orchestration and entity work ---------------------------------------------

    @abstractmethod
    async def next_work_item(self) -> WorkItem:
        """Waits for an instance with deliverable messages and locks it."""

    @abstractmethod
    async def commit(self, item: WorkItem, checkpoint: Checkpoint) -> None:
        """Applies an episode's effects and unlocks the instance."""

    @abstractmethod
    async def abandon(self, item: WorkItem) -> None:
        """Unlocks the instance and makes its messages deliverable again."""

    def commits_here(self, instance_id: str) -> bool:
        """Whether only this host commits the instance's episodes now (so a commit here
        is the only way its state changes, purges aside)."""
        return True

    # Results reach the store this often at best (a queue poll), not one by one: the
    # shortest quiet gap worth waiting for more (see engine/lingering.py).
    arrival_granularity = 0.0

    async def next_arrival(self, timeout: float) -> bool:
        """Waits up to `timeout` seconds for a message to arrive for any instance."""
        return await self._instances.next_arrival(timeout)

    @abstractmethod
    def more(self, item: WorkItem) -> list[Message]:
        """Adds to a work item still out what arrived for its instance since it was
        taken, and returns that."""

    # --- activity work ---------------------------------------------------------------

    @abstractmethod
    async def next_activities(self, *, workers: int, most: int) -> list[Message]:
        """Waits for a TaskScheduled message and returns it with a fair share of those
        queued behind it (their count over `workers`, at most `most`); each stays owned
        until completed or abandoned."""

    @abstractmethod
    async def complete_activity(self, work: Message, result: Message) -> None:
        """Sends the activity's result to its orchestration and deletes the work message."""

    @abstractmethod
    async def abandon_activity(self, work: Message) -> None: ...

    # --- messages and timers -----------------------------------------------------------

    @abstractmethod
    async def send(self, messages: list[Message]) -> None:
        """Enqueues messages from outside an episode (clients, recovery)."""

    @abstractmethod
    def next_timer_due(self) -> datetime | None:
        """The earliest fire time of a timer this store holds back, if any."""

    @abstractmethod
    async def release_timers(self, now: datetime) -> list[Message]:
        """Makes every timer due at `now` deliverable; returns the timers it released, in
        the order they fell due (a virtual clock's advance tells what fired)."""

    async def clock_moved(self, now: datetime) -> None:
        """A virtual clock was advanced to `now` (a persistent store keeps it)."""

    async def wait_idle(self) -> None:
        """Returns when nothing deliverable is queued or in progress (timers aside)."""
        while not self._is_idle():
            self._idle.clear()
            await self._idle.wait()

    @abstractmethod
    def _is_idle(self) -> bool:
        """Whether nothing deliverable is queued or in progress right now."""

    def _update_idle(self) -> None:
        """Called after every change that can finish work: wakes `wait_idle`."""
        if self._is_idle():
            self._idle.set()

    # --- instance management -----------------------------------------------------------

    @abstractmethod
    async def create_instance(self, record: InstanceRecord, start: Message) -> None:
        """Writes a new Pending instance row and its start message; an existing row is
        replaced unless its status is in LIVE_STATUSES (then raises `Conflict`)."""

    @abstractmethod
    async def get_record(self, instance_id: str) -> InstanceRecord | None: ...

    @abstractmethod
    async def get_history(self, instance_id: str) -> list[Event]: ...

    @abstractmethod
    async def query(
        self, query: InstanceQuery, *, top: int | None = None, continuation: str | None = None
    ) -> tuple[list[InstanceRecord], str | None]:
        """Matching records in instance-id order, a page at a time."""

    @abstractmethod
    async def purge(self, instance_id: str) -> bool:
        """Deletes the instance row, its history and payloads; False if it did not exist."""


# How long a request waits for one storage call before answering 503.
STORAGE_CALL_TIMEOUT_S = 10.0


class _Bounded:
    """The store as request handlers use it: each call answers within
    `STORAGE_CALL_TIMEOUT_S` or raises `StorageUnavailable`, so the HTTP API says 503
    while storage is down or hung instead of hanging with it. The engine keeps using the
    store itself, and carries on by itself once storage is back."""

    def __init__(self, store: Store, timeout: float) -> None:
        self._store = store
        self._timeout = timeout

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._store, name)
        if not asyncio.iscoroutinefunction(attribute):
            return attribute

        async def bounded(*args: Any, **kwargs: Any) -> Any:
            try:
                return await asyncio.wait_for(attribute(*args, **kwargs), self._timeout)
            except TimeoutError:
                raise StorageUnavailable(f"storage unavailable: no answer within {self._timeout:g}s") from None
            except self._store.unavailable_errors as error:
                raise StorageUnavailable(f"storage unavailable: {type(error).__name__}: {error}") from None

        return bounded


def bounded_store(store: Store, timeout: float = STORAGE_CALL_TIMEOUT_S) -> Store:
    """`store` with every call bounded by `timeout` (`_Bounded`): typed as the store it
    wraps, which is how callers use it."""
    return cast(Store, _Bounded(store, timeout))
