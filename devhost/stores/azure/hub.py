"""Opening a task hub on a storage account: the clients, and the tables, queues and
containers the hub needs, created if missing (as the extension creates them at start)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from azure.core.exceptions import HttpResponseError, ResourceExistsError, ServiceRequestError
from azure.data.tables.aio import TableServiceClient
from azure.storage.blob.aio import BlobServiceClient, ContainerClient
from azure.storage.queue.aio import QueueClient, QueueServiceClient

from ...connections import Credentials, StorageConnection
from ...errors import StartupError
from .names import HubNames
from .payloads import LargePayloads
from .queues import MessageCodec
from .tables import HubTables

_STARTUP_TIMEOUT_S = 20.0
# Retries inside one storage call stay short: the supervisor and the engine retry the
# work itself. (The queue and blob SDKs' own defaults wait 15 s, then 18 s, then 24 s,
# ±3 s, before their retries: a stalled poller or a request answering 503 only after a
# minute. `initial_backoff`/`increment_base`/`random_jitter_range` are theirs; the
# Tables SDK reads `retry_backoff_factor`.)
CLIENT_OPTIONS: dict[str, Any] = {
    "retry_total": 3,
    "retry_backoff_factor": 0.2,
    "initial_backoff": 0.5,
    "increment_base": 1.5,
    "random_jitter_range": 0.2,
    "connection_timeout": 5,
}


@dataclass
class Hub:
    name: str
    services: list[Any]
    tables: HubTables
    payloads: LargePayloads
    codec: MessageCodec
    control: list[QueueClient]
    work_items: QueueClient
    leases: ContainerClient
    credentials: Credentials

    async def close(self) -> None:
        await _close(self.services, self.credentials)


async def open_hub(connection: StorageConnection, names: HubNames) -> Hub:
    """The hub's clients; a StartupError saying why if the account cannot be used."""
    credentials = Credentials()
    services: list[Any] = []
    try:
        tables: TableServiceClient = _opened(services, connection.client("table", credentials, **CLIENT_OPTIONS))
        queues: QueueServiceClient = _opened(services, connection.client("queue", credentials, **CLIENT_OPTIONS))
        blobs: BlobServiceClient = _opened(services, connection.client("blob", credentials, **CLIENT_OPTIONS))
        await asyncio.wait_for(connection.sign_in(credentials), _STARTUP_TIMEOUT_S)
        await asyncio.wait_for(_create(names, tables, queues, blobs), _STARTUP_TIMEOUT_S)
    except StartupError:
        await _close(services, credentials)
        raise
    except (TimeoutError, ServiceRequestError, OSError) as error:
        await _close(services, credentials)
        raise StartupError(
            f"Cannot reach Azure Storage at {tables.url} ({type(error).__name__}): is Azurite "
            "running? Start it with `make azurite`, or pass --connection."
        ) from None
    except HttpResponseError as error:
        await _close(services, credentials)
        reason = (error.message or str(error)).splitlines()[0]
        raise StartupError(f"Azure Storage refused the task hub's resources: {reason}") from None
    payloads = LargePayloads(blobs.get_container_client(names.large_messages_container))
    return Hub(
        name=names.hub,
        services=services,
        tables=HubTables(
            tables.get_table_client(names.instances_table),
            tables.get_table_client(names.history_table),
            payloads,
            names.hub,
        ),
        payloads=payloads,
        codec=MessageCodec(payloads),
        control=[queues.get_queue_client(names.control_queue(p)) for p in range(names.partitions)],
        work_items=queues.get_queue_client(names.work_item_queue),
        leases=blobs.get_container_client(names.leases_container),
        credentials=credentials,
    )


def _opened(services: list[Any], client: Any) -> Any:
    """`client`, kept in `services` so that a failed start closes what it opened."""
    services.append(client)
    return client


async def _create(
    names: HubNames, tables: TableServiceClient, queues: QueueServiceClient, blobs: BlobServiceClient
) -> None:
    steps: list[tuple[Callable[[str], Awaitable[Any]], str]] = [
        *((tables.create_table, table) for table in (names.instances_table, names.history_table)),
        *((queues.create_queue, names.control_queue(p)) for p in range(names.partitions)),
        (queues.create_queue, names.work_item_queue),
        *((blobs.create_container, c) for c in (names.large_messages_container, names.leases_container)),
    ]
    for create, name in steps:
        with contextlib.suppress(ResourceExistsError):
            await create(name)


async def _close(services: list[Any], credentials: Credentials) -> None:
    for service in services:
        await service.close()
    await credentials.close()
