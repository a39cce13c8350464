"""The `<Hub>Instances` and `<Hub>History` tables (docs/protocol.md H).

Instance rows: partition key the escaped instance id, row key "". History rows: one per
event, partition key the instance, each event field a column (`EventType` by name,
`Timestamp` as `_Timestamp`), objects as JSON text; a `sentinel` row per instance holds
the checkpoint (execution, event count, and a snapshot of the instance row) and its ETag
makes a commit conditional, so two hosts can never both commit an episode of one
instance. The sentinel is the truth an episode starts from; the instance row, written
after it, is the view queries read, and the next commit repairs it if a crash left it
behind.

Row keys are a history generation (4 hex digits, more past FFFF) and a 12-digit event index. A
replaced history (continue-as-new, rewind, a restarted instance) is written under the
next generation and the sentinel switched to it in the same transaction as its last
rows, so a crash mid-write never leaves a mix of old and new events.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from azure.core import MatchConditions
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.data.tables import UpdateMode
from azure.data.tables.aio import TableClient

from ...protocol import Event, OrchestrationStatus, event_type_from_name, event_type_name
from ..base import ConflictError, InstanceQuery, InstanceRecord, decode_continuation, encode_continuation
from .names import escape_key, unescape_key
from .payloads import LargePayloads, too_large_for_property
from .transactions import TransactionRefused, Write, in_transactions, submit

SENTINEL_ROW_KEY = "sentinel"
_LARGE_RECORD_FIELDS = ("Input", "Output", "CustomStatus")
T = TypeVar("T")


@dataclass
class HistoryState:
    """An instance's committed checkpoint: its history, and what a conditional commit
    after it needs (the sentinel's ETag, generation, event count, execution)."""

    events: list[Event]
    etag: str | None = None
    generation: int = 0
    count: int = 0
    execution_id: str | None = None


def _row_key(generation: int, index: int) -> str:
    return f"{generation:04X}{index:012X}"


class HubTables:
    def __init__(self, instances: TableClient, history: TableClient, payloads: LargePayloads, hub: str) -> None:
        self._instances = instances
        self._history = history
        self._payloads = payloads
        self._hub = hub

    # --- instances -------------------------------------------------------------------

    async def get_record(self, instance_id: str) -> tuple[InstanceRecord | None, str | None]:
        return await _reread(lambda: self._get_record(instance_id))

    async def _get_record(self, instance_id: str) -> tuple[InstanceRecord | None, str | None]:
        try:
            entity = await self._instances.get_entity(escape_key(instance_id), "")
        except ResourceNotFoundError:
            return None, None
        return await self._record(entity, instance_id), entity.metadata["etag"]

    async def put_record(
        self,
        record: InstanceRecord,
        *,
        etag: str | None = None,
        create: bool = False,
        stored: InstanceRecord | None = None,
        drop_replaced: bool = False,
    ) -> None:
        """Writes the row; `create` fails if it exists, `etag` if it changed (ConflictError).
        `stored` is the row as it was, whose large values need not be stored again; with
        `drop_replaced` (the row is their only reader: an entity's), its large values
        this write replaced are deleted once it committed."""
        columns = await self._store_columns(record, stored)
        entity = {"PartitionKey": escape_key(record.instance_id), "RowKey": "", **columns}
        try:
            if create:
                await self._instances.create_entity(entity)
            elif etag is not None:
                await self._instances.update_entity(
                    entity, mode=UpdateMode.REPLACE, etag=etag,
                    match_condition=MatchConditions.IfNotModified,
                )  # fmt: skip
            else:
                await self._instances.upsert_entity(entity, mode=UpdateMode.REPLACE)
        except ResourceExistsError as error:
            raise ConflictError(record.instance_id) from error
        except HttpResponseError as error:
            if error.status_code in (409, 412):
                raise ConflictError(record.instance_id) from error
            raise
        if drop_replaced:
            await self._payloads.delete(self._replaced(record, stored))

    def _replaced(self, record: InstanceRecord, stored: InstanceRecord | None) -> list[str]:
        """The blobs of `stored`'s large values that `record` no longer refers to."""
        if stored is None:
            return []
        kept = self._record_columns(record)[1]
        return [name for name in self._record_columns(stored)[1] if name not in kept]

    async def delete_record(self, instance_id: str) -> bool:
        """False if there was no row (the SDK's delete succeeds either way)."""
        key = escape_key(instance_id)
        try:
            await self._instances.get_entity(key, "", select=["PartitionKey"])
        except ResourceNotFoundError:
            return False
        await self._instances.delete_entity(key, "")
        return True

    async def query_records(
        self, query: InstanceQuery, *, top: int | None, continuation: str | None
    ) -> tuple[list[InstanceRecord], str | None]:
        """One page of the service's answer (which may be short of `top`, or empty with a
        continuation: a real table stops a page at partition boundaries and after 5 s)."""
        clauses, parameters = _filter(query)
        pages = self._instances.query_entities(
            " and ".join(clauses),
            parameters=parameters,
            results_per_page=min(top or _PAGE_MOST, _PAGE_MOST),
            select=None if query.values else _LEAN_COLUMNS,
        ).by_page(continuation_token=_decode_token(continuation))
        records: list[InstanceRecord] = []
        async for page in pages:
            async for entity in page:
                instance_id = unescape_key(entity["PartitionKey"])
                try:
                    found: InstanceRecord | None = await self._record(entity, instance_id)
                except _Replaced:  # moved on while this page was read: the row as it is now
                    found, _ = await self.get_record(instance_id)
                if found is not None and query.matches(found):
                    records.append(found)
            # One page per call; the SDK's page iterator carries the token (untyped there).
            return records, _encode_token(getattr(pages, "continuation_token", None))
        return records, None

    async def _store_columns(self, record: InstanceRecord, stored: InstanceRecord | None) -> dict[str, Any]:
        """The record's columns, after storing the large values `stored` did not have."""
        columns, blobs = self._record_columns(record)
        kept = self._record_columns(stored)[1] if stored is not None else {}
        await asyncio.gather(*(self._payloads.put(n, v) for n, v in blobs.items() if n not in kept))
        return columns

    def fits_in_row(self, record: InstanceRecord) -> bool:
        """Whether the record's input, output and custom status stay in its row (no blob)."""
        return not self._record_columns(record)[1]

    def _record_columns(self, record: InstanceRecord) -> tuple[dict[str, Any], dict[str, str]]:
        """The instance row's columns (also the sentinel's snapshot) and the blobs its large
        values go to. A blob is named after its content, so storing a new value never
        overwrites one that a committed row or checkpoint still refers to."""
        key = escape_key(record.instance_id)
        entity: dict[str, Any] = {
            "Name": record.name,
            "ExecutionId": record.execution_id,
            "RuntimeStatus": record.status.api_name,
            "CreatedTime": record.created_time,
            "LastUpdatedTime": record.last_updated_time,
            "TaskHubName": self._hub,
        }
        if record.version is not None:  # as DTFx: an unversioned row has no Version column
            entity["Version"] = record.version
        if record.completed_time is not None:
            entity["CompletedTime"] = record.completed_time
        if record.parent_instance_id is not None:
            entity["ParentInstanceId"] = record.parent_instance_id
        values = {"Input": record.input, "Output": record.output, "CustomStatus": record.custom_status}
        blobs: dict[str, str] = {}
        for field, value in values.items():
            if value is None:
                continue
            if too_large_for_property(value):
                digest = hashlib.sha256(value.encode("utf-8")).hexdigest()[:32]
                name = f"{key}/instance-{field.lower()}-{digest}.json.gz"
                blobs[name] = value
                entity[f"{field}BlobName"] = name
            else:
                entity[field] = value
        return entity, blobs

    async def _record(self, entity: Any, instance_id: str) -> InstanceRecord:
        values: dict[str, str | None] = {}
        for field in _LARGE_RECORD_FIELDS:
            blob = entity.get(f"{field}BlobName")
            try:
                values[field] = await self._payloads.get(blob) if blob else entity.get(field)
            except ResourceNotFoundError:
                raise _Replaced(instance_id) from None
        return InstanceRecord(
            instance_id=unescape_key(entity["PartitionKey"]),
            name=entity.get("Name", ""),
            execution_id=entity.get("ExecutionId", ""),
            status=OrchestrationStatus.from_api_name(entity["RuntimeStatus"]),
            created_time=entity["CreatedTime"],
            last_updated_time=entity["LastUpdatedTime"],
            input=values["Input"],
            output=values["Output"],
            custom_status=values["CustomStatus"],
            completed_time=entity.get("CompletedTime"),
            version=entity.get("Version"),
            parent_instance_id=entity.get("ParentInstanceId"),
        )

    # --- history ---------------------------------------------------------------------

    async def load(self, instance_id: str) -> tuple[InstanceRecord | None, HistoryState]:
        """The instance as its last checkpoint left it: the sentinel's snapshot and its
        history; the instance row for one that has no checkpoint yet."""
        return await _reread(lambda: self._load(instance_id))

    async def _load(self, instance_id: str) -> tuple[InstanceRecord | None, HistoryState]:
        key = escape_key(instance_id)
        try:
            sentinel = await self._history.get_entity(key, SENTINEL_ROW_KEY)
        except ResourceNotFoundError:
            record, _ = await self._get_record(instance_id)
            return record, HistoryState(events=[])
        state = HistoryState(
            events=[],
            etag=sentinel.metadata["etag"],
            generation=int(sentinel["Generation"]),
            count=int(sentinel["EventCount"]),
            execution_id=sentinel.get("ExecutionId"),
        )
        if state.count:
            rows = [
                row
                async for row in self._history.query_entities(
                    "PartitionKey eq @key and RowKey ge @low and RowKey lt @high",
                    parameters={
                        "key": key,
                        "low": _row_key(state.generation, 0),
                        "high": _row_key(state.generation, state.count),
                    },
                )
            ]
            rows.sort(key=lambda row: row["RowKey"])
            state.events = list(await asyncio.gather(*(self._event(row) for row in rows)))
        return await self._record(sentinel, instance_id), state

    async def commit_checkpoint(
        self,
        instance_id: str,
        state: HistoryState,
        new_events: list[Event],
        *,
        replace: bool,
        record: InstanceRecord,
        previous: InstanceRecord | None,
        now: datetime,
    ) -> HistoryState:
        """Appends (or, with `replace` or a new execution, replaces) the history and moves
        the sentinel, on the condition that nobody moved it since `state` was read; then
        writes the instance row.

        One transaction when it fits; otherwise the sentinel is claimed first (its ETag
        checked and changed, the previous checkpoint kept: what a reader finds if we stop
        halfway), so a host that lost the race fails before writing a single row."""
        key = escape_key(instance_id)
        fresh = replace or record.execution_id != state.execution_id
        generation = state.generation + 1 if fresh and state.etag is not None else state.generation
        start = 0 if fresh else state.count
        rows = await asyncio.gather(
            *(
                self._event_entity(key, _row_key(generation, start + n), event, record.execution_id)
                for n, event in enumerate(new_events)
            )
        )
        snapshot = await self._store_columns(record, previous)
        sentinel = {
            "PartitionKey": key,
            "RowKey": SENTINEL_ROW_KEY,
            **snapshot,
            "Generation": generation,
            "EventCount": start + len(new_events),
            "IsCheckpointComplete": True,
            "CheckpointCompletedTimestamp": now,
        }
        batches = in_transactions([Write("put", row) for row in rows])
        etag = state.etag
        try:
            if len(batches) > 1:
                claim = {
                    "PartitionKey": key,
                    "RowKey": SENTINEL_ROW_KEY,
                    **self._record_columns(previous or record)[0],
                    "Generation": state.generation,
                    "EventCount": state.count,
                    "IsCheckpointComplete": False,
                }
                etag = (await submit(self._history, [_sentinel_write(claim, etag)]))[0]
                for batch in batches[:-1]:
                    await submit(self._history, batch)
                batches = batches[-1:]
            batches[-1].append(_sentinel_write(sentinel, etag))
            outcome = await submit(self._history, batches[-1])
        except TransactionRefused as error:
            if error.status_code in (409, 412):
                raise ConflictError(instance_id) from error
            raise
        if fresh and generation != state.generation:
            await self._delete_rows(key, keep_generation=generation)
        await self._instances.upsert_entity({"PartitionKey": key, "RowKey": "", **snapshot}, mode=UpdateMode.REPLACE)
        await self._payloads.delete(self._replaced(record, previous))  # sentinel and row moved on
        return HistoryState(
            events=(new_events if fresh else state.events + new_events),
            etag=outcome[-1],
            generation=generation,
            count=start + len(new_events),
            execution_id=record.execution_id,
        )

    async def delete_history(self, instance_id: str) -> None:
        await self._delete_rows(escape_key(instance_id), keep_generation=None)

    async def _delete_rows(self, key: str, *, keep_generation: int | None) -> None:
        """Every row but those of `keep_generation` and the sentinel (with None: all rows
        and the sentinel). Rows are told apart by their generation part, not by order,
        which a generation past FFFF (a fifth digit) would break."""
        kept = None if keep_generation is None else f"{keep_generation:04X}"
        rows = [
            Write("delete", {"PartitionKey": key, "RowKey": row["RowKey"]})
            async for row in self._history.query_entities(
                "PartitionKey eq @key", parameters={"key": key}, select=["RowKey"]
            )
            if kept is None or (row["RowKey"] != SENTINEL_ROW_KEY and row["RowKey"][:-12] != kept)
        ]
        for batch in in_transactions(rows) if rows else []:
            # Another writer may get there first; the rows are unreachable anyway.
            with contextlib.suppress(TransactionRefused):
                await submit(self._history, batch)
        if kept is not None and rows:  # a new generation: its predecessors' large values go too
            gone = {row.entity["RowKey"] for row in rows}
            prefix = f"{key}/history-"
            await self._payloads.delete_listed(prefix, lambda name: name[len(prefix) :].split("-")[0] in gone)

    async def _event_entity(self, key: str, row_key: str, event: Event, execution_id: str) -> dict[str, Any]:
        entity: dict[str, Any] = {"PartitionKey": key, "RowKey": row_key, "ExecutionId": execution_id}
        encoded: list[str] = []
        for field, value in event.items():
            column = "_Timestamp" if field == "Timestamp" else field
            if field == "EventType":
                value = event_type_name(value)
            elif isinstance(value, (dict, list)):
                value = json.dumps(value)
                encoded.append(field)
            if value is None:
                continue
            if isinstance(value, str) and too_large_for_property(value):
                name = f"{key}/history-{row_key}-{field.lower()}.json.gz"
                await self._payloads.put(name, value)
                entity[f"{column}BlobName"] = name
                continue
            entity[column] = value
        entity["_Fields"] = ",".join(event)
        entity["_Json"] = ",".join(encoded)
        return entity

    async def _event(self, row: Any) -> Event:
        encoded = set(filter(None, (row.get("_Json") or "").split(",")))
        event: Event = {}
        for field in row["_Fields"].split(","):
            column = "_Timestamp" if field == "Timestamp" else field
            value = row.get(column)
            blob = row.get(f"{column}BlobName")
            if value is None and blob:
                value = await self._payloads.get(blob)
            if field == "EventType":
                value = event_type_from_name(value)
            elif field in encoded and value is not None:
                value = json.loads(value)
            event[field] = value
        return event


# The most entities a table answers in one page (more is the caller's error).
_PAGE_MOST = 1000
# What a query without values reads of a row: everything a record holds but the input,
# output and custom status (and the names of their blobs), as DTFx's `FetchInput` and
# `FetchOutput` leave columns out of its `select`.
_LEAN_COLUMNS = [
    "PartitionKey", "Name", "ExecutionId", "RuntimeStatus", "CreatedTime", "LastUpdatedTime",
    "CompletedTime", "Version", "ParentInstanceId",
]  # fmt: skip


def _filter(query: InstanceQuery) -> tuple[list[str], dict[str, Any]]:
    """The query's filters the service applies (DTFx `OrchestrationInstanceStatusQueryCondition`),
    so a page holds rows that match rather than rows dropped here: `matches` only checks."""
    clauses: list[str] = ["RowKey eq ''"]
    parameters: dict[str, Any] = {}
    if query.created_from is not None:
        clauses.append("CreatedTime ge @created_from")
        parameters["created_from"] = query.created_from
    if query.created_to is not None:
        clauses.append("CreatedTime le @created_to")
        parameters["created_to"] = query.created_to
    if query.instance_id_prefix:
        prefix = escape_key(query.instance_id_prefix)
        clauses.append("PartitionKey ge @low and PartitionKey lt @high")
        parameters["low"], parameters["high"] = prefix, prefix + "\uffff"
    elif query.entities is False:
        # Entity ids, and only they, start with "@" (orchestration ids may not), and "A"
        # follows it: DTFx's `ExcludeEntities` clause. (Entities are listed by the "@" prefix.)
        clauses.append("(PartitionKey lt '@' or PartitionKey ge 'A')")
    if query.name is not None:
        clauses.append("Name eq @name")
        parameters["name"] = query.name
    if query.statuses:
        names = sorted(status.api_name for status in query.statuses)
        clauses.append("(" + " or ".join(f"RuntimeStatus eq '{n}'" for n in names) + ")")
    return clauses, parameters


def _sentinel_write(entity: dict[str, Any], etag: str | None) -> Write:
    """Create the sentinel, or replace it on the condition that it is unchanged."""
    return Write("insert", entity) if etag is None else Write("put", entity, etag)


# What azure-data-tables puts in a continuation token.
_TOKEN_FIELDS = frozenset({"PartitionKey", "RowKey"})


def _encode_token(token: Any) -> str | None:
    return encode_continuation(token) if token else None


def _decode_token(token: str | None) -> Any:
    return decode_continuation(token, _TOKEN_FIELDS) if token else None


class _Replaced(Exception):
    """A row's large value was replaced (and its blob deleted) while it was being read."""


async def _reread(read: Callable[[], Awaitable[T]]) -> T:
    """`read` again if a value it read was replaced meanwhile: the row read again refers
    to the value that replaced it. A second time means the blob is really gone."""
    try:
        return await read()
    except _Replaced:
        pass
    try:
        return await read()
    except _Replaced as missing:
        raise ResourceNotFoundError(f"A large value of '{missing}' is missing from storage.") from None
