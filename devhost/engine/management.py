"""Instance and entity management: what the durable HTTP API, the SDK client's RPC calls
and the test harness all do, with the real host's rules and errors.

Inputs arrive as JSON text exactly as the extension would store them; statuses go out
as `InstanceStatus`, whose `to_json` is ext's `StatusResponsePayload`
(durable-protocol.md F, G).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Optional

from ..errors import BadRequest, Gone, NotFound, PreconditionFailed
from ..protocol import (
    OPERATION_EVENT_NAME,
    EntityRequest,
    Event,
    EventType,
    OrchestrationStatus,
    entity_instance_id,
    event_type_name,
    events,
    split_entity_instance_id,
)
from ..ids import new_guid, new_hex
from ..stores.base import InstanceQuery, InstanceRecord, Message
from .dispatcher import Engine
from .entities import EntityState
from .replay import ReplayFailure

MAX_INSTANCE_ID_LENGTH = 256

# Rows the status API leaves out of `historyEvents` (ext `DurableClient`).
_HIDDEN_HISTORY = frozenset(
    {
        EventType.ORCHESTRATOR_STARTED,
        EventType.ORCHESTRATOR_COMPLETED,
        EventType.TASK_SCHEDULED,
        EventType.SUB_ORCHESTRATION_INSTANCE_CREATED,
    }
)


def parse_stored(text: Optional[str]) -> Any:
    """Stored input/output/custom status are JSON texts; a raw reason stays a string."""
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def api_time(moment: Optional[datetime]) -> Optional[str]:
    """The status API's `yyyy-MM-ddTHH:mm:ssZ`."""
    return None if moment is None else moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class InstanceStatus:
    """One instance as the status API describes it."""

    name: str
    instance_id: str
    runtime_status: str
    input: Any
    custom_status: Any
    output: Any
    created_time: Optional[str]
    last_updated_time: Optional[str]
    history: Optional[list[dict[str, Any]]] = None
    version: Optional[str] = None

    @property
    def is_terminal(self) -> bool:
        return OrchestrationStatus.from_api_name(self.runtime_status).is_terminal

    def to_json(self, *, show_input: bool = True) -> dict[str, Any]:
        body: dict[str, Any] = {"name": self.name, "instanceId": self.instance_id}
        if self.version is not None:  # ext `StatusResponsePayload`: only when there is one
            body["version"] = self.version
        body |= {
            "runtimeStatus": self.runtime_status,
            "input": self.input if show_input else None,
            "customStatus": self.custom_status,
            "output": self.output,
            "createdTime": self.created_time,
            "lastUpdatedTime": self.last_updated_time,
        }
        if self.history is not None:
            body["historyEvents"] = self.history
        return body

    @classmethod
    def of(cls, record: InstanceRecord, history: Optional[list[dict[str, Any]]] = None) -> "InstanceStatus":
        return cls(
            name=record.name,
            instance_id=record.instance_id,
            runtime_status=record.status.api_name,
            input=parse_stored(record.input),
            custom_status=parse_stored(record.custom_status),
            output=parse_stored(record.output),
            created_time=api_time(record.created_time),
            last_updated_time=api_time(record.last_updated_time),
            history=history,
            version=record.version,
        )


@dataclass(frozen=True)
class EntityStatus:
    name: str
    key: str
    exists: bool
    state: Any
    last_operation_time: Optional[str]

    def to_json(self, *, fetch_state: bool = True) -> dict[str, Any]:
        body: dict[str, Any] = {
            "entityId": {"name": self.name, "key": self.key},
            "lastOperationTime": self.last_operation_time,
        }
        if fetch_state:
            body["state"] = self.state
        return body


def validate_instance_id(instance_id: str) -> None:
    """ext `DurableClient.StartNewAsync` rules for caller-chosen ids."""
    if not instance_id:
        raise BadRequest("Orchestration instance ids must not be empty.")
    if instance_id.startswith("@"):
        raise BadRequest("Orchestration instance ids must not start with @.")
    if any(c in "/\\?#" or ord(c) < 32 or ord(c) == 127 for c in instance_id):
        raise BadRequest(
            "Orchestration instance ids must not contain /, \\, #, ?, or control characters."
        )
    if len(instance_id) > MAX_INSTANCE_ID_LENGTH:
        raise BadRequest(
            f"Instance ID lengths must not exceed {MAX_INSTANCE_ID_LENGTH} characters."
        )


class Management:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._store = engine.store
        # The app's functions are indexed once per host: checking against one set per
        # request would rebuild it for every start and signal.
        self._functions = engine.index.known()

    def _now(self) -> datetime:
        return self._engine.clock.now()

    # --- orchestrations -----------------------------------------------------------------

    async def start(
        self,
        name: str,
        *,
        instance_id: Optional[str] = None,
        input_json: Optional[str] = None,
        version: Optional[str] = None,
    ) -> str:
        """`version` None means host.json's `defaultVersion`, as for every client start."""
        self._check("orchestrator", name)
        if instance_id is None:
            instance_id = new_hex()
        validate_instance_id(instance_id)
        now = self._now()
        execution_id = new_hex()
        stamped = self._engine.versioning.version_for(version)
        record = InstanceRecord(
            instance_id=instance_id,
            name=name,
            execution_id=execution_id,
            status=OrchestrationStatus.PENDING,
            created_time=now,
            last_updated_time=now,
            input=input_json,
            version=stamped,
        )
        start = events.execution_started(
            now,
            instance_id=instance_id,
            execution_id=execution_id,
            name=name,
            input=input_json,
            version=stamped,
        )
        await self._store.create_instance(record, Message(instance_id, start, execution_id))
        return instance_id

    async def record(self, instance_id: str) -> InstanceRecord:
        record = await self._orchestration_record(instance_id)
        if record is None:
            raise NotFound(f"No instance with ID '{instance_id}' found.")
        return record

    async def status(
        self, instance_id: str, *, show_history: bool = False, show_history_output: bool = False
    ) -> InstanceStatus:
        record = await self.record(instance_id)
        history = None
        if show_history:
            raw = await self._store.get_history(instance_id)
            history = history_events(raw, show_output=show_history_output)
        return InstanceStatus.of(record, history)

    async def list(
        self, query: InstanceQuery, *, top: Optional[int] = None, continuation: Optional[str] = None
    ) -> tuple[list[InstanceStatus], Optional[str]]:
        records, token = await self._store.query(query, top=top, continuation=continuation)
        return [InstanceStatus.of(record) for record in records], token

    async def wait_until_done(self, instance_id: str, timeout: float) -> bool:
        """Whether the instance reached a terminal status within `timeout` seconds."""
        try:
            await self._engine.wait_for(
                instance_id, lambda r: r is not None and r.status.is_terminal, timeout
            )
        except asyncio.TimeoutError:
            return False
        return True

    async def raise_event(self, instance_id: str, name: str, data_json: Optional[str]) -> None:
        await self._send_live(instance_id, lambda now: events.event_raised(now, name, data_json))

    async def terminate(self, instance_id: str, reason: Optional[str]) -> None:
        await self._send_live(instance_id, lambda now: events.execution_terminated(now, reason))

    async def suspend(self, instance_id: str, reason: Optional[str]) -> None:
        await self._send_live(instance_id, lambda now: events.execution_suspended(now, reason))

    async def resume(self, instance_id: str, reason: Optional[str]) -> None:
        await self._send_live(instance_id, lambda now: events.execution_resumed(now, reason))

    async def rewind(self, instance_id: str, reason: Optional[str]) -> None:
        record = await self.record(instance_id)
        if record.status != OrchestrationStatus.FAILED:
            raise Gone("The rewind operation is only supported on failed orchestration instances.")
        await self._store.send([Message(instance_id, events.execution_rewound(self._now(), reason))])

    async def restart(self, instance_id: str, *, new_instance_id: bool = True) -> str:
        record = await self._orchestration_record(instance_id)
        if record is None:
            raise BadRequest("InstanceId does not match a valid orchestration instance.")
        return await self.start(
            record.name,
            instance_id=None if new_instance_id else instance_id,
            input_json=await self._original_input(record),
        )

    async def _original_input(self, record: InstanceRecord) -> Optional[str]:
        for event in await self._store.get_history(record.instance_id):
            if event["EventType"] == EventType.EXECUTION_STARTED:
                value: Optional[str] = event.get("Input")
                return value
        return record.input

    async def purge(self, instance_id: str) -> int:
        """Only finished instances: purging one that still runs would race its episodes
        (newer extensions refuse it the same way)."""
        record = await self._orchestration_record(instance_id)
        if record is None:
            return 0
        if not record.status.is_terminal:
            raise PreconditionFailed(
                f"Instance '{instance_id}' is {record.status.api_name}: only orchestrations in "
                "a terminal state can be purged."
            )
        return 1 if await self._store.purge(instance_id) else 0

    async def purge_by(self, query: InstanceQuery) -> int:
        if query.created_from is None:
            raise BadRequest("Please provide value for 'createdTimeFrom' parameter.")
        if query.created_to is None:
            # An open-ended purge stops at now, so instances created while it pages through
            # the store are left alone.
            query = dataclasses.replace(query, created_to=self._now())
        deleted = 0
        continuation: Optional[str] = None
        while True:
            records, continuation = await self._store.query(query, top=500, continuation=continuation)
            for record in records:
                if record.status.is_terminal:
                    deleted += 1 if await self._store.purge(record.instance_id) else 0
            if continuation is None:
                return deleted

    async def _orchestration_record(self, instance_id: str) -> Optional[InstanceRecord]:
        """The instance's record; None also for an entity id, since entities live in the
        same store but are no orchestration to read, restart or purge."""
        record = await self._store.get_record(instance_id)
        if record is None or split_entity_instance_id(instance_id) is not None:
            return None
        return record

    async def _send_live(self, instance_id: str, make_event: Callable[[datetime], Event]) -> None:
        """Commands go only to instances that still run (410 otherwise); the event is made
        after that check so its timestamp is the time of sending."""
        record = await self.record(instance_id)
        if record.status.is_terminal:
            raise Gone(
                f"Instance '{instance_id}' is {record.status.api_name.lower()}: it no longer "
                "accepts events or commands."
            )
        await self._store.send([Message(instance_id, make_event(self._now()))])

    def _check(self, kind: str, name: str) -> None:
        """A start or signal for a function the app lacks is the caller's error (400)."""
        try:
            self._functions.check(kind, name)
        except ReplayFailure as error:
            raise BadRequest(str(error)) from error

    # --- entities ------------------------------------------------------------------------

    async def signal_entity(
        self, name: str, key: str, operation: str, input_json: Optional[str]
    ) -> None:
        self._check("entity", name)
        if not operation:
            raise BadRequest("The entity operation name must not be empty.")
        request = EntityRequest(
            id=new_guid(), operation=operation, is_signal=True, input=input_json
        ).to_json()
        await self._store.send(
            [
                Message(
                    entity_instance_id(name, key),
                    events.event_raised(self._now(), OPERATION_EVENT_NAME, request),
                )
            ]
        )

    async def entity(self, name: str, key: str) -> EntityStatus:
        record = await self._store.get_record(entity_instance_id(name, key))
        status = _entity_status(record) if record else None
        if status is None or not status.exists:
            raise NotFound(f"No entity '{name}' with key '{key}' exists.")
        return status

    async def entities(
        self,
        *,
        name: Optional[str] = None,
        top: Optional[int] = None,
        continuation: Optional[str] = None,
        last_operation_from: Optional[datetime] = None,
        last_operation_to: Optional[datetime] = None,
    ) -> tuple[list[EntityStatus], Optional[str]]:
        prefix = entity_instance_id(name, "") if name else "@"
        query = InstanceQuery(instance_id_prefix=prefix, entities=True)
        found: list[EntityStatus] = []
        while True:
            records, continuation = await self._store.query(query, top=top, continuation=continuation)
            for record in records:
                if last_operation_from and record.last_updated_time < last_operation_from:
                    continue
                if last_operation_to and record.last_updated_time > last_operation_to:
                    continue
                status = _entity_status(record)
                if status is not None and status.exists:
                    found.append(status)
            if continuation is None or (top is not None and len(found) >= top):
                return found, continuation


def _entity_status(record: InstanceRecord) -> Optional[EntityStatus]:
    parts = split_entity_instance_id(record.instance_id)
    if parts is None:
        return None
    state = EntityState.of(record)
    return EntityStatus(
        name=parts[0],
        key=parts[1],
        exists=state.exists,
        state=parse_stored(state.state),
        last_operation_time=api_time(record.last_updated_time),
    )


def history_events(raw: list[Event], *, show_output: bool) -> list[dict[str, Any]]:
    """History as the status API shows it: names for types, completions annotated with
    the function they belong to, results only on request (ext `DurableClient`)."""
    scheduled = {
        e["EventId"]: e
        for e in raw
        if e["EventType"] in (EventType.TASK_SCHEDULED, EventType.SUB_ORCHESTRATION_INSTANCE_CREATED)
    }
    shown: list[dict[str, Any]] = []
    for event in raw:
        kind = event["EventType"]
        if kind in _HIDDEN_HISTORY:
            continue
        row: dict[str, Any] = {"EventType": event_type_name(kind), "Timestamp": event["Timestamp"]}
        for field, value in event.items():
            if field in ("EventType", "EventId", "IsPlayed", "Timestamp", "MessageId"):
                continue
            if field == "Result":
                if show_output:
                    row["Result"] = parse_stored(value)
                continue
            if field == "Name" and kind == EventType.EXECUTION_STARTED:
                row["FunctionName"] = value
                continue
            row[field] = value
        source = scheduled.get(event.get("TaskScheduledId", -1))
        if source is not None:
            row["FunctionName"] = source.get("Name")
            row["ScheduledTime"] = source.get("Timestamp")
        shown.append(row)
    return shown
