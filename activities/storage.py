"""Blob Storage access for activities, from the app's `AzureWebJobsStorage` connection.

Clients are made per activity run, never at import: the setting is read when used, so
a host or a test can set it after the app is loaded, and no connection outlives its run.
"""

import os
from typing import Any

from azure.core.exceptions import ResourceExistsError
from azure.storage.blob.aio import BlobServiceClient, ContainerClient

CONNECTION_SETTING = "AzureWebJobsStorage"


class StorageNotConfigured(RuntimeError):
    """Raised when `AzureWebJobsStorage` is not set, so no storage account is known."""


def blob_service(**options: Any) -> BlobServiceClient:
    """A client for the app's storage account: `async with blob_service() as service:`.

    `options` tune the client, e.g. `max_chunk_get_size`.
    """
    connection = os.environ.get(CONNECTION_SETTING)
    if not connection:
        raise StorageNotConfigured(
            f"{CONNECTION_SETTING} is not set; locally it comes from local.settings.json"
        )
    return BlobServiceClient.from_connection_string(connection, **options)


async def ensure_container(service: BlobServiceClient, name: str) -> ContainerClient:
    """The container `name`, created on first use."""
    container = service.get_container_client(name)
    try:
        await container.create_container()
    except ResourceExistsError:
        pass  # Another run created it first: exactly what we wanted.
    return container
