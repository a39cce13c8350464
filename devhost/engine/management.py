"""Instance and entity management: what the durable HTTP API, the SDK client's RPC calls
and the test harness all do, with the real host's rules and errors.

Inputs arrive as JSON text exactly as the extension would store them; statuses go out
as `InstanceStatus`, whose `to_json` is ext's `StatusResponsePayload`
(docs/protocol.md F, G).
"""

from __future__ import annotations

import builtins
import dataclasses
import time
from collections.abc import Callable
from datetime import datetime

from ..errors import BadRequest, Conflict, Gone, NotFound
from ..ids import new_guid, new_hex
from ..protocol import (
    OPERATION_EVENT_NAME,
    EntityRequest,
    Event,
    EventType,
    OrchestrationStatus,
    entity_instance_id,
    events,
    split_entity_instance_id,
)
from ..protocol.keys import is_control, storage_key_problem
from ..stores.base import EndedExecution, InstanceQuery, InstanceRecord, Message, bounded_store
from .actions import ReplayFailure
from .dispatcher import Engine
from .statuses import EntityStatus, InstanceStatus, entity_status, history_events

MAX_INSTANCE_ID_LENGTH = 256
# ext's `QueryEntitiesAsync` reads on past an empty page of entities for at most 100 ms.
EMPTY_PAGES_FOR_S = 0.1


def validate_instance_id(instance_id: str) -> None:
    """ext `DurableClient.StartNewAsync` rules for caller-chosen ids."""
    if not instance_id:
        raise BadRequest("Orchestration instance ids must not be empty.")
    if instance_id.startswith("@"):
        raise BadRequest("Orchestration instance ids must not start with @.")
    if any(c in "/\\?#" or is_control(c) for c in instance_id):
        raise BadRequest("Orchestration instance ids must not contain /, \\, #, ?, or control characters.")
    if len(instance_id) > MAX_INSTANCE_ID_LENGTH:
        raise BadRequest(f"Instance ID lengths must not exceed {MAX_INSTANCE_ID_LENGTH} characters.")
    problem = storage_key_problem(instance_id)
    if problem is not None:
        raise BadRequest(problem)


class Management:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._store = bounded_store(engine.store)
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
        instance_id: str | None = None,
        input_json: str | None = None,
        version: str | None = None,
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
        self._engine.changed(instance_id)
        return instance_id

    async def record(self, instance_id: str) -> InstanceRecord:
        record = await self._orchestration_record(instance_id)
        if record is None:
            raise NotFound(f"No instance with ID '{instance_id}' found.")
        return record

    async def status(
        self,
        instance_id: str,
        *,
        show_history: bool = False,
        show_history_output: bool = False,
        show_input: bool = True,
    ) -> InstanceStatus:
        """Entities have a status too: ext reads any instance, `@name@key` included."""
        record = await self._store.get_record(instance_id)
        if record is None:
            raise NotFound(f"No instance with ID '{instance_id}' found.")
        history = None
        if show_history and record.status != OrchestrationStatus.PENDING:
            raw = await self._store.get_history(instance_id)
            history = history_events(raw, show_output=show_history_output, show_input=show_input)
        return InstanceStatus.of(record, history)

    async def history(self, instance_id: str) -> list[Event]:
        """The current execution's history as the engine keeps it, ids included: what the
        dashboard's timeline pairs up, which `status`'s `historyEvents` cannot serve
        (ext leaves the ids out, `statuses.history_events`)."""
        await self.record(instance_id)
        return await self._store.get_history(instance_id)

    def earlier_execution(self, instance_id: str, execution_id: str) -> EndedExecution | None:
        """One of `earlier_executions`, by its id."""
        return self._engine.earlier.find(instance_id, execution_id)

    def earlier_executions(self, instance_id: str) -> list[EndedExecution]:
        """The executions the instance continued as new from, as far as this host saw
        them end (`generations.py`): storage keeps only the current one."""
        return self._engine.earlier.of(instance_id)

    async def list(
        self,
        query: InstanceQuery,
        *,
        top: int | None = None,
        continuation: str | None = None,
        pages: int = 1,
    ) -> tuple[list[InstanceStatus], str | None]:
        """A page of at most `top` instances. One page of the store's query, as ext's
        HTTP API answers, short or even empty where the service answered so (a real
        table ends a page at partition boundaries, and after 5 s); with `pages` above 1,
        what a person's view asks, the store is read on while the page is short of
        `top`, at most `pages` times, so a filter that few rows of a big hub match still
        fills the page and no read scans the hub."""
        records, token = await self._read(query, top=top, continuation=continuation, pages=pages)
        return [InstanceStatus.of(record) for record in records], token

    async def count(self, query: InstanceQuery, *, most: int, pages: int) -> tuple[int, bool]:
        """How many instances match, and whether that is all of them. Reads at most
        `pages` pages of the store's query and stops past `most`, without the rows'
        values (no blob of a large input is fetched to be counted), so a page that shows
        counts costs a few storage calls on any hub, never a scan of the Azure table."""
        lean = dataclasses.replace(query, values=False)
        records, continuation = await self._read(lean, top=most + 1, continuation=None, pages=pages)
        if len(records) > most:
            return most, False
        return len(records), continuation is None

    async def _read(
        self, query: InstanceQuery, *, top: int | None, continuation: str | None, pages: int
    ) -> tuple[builtins.list[InstanceRecord], str | None]:
        """Up to `top` records from at most `pages` reads of the store, and where to go on."""
        records: builtins.list[InstanceRecord] = []
        for _ in range(pages):
            page, continuation = await self._store.query(
                query, top=None if top is None else top - len(records), continuation=continuation
            )
            records += page
            if continuation is None or (top is not None and len(records) >= top):
                break
        return records, continuation

    async def wait_until_done(self, instance_id: str, timeout: float) -> bool:
        """Whether the instance reached a terminal status within `timeout` seconds."""
        try:
            await self._engine.wait_for(instance_id, lambda r: r is not None and r.status.is_terminal, timeout)
        except TimeoutError:
            return False
        return True

    async def raise_event(
        self, instance_id: str, name: str, data_json: str | None, *, live: InstanceRecord | None = None
    ) -> None:
        """`live`: the instance's record as the caller just read it with `live_record`.
        ext's webhook reads the status, then `RaiseEventAsync` reads it again and sends
        only if the instance still runs; an event sent to one that ended in between is
        dropped when it arrives, so one read answers the same and costs half."""
        await self._send_live(instance_id, lambda now: events.event_raised(now, name, data_json), live=live)

    async def terminate(self, instance_id: str, reason: str | None) -> None:
        await self._send_live(instance_id, lambda now: events.execution_terminated(now, reason))

    async def suspend(self, instance_id: str, reason: str | None) -> None:
        """ext `SuspendAsync` refuses an instance that is already suspended."""
        await self._send_live(
            instance_id,
            lambda now: events.execution_suspended(now, reason),
            refuse=OrchestrationStatus.SUSPENDED,
        )

    async def resume(self, instance_id: str, reason: str | None) -> None:
        """ext `ResumeAsync` resumes only a suspended instance."""
        await self._send_live(
            instance_id,
            lambda now: events.execution_resumed(now, reason),
            only=OrchestrationStatus.SUSPENDED,
        )

    async def rewind(self, instance_id: str, reason: str | None) -> None:
        """410 for a finished instance that did not fail (ext `HandleRewindInstanceRequestAsync`);
        a live one cannot be rewound either (ext `RewindAsync`: failed instances only)."""
        record = await self.record(instance_id)
        if record.status != OrchestrationStatus.FAILED:
            message = "The rewind operation is only supported on failed orchestration instances."
            raise (
                Gone(message)
                if record.status.is_terminal
                else Conflict(f"{message} Instance '{instance_id}' is {record.status.api_name}.")
            )
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

    async def _original_input(self, record: InstanceRecord) -> str | None:
        for event in await self._store.get_history(record.instance_id):
            if event["EventType"] == EventType.EXECUTION_STARTED:
                value: str | None = event.get("Input")
                return value
        return record.input

    async def purge(self, instance_id: str) -> int:
        """Any instance, whatever its status, entities too: ext's Azure Storage provider
        (`PurgeInstanceHistoryAsync`) checks nothing, so neither do we. Work still on its
        way to a purged instance is dropped."""
        self._engine.earlier.forget(instance_id)
        purged = await self._store.purge(instance_id)
        self._engine.changed(instance_id)
        return 1 if purged else 0

    async def purge_by(self, query: InstanceQuery) -> int:
        """ext `HandleDeleteHistoryWithFiltersRequestAsync`: `createdTimeFrom` required,
        `createdTimeTo` now when missing; of the statuses named only the terminal ones
        count, and with none of those every status is purged (entities included)."""
        if query.created_from is None:
            raise BadRequest("Please provide value for 'createdTimeFrom' parameter.")
        terminal = frozenset(s for s in query.statuses or () if s.is_terminal)
        query = dataclasses.replace(
            query,
            created_to=query.created_to or self._now(),
            statuses=terminal or None,
            entities=None,
        )
        targets: list[str] = []
        continuation: str | None = None
        while True:  # collect first: deleting while paging would move the pages
            records, continuation = await self._store.query(query, top=500, continuation=continuation)
            targets.extend(record.instance_id for record in records)
            if continuation is None:
                break
        deleted = 0
        for instance_id in targets:
            deleted += await self.purge(instance_id)
        return deleted

    async def _orchestration_record(self, instance_id: str) -> InstanceRecord | None:
        """The instance's record; None also for an entity id, since entities live in the
        same store but are no orchestration to read, restart or purge."""
        record = await self._store.get_record(instance_id)
        if record is None or split_entity_instance_id(instance_id) is not None:
            return None
        return record

    async def live_record(self, instance_id: str) -> InstanceRecord:
        """The record of an instance that still runs: 404 if there is none, 410 if it ended."""
        record = await self.record(instance_id)
        if record.status.is_terminal:
            raise Gone(
                f"Instance '{instance_id}' is {record.status.api_name.lower()}: it no longer "
                "accepts events or commands."
            )
        return record

    async def _send_live(
        self,
        instance_id: str,
        make_event: Callable[[datetime], Event],
        *,
        refuse: OrchestrationStatus | None = None,
        only: OrchestrationStatus | None = None,
        live: InstanceRecord | None = None,
    ) -> None:
        """Commands go only to instances that still run (410 otherwise), and not to one
        whose status the command does not fit (409: ext answers its InvalidOperation with
        500); the event is made after the checks so its time is the time of sending."""
        record = live if live is not None else await self.live_record(instance_id)
        if record.status == refuse or (only is not None and record.status != only):
            raise Conflict(f"Instance '{instance_id}' is {record.status.api_name}.")
        await self._store.send([Message(instance_id, make_event(self._now()))])

    def _check(self, kind: str, name: str) -> None:
        """A start or signal for a function the app lacks is the caller's error (400)."""
        try:
            self._functions.check(kind, name)
        except ReplayFailure as error:
            raise BadRequest(str(error)) from error

    # --- entities ------------------------------------------------------------------------

    async def signal_entity(self, name: str, key: str, operation: str, input_json: str | None) -> None:
        """An empty operation name is sent as is, as ext sends a signal with no `op`."""
        self._check("entity", name)
        if any(c in "/\\?#" for c in key):
            raise BadRequest("Entity keys must not contain /, \\, #, ?, or control characters.")
        problem = storage_key_problem(entity_instance_id(name, key))  # control characters too
        if problem is not None:
            raise BadRequest(problem)
        request = EntityRequest(id=new_guid(), operation=operation, is_signal=True, input=input_json).to_json()
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
        status = entity_status(record) if record else None
        if status is None or not status.exists:
            raise NotFound(f"No entity '{name}' with key '{key}' exists.")
        return status

    async def entities(
        self,
        *,
        name: str | None = None,
        top: int | None = None,
        continuation: str | None = None,
        last_operation_from: datetime | None = None,
        last_operation_to: datetime | None = None,
        pages: int | None = None,
    ) -> tuple[builtins.list[EntityStatus], str | None]:
        """One page of at most `top` entities that exist. As ext's `QueryEntitiesAsync`,
        the store is read again only while a page came back empty (rows of entities
        whose state was deleted), and never past `EMPTY_PAGES_FOR_S`. `pages` bounds
        the reads by count instead (the dashboard's), so what a page shows does not
        depend on the storage's speed."""
        prefix = entity_instance_id(name, "") if name else "@"
        query = InstanceQuery(instance_id_prefix=prefix, entities=True)
        last_operation_to = last_operation_to or self._now()
        began, reads = time.monotonic(), 0
        while True:
            records, continuation = await self._store.query(query, top=top, continuation=continuation)
            reads += 1
            found = [
                status
                for record in records
                if (last_operation_from is None or record.last_updated_time >= last_operation_from)
                and record.last_updated_time <= last_operation_to
                and (status := entity_status(record)) is not None
                and status.exists
            ]
            if (
                found
                or continuation is None
                or (pages is None and time.monotonic() - began > EMPTY_PAGES_FOR_S)
                or (pages is not None and reads >= pages)
            ):
                return found, continuation
