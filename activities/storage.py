"""Blob Storage access for activities, from the app's `AzureWebJobsStorage` connection.

Clients are made per activity run, never at import: the setting is read when used, so
a host or a test can set it after the app is loaded, and no connection outlives its run.
"""

import os
from typing import Any, Awaitable, Callable, TypeVar

from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.storage.blob import StorageErrorCode
from azure.storage.blob.aio import BlobServiceClient, ContainerClient

CONNECTION_SETTING = "AzureWebJobsStorage"

T = TypeVar("T")


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


async def write_creating_container(
    service: BlobServiceClient,
    name: str,
    write: Callable[[ContainerClient], Awaitable[T]],
) -> T:
    """Runs `write` against container `name`, creating the container only when it is missing.

    The container nearly always exists, so writing first saves every run a create call
    that would fail with 409. Only `ContainerNotFound` leads to the create and one more
    `write`; any other error (such as a conditional write's ResourceExistsError) reaches
    the caller unchanged. A concurrent run creating the container first is fine.
    """
    container = service.get_container_client(name)
    try:
        return await write(container)
    except ResourceNotFoundError as error:
        if error.error_code != StorageErrorCode.CONTAINER_NOT_FOUND:
            raise
    try:
        await container.create_container()
    except ResourceExistsError:
        pass  # Another run created it first: exactly what we wanted.
    return await write(container)
