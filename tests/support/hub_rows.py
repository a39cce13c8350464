"""A big task hub, made in seconds: instance rows as the Azure store writes them, written
straight through its own row writes, many at once. Real orchestrations cost Azurite
tens of milliseconds each; what reads a hub (the dashboard, queries) sees the same rows
either way, large values kept as blobs included."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from devhost.connections import StorageConnection
from devhost.engine.entities import EntityState
from devhost.ids import new_hex
from devhost.protocol import OrchestrationStatus, entity_instance_id
from devhost.stores.azure.hub import open_hub
from devhost.stores.azure.names import HubNames
from devhost.stores.base import InstanceRecord

_ENDED = {
    OrchestrationStatus.COMPLETED: '{"shipped": 3}',
    OrchestrationStatus.FAILED: "Orchestrator function 'chain' failed: the order was declined",
}
_CONCURRENCY = 64  # row writes in flight at once


def orchestration_row(
    instance_id: str, status: OrchestrationStatus, created: datetime, input_json: str
) -> InstanceRecord:
    """The row of an orchestration started at `created` that ended (Completed, Failed:
    two seconds later) or still waits (Running, Suspended)."""
    ended = created + timedelta(seconds=2) if status in _ENDED else None
    return InstanceRecord(
        instance_id=instance_id, name="chain", execution_id=new_hex(), status=status,
        created_time=created, last_updated_time=ended or created, input=input_json,
        output=_ENDED.get(status), completed_time=ended,
    )  # fmt: skip


def deleted_entity_row(name: str, key: str, when: datetime) -> InstanceRecord:
    """The row an entity leaves once its state was deleted: it stays, not existing."""
    instance_id = entity_instance_id(name, key)
    return InstanceRecord(
        instance_id=instance_id, name=name, execution_id=instance_id,
        status=OrchestrationStatus.RUNNING, created_time=when, last_updated_time=when,
        input=EntityState(exists=False).to_json(),
    )  # fmt: skip


async def write_rows(connection: str, hub: str, records: list[InstanceRecord]) -> None:
    """Writes the rows (and their large values' blobs) into the hub, creating it if new."""
    opened = await open_hub(StorageConnection.of_string(connection), HubNames(hub, partitions=4))
    gate = asyncio.Semaphore(_CONCURRENCY)

    async def write(record: InstanceRecord) -> None:
        async with gate:
            await opened.tables.put_record(record)

    try:
        await asyncio.gather(*(write(record) for record in records))
    finally:
        await opened.close()
