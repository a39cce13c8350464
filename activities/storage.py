"""Blob Storage access for activities, from the app's `AzureWebJobsStorage` connection.

The setting is a connection string (Azurite, local) or, in Azure, its identity-based form
(`AzureWebJobsStorage__accountName`, `__blobServiceUri`, `__credential`, `__clientId`),
read by the rules the Functions host applies to its own bindings: `AzureWebJobs<Name>`
before `<Name>`, names matched ignoring case, a plain value winning over the section;
the endpoint from `blobServiceUri`, else `https://<accountName>.blob.core.windows.net`,
else `serviceUri`; the credential `ManagedIdentityCredential` for
`credential=managedidentity`, `ClientSecretCredential` for a tenant, client id and secret,
else `DefaultAzureCredential` (azure-functions-host `src/WebJobs.Script/StorageProvider/`,
azure-sdk-for-net Microsoft.Extensions.Azure `ClientFactory.CreateCredential`).

Clients are made per activity run, never at import: the setting is read when used, so
a host or a test can set it after the app is loaded, and no connection (nor credential:
an async one holds a session on the event loop that opened it) outlives its run.
"""

import os
from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, TypeVar

from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.storage.blob import StorageErrorCode
from azure.storage.blob.aio import BlobServiceClient, ContainerClient

CONNECTION_SETTING = "AzureWebJobsStorage"
ENDPOINT_SUFFIX = "core.windows.net"
_WEBJOBS_PREFIX = "AzureWebJobs"
_SEPARATORS = ("__", ":")  # environment variables spell configuration's `:` as `__`

T = TypeVar("T")


class StorageNotConfigured(RuntimeError):
    """Raised when `AzureWebJobsStorage` names no storage account the app can use."""


@dataclass(frozen=True)
class BlobAccount:
    """Where the app's blobs are: a connection string, or an endpoint and the kind of
    token credential (`default`, `managedidentity`, `clientsecret`) that signs in to it."""

    connection_string: str | None = None
    endpoint: str | None = None
    credential: str | None = None
    client_id: str | None = None
    tenant_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)


def blob_account(settings: Mapping[str, str], name: str = CONNECTION_SETTING) -> BlobAccount:
    """The blob account the connection setting `name` names in `settings`."""
    for candidate in (f"{_WEBJOBS_PREFIX}{name}", name):
        value, section = _section(settings, candidate)
        if value:
            return BlobAccount(connection_string=value)
        if section:
            return _identity_account(candidate, section)
    raise StorageNotConfigured(
        f"{name} is not set (as a connection string, or as {name}__accountName); "
        "locally it comes from local.settings.json"
    )


@asynccontextmanager
async def blob_service(**options: Any) -> AsyncIterator[BlobServiceClient]:
    """A client for the app's storage account: `async with blob_service() as service:`.

    `options` tune the client, e.g. `max_chunk_get_size`.
    """
    account = blob_account(os.environ)
    async with AsyncExitStack() as stack:
        if account.connection_string is not None:
            service = BlobServiceClient.from_connection_string(account.connection_string, **options)
        else:
            credential = await stack.enter_async_context(_open_credential(account))
            service = BlobServiceClient(account.endpoint, credential=credential, **options)
        yield await stack.enter_async_context(service)


def _section(settings: Mapping[str, str], name: str) -> tuple[str | None, dict[str, str]]:
    """The setting's own value and its children (keys lower case), matched ignoring case.

    devhost/connections.py reads settings the same way for devhost itself: the app deploys
    without devhost and devhost serves any app, so neither imports the other, and
    tests/unit/test_storage_connections.py runs one table of cases through both."""
    wanted = name.lower()
    value: str | None = None
    children: dict[str, str] = {}
    for key, setting in settings.items():
        lowered = key.lower()
        if lowered == wanted:
            value = setting
            continue
        for separator in _SEPARATORS:
            if lowered.startswith(wanted + separator) and setting:
                children[lowered[len(wanted) + len(separator) :]] = setting
    return value, children


def _identity_account(setting: str, section: Mapping[str, str]) -> BlobAccount:
    account = section.get("accountname")
    endpoint = (
        section.get("blobserviceuri")
        or (f"https://{account}.blob.{ENDPOINT_SUFFIX}" if account else None)
        or section.get("serviceuri")
    )
    if not endpoint:
        raise StorageNotConfigured(
            f"{setting} is identity-based but names no blob endpoint: set {setting}__accountName "
            f"or {setting}__blobServiceUri"
        )
    client_id, tenant_id, secret = section.get("clientid"), section.get("tenantid"), section.get("clientsecret")
    if section.get("credential", "").lower() == "managedidentity":
        credential = "managedidentity"
    elif tenant_id and client_id and secret:
        credential = "clientsecret"
    elif tenant_id and client_id and section.get("clientcertificate"):
        raise StorageNotConfigured(
            f"{setting}__clientCertificate (a certificate store's thumbprint) is not supported here; "
            "use a managed identity or a client secret"
        )
    else:
        credential = "default"
    return BlobAccount(
        endpoint=endpoint.rstrip("/"),
        credential=credential,
        # DefaultAzureCredential is made with no options (the host's global default).
        client_id=client_id if credential != "default" else None,
        tenant_id=tenant_id,
        client_secret=secret if credential == "clientsecret" else None,
    )


def _open_credential(account: BlobAccount) -> Any:
    """The account's async token credential; imported only here, so an app on a
    connection string never loads azure-identity."""
    from azure.identity import aio

    if account.credential == "managedidentity":
        return aio.ManagedIdentityCredential(client_id=account.client_id)
    if account.credential == "clientsecret":
        return aio.ClientSecretCredential(account.tenant_id, account.client_id, account.client_secret)
    return aio.DefaultAzureCredential()


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
