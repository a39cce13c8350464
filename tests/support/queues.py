"""The queue app's queues for one test, and the official SDK to put messages on them and
read what is there, as a user (or another program) would."""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from typing import Union

import pytest
from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.storage.queue import QueueMessage
from azure.storage.queue.aio import QueueServiceClient

from devhost.testing import DurableHost
from tests.support.apps import QUEUE_APP

# The app settings that name the queue app's queues.
_SETTINGS = ("ORDERS_QUEUE", "FAIL_QUEUE", "INSPECT_QUEUE", "BINARY_QUEUE", "HOLD_QUEUE", "OUT_QUEUE", "RELAY_QUEUE")


@dataclass(frozen=True)
class Queues:
    """Queue names by setting, this test's own; `connection` is Azurite's."""

    connection: str
    names: dict[str, str]

    def __getitem__(self, setting: str) -> str:
        return self.names[setting]

    def host(self, storage: str = "memory", app_dir: object = QUEUE_APP) -> DurableHost:
        return DurableHost(
            app_dir,  # type: ignore[arg-type]
            storage=storage,
            connection=self.connection if storage == "azurite" else None,
            hub=f"Queues{uuid.uuid4().hex[:10]}",
        )

    async def send(self, queue: str, body: Union[str, bytes], *, encode: bool = True) -> QueueMessage:
        """Puts `body` on the queue: base64 of its bytes (as the host expects by
        default), or its text as it is (`encode=False`)."""
        raw = body.encode() if isinstance(body, str) else body
        text = base64.b64encode(raw).decode() if encode else str(body)
        async with QueueServiceClient.from_connection_string(self.connection) as service:
            queue_client = service.get_queue_client(queue)
            try:
                await queue_client.create_queue()
            except ResourceExistsError:
                pass
            return await queue_client.send_message(text)

    async def peek(self, queue: str) -> list[str]:
        """The message texts visible on the queue now, as storage keeps them."""
        async with QueueServiceClient.from_connection_string(self.connection) as service:
            try:
                return [message.content for message in await service.get_queue_client(queue).peek_messages(32)]
            except ResourceNotFoundError:
                return []

    async def peek_decoded(self, queue: str) -> list[bytes]:
        return [base64.b64decode(text) for text in await self.peek(queue)]

    async def exists(self, queue: str) -> bool:
        async with QueueServiceClient.from_connection_string(self.connection) as service:
            names = [item.name async for item in service.list_queues(name_starts_with=queue)]
        return queue in names


@pytest.fixture
def queues(storage_connection: str, monkeypatch: pytest.MonkeyPatch) -> Queues:
    """Fresh queue names in the app settings the queue app reads."""
    suffix = uuid.uuid4().hex[:10]
    names = {setting: f"{setting.split('_')[0].lower()}-{suffix}" for setting in _SETTINGS}
    for setting, name in names.items():
        monkeypatch.setenv(setting, name)
    return Queues(storage_connection, names)
