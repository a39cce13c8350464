"""Blob containers of one test, and waits on what a blob-triggered function left behind,
read with the official SDK."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Optional, TypeVar

import pytest
from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob.aio import BlobServiceClient
from azure.storage.queue.aio import QueueClient

T = TypeVar("T")


@dataclass(frozen=True)
class BlobTestbed:
    """The containers blob_app reads its settings for, and the host id of this test (so
    its receipts and blob trigger queue are its own)."""

    connection: str
    inbox: str
    outbox: str
    failing: str
    data: str
    host_id: str

    @classmethod
    def create(cls, connection: str, monkeypatch: pytest.MonkeyPatch) -> "BlobTestbed":
        suffix = uuid.uuid4().hex[:10]
        testbed = cls(
            connection, f"in-{suffix}", f"out-{suffix}", f"fail-{suffix}", f"data-{suffix}", f"blobs-{suffix}"
        )
        for setting, value in (
            ("BLOB_IN", testbed.inbox),
            ("BLOB_OUT", testbed.outbox),
            ("BLOB_FAIL", testbed.failing),
            ("BLOB_DATA", testbed.data),
            ("AzureFunctionsWebHost__hostid", testbed.host_id),
        ):
            monkeypatch.setenv(setting, value)
        return testbed

    def service(self) -> BlobServiceClient:
        return BlobServiceClient.from_connection_string(self.connection)

    async def put(self, container: str, name: str, content: bytes, **options: object) -> str:
        """Uploads (overwrites) a blob, creating its container; its ETag."""
        async with self.service() as service:
            client = service.get_container_client(container)
            if not await client.exists():
                await client.create_container()
            uploaded = await client.get_blob_client(name).upload_blob(content, overwrite=True, **options)
            return str(uploaded["etag"])

    async def read(self, container: str, name: str) -> Optional[bytes]:
        async with self.service() as service:
            try:
                return await (await service.get_blob_client(container, name).download_blob()).readall()
            except ResourceNotFoundError:
                return None

    async def names(self, container: str, prefix: str = "") -> list[str]:
        async with self.service() as service:
            try:
                return [
                    b.name async for b in service.get_container_client(container).list_blobs(name_starts_with=prefix)
                ]
            except ResourceNotFoundError:
                return []

    async def queue_drained(self) -> bool:
        """No message left in the host's blob trigger queue, invisible ones included: every
        blob version queued so far has been run (or poisoned)."""
        queue = QueueClient.from_connection_string(self.connection, f"azure-webjobs-blobtrigger-{self.host_id}")
        async with queue:
            try:
                return (await queue.get_queue_properties()).approximate_message_count == 0
            except ResourceNotFoundError:
                return True
