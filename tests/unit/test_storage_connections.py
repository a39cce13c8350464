"""App settings to a storage account, as the Functions host reads them: the app's resolver
(activities/storage.py) and devhost's (devhost/connections.py) are two pieces of code, for
the app deploys without devhost; one table of cases holds both to the same answers."""

from __future__ import annotations

from typing import Any

import pytest
from azure.identity import aio as identity

from activities.storage import BlobAccount, StorageNotConfigured, blob_account, blob_service
from devhost.connections import Credentials, StorageConnection, find_connection
from devhost.errors import StartupError

AZURITE = "UseDevelopmentStorage=true"

# settings -> (connection string, blob endpoint, credential kind, client id)
CASES: dict[str, tuple[dict[str, str], tuple[str | None, str | None, str | None, str | None]]] = {
    "a connection string": ({"AzureWebJobsStorage": AZURITE}, (AZURITE, None, None, None)),
    "a connection string wins over the section": (
        {"AzureWebJobsStorage": AZURITE, "AzureWebJobsStorage__accountName": "orders"},
        (AZURITE, None, None, None),
    ),
    "an account name, signed in by DefaultAzureCredential": (
        {"AzureWebJobsStorage__accountName": "orders"},
        (None, "https://orders.blob.core.windows.net", "default", None),
    ),
    "a managed identity, user-assigned": (
        {
            "AzureWebJobsStorage__accountName": "orders",
            "AzureWebJobsStorage__credential": "managedidentity",
            "AzureWebJobsStorage__clientId": "1d2c3b4a",
        },
        (None, "https://orders.blob.core.windows.net", "managedidentity", "1d2c3b4a"),
    ),
    # Without credential=managedidentity the host's global default signs in, given no options.
    "a client id alone keeps the default credential": (
        {"AzureWebJobsStorage__accountName": "orders", "AzureWebJobsStorage__clientId": "1d2c3b4a"},
        (None, "https://orders.blob.core.windows.net", "default", None),
    ),
    "a client secret": (
        {
            "AzureWebJobsStorage__blobServiceUri": "https://orders.blob.core.windows.net",
            "AzureWebJobsStorage__tenantId": "t",
            "AzureWebJobsStorage__clientId": "c",
            "AzureWebJobsStorage__clientSecret": "s",
        },
        (None, "https://orders.blob.core.windows.net", "clientsecret", "c"),
    ),
    "blobServiceUri wins over the account name": (
        {
            "AzureWebJobsStorage__accountName": "orders",
            "AzureWebJobsStorage__blobServiceUri": "https://127.0.0.1:10000/devstoreaccount1/",
        },
        (None, "https://127.0.0.1:10000/devstoreaccount1", "default", None),
    ),
    "serviceUri, for blobs": (
        {"AzureWebJobsStorage__serviceUri": "https://orders.blob.core.windows.net"},
        (None, "https://orders.blob.core.windows.net", "default", None),
    ),
    "names match ignoring case, and the configuration separator": (
        {"AZUREWEBJOBSSTORAGE:ACCOUNTNAME": "orders", "azurewebjobsstorage__Credential": "ManagedIdentity"},
        (None, "https://orders.blob.core.windows.net", "managedidentity", None),
    ),
}


def _app(settings: dict[str, str], name: str = "AzureWebJobsStorage") -> tuple[Any, ...]:
    account: BlobAccount = blob_account(settings, name)
    return (account.connection_string, account.endpoint, account.credential, account.client_id)


def _devhost(settings: dict[str, str], name: str = "AzureWebJobsStorage") -> tuple[Any, ...]:
    connection = find_connection(settings, name)
    assert connection is not None
    if connection.connection_string is not None:
        return (connection.connection_string, None, None, None)
    assert connection.credential is not None
    return (None, connection.endpoint("blob"), connection.credential.kind, connection.credential.client_id)


@pytest.mark.parametrize("resolve", [_app, _devhost], ids=["app", "devhost"])
@pytest.mark.parametrize("case", list(CASES))
def test_settings_resolve_as_the_functions_host_reads_them(case: str, resolve: Any) -> None:
    settings, expected = CASES[case]
    assert resolve(settings) == expected


@pytest.mark.parametrize("resolve", [_app, _devhost], ids=["app", "devhost"])
def test_the_prefixed_name_is_looked_up_first(resolve: Any) -> None:
    settings = {"AzureWebJobsOrders": "prefixed", "Orders": "plain"}
    assert resolve(settings, "Orders")[0] == "prefixed"
    assert resolve({"Orders__accountName": "orders"}, "Orders")[1] == "https://orders.blob.core.windows.net"


def test_the_app_says_what_is_missing() -> None:
    with pytest.raises(StorageNotConfigured, match="AzureWebJobsStorage is not set"):
        blob_account({"OtherStorage": AZURITE})
    with pytest.raises(StorageNotConfigured, match="names no blob endpoint: set AzureWebJobsStorage__accountName"):
        blob_account({"AzureWebJobsStorage__queueServiceUri": "https://orders.queue.core.windows.net"})


def test_devhost_finds_every_service_of_an_account_and_names_a_missing_one() -> None:
    by_account = find_connection({"AzureWebJobsStorage__accountName": "orders"}, "AzureWebJobsStorage")
    assert by_account is not None
    assert [by_account.endpoint(s) for s in ("blob", "queue", "table")] == [
        "https://orders.blob.core.windows.net",
        "https://orders.queue.core.windows.net",
        "https://orders.table.core.windows.net",
    ]
    # serviceUri is the blob service's alone: a queue needs its own URI or the account name.
    blob_only = find_connection({"AzureWebJobsStorage__serviceUri": "https://orders.blob.core.windows.net"}, "AzureWebJobsStorage")
    assert blob_only is not None
    with pytest.raises(StartupError, match="gives no queue endpoint: set 'AzureWebJobsStorage__accountName'"):
        blob_only.endpoint("queue")
    assert find_connection({}, "AzureWebJobsStorage") is None


async def test_devhost_clients_sign_in_with_one_credential_per_kind() -> None:
    connection = find_connection(
        {"Storage__accountName": "orders", "Storage__credential": "managedidentity", "Storage__clientId": "c"}, "Storage"
    )
    assert connection is not None
    credentials = Credentials()
    blobs = connection.client("blob", credentials)
    tables = connection.client("table", credentials)
    try:
        assert blobs.url == "https://orders.blob.core.windows.net/"
        assert tables.url.startswith("https://orders.table.core.windows.net")
        assert isinstance(blobs.credential, identity.ManagedIdentityCredential)
        assert blobs.credential is tables.credential
    finally:
        await blobs.close()
        await tables.close()
        await credentials.close()
    plain = StorageConnection.of_string(AZURITE).client("queue", Credentials())
    assert plain.account_name == "devstoreaccount1"
    await plain.close()


async def test_the_app_signs_in_to_the_named_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AzureWebJobsStorage", raising=False)
    monkeypatch.setenv("AzureWebJobsStorage__accountName", "orders")
    monkeypatch.setenv("AzureWebJobsStorage__credential", "managedidentity")
    async with blob_service() as service:
        assert service.url == "https://orders.blob.core.windows.net/"
        assert isinstance(service.credential, identity.ManagedIdentityCredential)
    monkeypatch.delenv("AzureWebJobsStorage__credential")
    async with blob_service() as service:
        assert isinstance(service.credential, identity.DefaultAzureCredential)
