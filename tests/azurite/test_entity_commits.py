"""Azure store commits: entity state writes are conditional on the row's ETag, as
orchestration checkpoints are on the sentinel's (two hosts can never both commit a
batch of one entity), and a new history generation removes the older ones' rows."""

from __future__ import annotations

import uuid

import pytest
from azure.data.tables.aio import TableServiceClient
from azure.storage.blob.aio import BlobServiceClient

from devhost.clock import SystemClock
from devhost.connections import StorageConnection
from devhost.protocol import OPERATION_EVENT_NAME, EntityRequest, OrchestrationStatus, events
from devhost.stores.azure import AzureStore
from devhost.stores.azure.payloads import LargePayloads
from devhost.stores.azure.tables import HubTables, _row_key
from devhost.azurite import AzuriteProcess
from devhost.stores.base import Checkpoint, ConflictError, InstanceRecord, Message
from devhost.supervision import Supervisor


async def test_a_second_commit_of_the_same_entity_read_loses(azurite: AzuriteProcess) -> None:
    clock = SystemClock()
    store = AzureStore(connection=StorageConnection.of_string(azurite.connection_string), hub=f"Ent{uuid.uuid4().hex[:10]}", clock=clock)
    loops = Supervisor(store.unavailable_errors)
    await store.open(loops)
    try:
        signal = EntityRequest(id=str(uuid.uuid4()), operation="add", is_signal=True, input='"1"').to_json()
        await store.send([Message("@counter@k", events.event_raised(clock.now(), OPERATION_EVENT_NAME, signal))])
        item = await store.next_work_item()
        assert item.record is None
        # Meanwhile another host committed the entity's first batch.
        other = InstanceRecord(
            "@counter@k", "Counter", "x", OrchestrationStatus.RUNNING, clock.now(), clock.now(),
            input='{"exists": true, "state": "5"}',
        )  # fmt: skip
        await store.hub.tables.put_record(other, create=True)
        mine = other.copy(input='{"exists": true, "state": "1"}')
        with pytest.raises(ConflictError):
            await store.commit(item, Checkpoint(record=mine, consumed=list(item.messages)))
        assert (await store.get_record("@counter@k")) == other
    finally:
        await loops.stop()
        await store.close()


async def test_history_rows_of_older_generations_go_even_past_generation_ffff(azurite: AzuriteProcess) -> None:
    """A generation past FFFF gets a fifth digit, so its row keys no longer sort after the
    old ones: a new generation's cleanup tells rows apart by generation, not by order."""
    name = f"Gen{uuid.uuid4().hex[:10]}"
    async with (
        TableServiceClient.from_connection_string(azurite.connection_string) as service,
        BlobServiceClient.from_connection_string(azurite.connection_string) as blobs,
    ):
        history = await service.create_table(name)
        container = await blobs.create_container(name.lower())
        keys = [_row_key(0xFFFF, 0), _row_key(0xFFFF, 1), _row_key(0x10000, 0), "sentinel"]
        for key in keys:
            await history.create_entity({"PartitionKey": "i", "RowKey": key})
        tables = HubTables(service.get_table_client("unused"), history, LargePayloads(container), name)
        await tables._delete_rows("i", keep_generation=0x10000)
        left = [row["RowKey"] async for row in history.query_entities("PartitionKey eq 'i'")]
        await service.delete_table(name)
        await container.delete_container()
    assert sorted(left) == sorted([_row_key(0x10000, 0), "sentinel"])
