"""Entity state writes on the Azure store are conditional on the row's ETag, as
orchestration checkpoints are on the sentinel's: two hosts can never both commit a
batch of one entity; the loser's commit fails and its messages run again."""

from __future__ import annotations

import uuid

import pytest

from devhost.clock import SystemClock
from devhost.protocol import OPERATION_EVENT_NAME, EntityRequest, OrchestrationStatus, events
from devhost.stores.azure import AzureStore
from devhost.azurite import AzuriteProcess
from devhost.stores.base import Checkpoint, ConflictError, InstanceRecord, Message


async def test_a_second_commit_of_the_same_entity_read_loses(azurite: AzuriteProcess) -> None:
    clock = SystemClock()
    store = AzureStore(connection=azurite.connection_string, hub=f"Ent{uuid.uuid4().hex[:10]}", clock=clock)
    await store.open()
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
        await store._tables.put_record(other, create=True)
        mine = other.copy(input='{"exists": true, "state": "1"}')
        with pytest.raises(ConflictError):
            await store.commit(item, Checkpoint(record=mine, consumed=list(item.messages)))
        assert (await store.get_record("@counter@k")) == other
    finally:
        await store.close()
