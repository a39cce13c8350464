"""Payloads over the table and queue limits live in `<hub>-largemessages`; a value that
replaces one leaves no blob behind, and purging an instance removes them with it."""

from __future__ import annotations

import uuid

from azure.storage.blob.aio import BlobServiceClient

from devhost.azurite import AzuriteProcess
from devhost.testing import DurableHost
from tests.support.apps import PROTOCOL_APP


async def _blobs(azurite: AzuriteProcess, container: str, prefix: str) -> list[str]:
    async with BlobServiceClient.from_connection_string(azurite.connection_string) as service:
        client = service.get_container_client(container)
        return [blob.name async for blob in client.list_blobs(name_starts_with=prefix)]


async def test_large_payloads_go_to_blobs_and_purge_removes_them(azurite: AzuriteProcess) -> None:
    hub = f"Large{uuid.uuid4().hex[:10]}"
    payload = {"rows": ["y" * 2000 for _ in range(200)]}  # about 400 KB
    async with DurableHost(PROTOCOL_APP, storage="azurite", connection=azurite.connection_string, hub=hub) as host:
        instance = await host.start("echo_back", payload)
        assert (await host.wait(instance)).output == payload
        stored = await _blobs(azurite, f"{hub.lower()}-largemessages", f"{instance}/")
        assert any(name.startswith(f"{instance}/instance-") for name in stored)
        assert any(name.startswith(f"{instance}/history-") for name in stored)
        assert any(name.startswith(f"{instance}/message-") for name in stored)
        assert await host.management.purge(instance) == 1
        assert await _blobs(azurite, f"{hub.lower()}-largemessages", f"{instance}/") == []


async def test_a_large_entity_state_replaced_leaves_one_blob_and_emoji_count_double(azurite: AzuriteProcess) -> None:
    """A table property holds 32 K UTF-16 units: 20,000 emoji are 40,000 of them, so the
    state goes to a blob although it has fewer characters than the limit; each new state
    replaces the last one's blob instead of adding one per batch."""
    hub = f"Replace{uuid.uuid4().hex[:10]}"
    entity = "@notebook@n"
    async with DurableHost(PROTOCOL_APP, storage="azurite", connection=azurite.connection_string, hub=hub) as host:
        for state in ("\U0001F600" * 20_000, "y" * 40_000, "\U0001F680" * 20_000):
            await host.signal_entity("Notebook", "n", "write", state)
            assert await host.read_entity("Notebook", "n") == state
            stored = await _blobs(azurite, f"{hub.lower()}-largemessages", f"{entity}/instance-")
            assert len(stored) == 1, stored


async def test_an_eternal_orchestration_keeps_only_its_current_generations_history_blobs(
    azurite: AzuriteProcess,
) -> None:
    """Each continue-as-new deletes the previous generation's history rows, and with them
    the blobs their large values were in: an eternal orchestration does not pile them up."""
    hub = f"Eternal{uuid.uuid4().hex[:10]}"
    async with DurableHost(PROTOCOL_APP, storage="azurite", connection=azurite.connection_string, hub=hub) as host:
        instance = await host.start("collector")
        for n in range(3):
            await host.raise_event(instance, "Item", f"{n}" * 40_000)
            await host.settle()
        stored = await _blobs(azurite, f"{hub.lower()}-largemessages", f"{instance}/history-")
        row_keys = [name.split("/history-")[1].split("-")[0] for name in stored]
        generations = {row_key[:-12] for row_key in row_keys}  # a row key is generation + 12 hex digits
        assert stored and len(generations) == 1, stored
