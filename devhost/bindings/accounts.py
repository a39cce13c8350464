"""Storage accounts the app's triggers and bindings name by connection setting.

A binding's `connection` names an app setting (default `AzureWebJobsStorage`). The
WebJobs host looks the name up as given, then with the `AzureWebJobs` prefix (WebJobs
`IConfiguration.GetWebJobsConnectionStringSection`); a name that resolves to nothing
stops the start, naming the function and the setting. Clients are made once per
connection string and closed with the host; the Azure SDKs are imported only when an app
uses a storage binding. The storage extensions' host.json sections (`extensions.queues`,
`extensions.blobs`) travel with the accounts, so output bindings read them too.
"""

from __future__ import annotations

import socket
from collections.abc import Mapping
from typing import Any

from ..errors import StartupError

DEFAULT_CONNECTION = "AzureWebJobsStorage"
# Core Tools' `func start` refusal (`StartHostAction`, `Constants.TriggersWithoutStorage`).
_MISSING_HOST_STORAGE = (
    "Missing value for AzureWebJobsStorage in local.settings.json. This is required for all "
    "triggers other than httptrigger, kafkatrigger, rabbitmqtrigger, orchestrationTrigger, "
    "activityTrigger, entityTrigger. You can run 'func azure functionapp fetch-app-settings "
    "<functionAppName>', specify a connection string in local.settings.json, or use managed "
    "identity to authenticate."
)
# ScriptConstants.MaximumHostIdLength
_MAX_HOST_ID = 32


def connection_setting(binding: Mapping[str, Any]) -> str:
    return str(binding.get("connection") or DEFAULT_CONNECTION)


def extension_section(extensions: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    """host.json `extensions.<name>` (the key matched ignoring case, as the host's
    configuration does), or {}."""
    for key, value in extensions.items():
        if key.lower() == name.lower() and isinstance(value, dict):
            return value
    return {}


class StorageAccounts:
    """The connection strings the app's settings name, and one set of clients each."""

    def __init__(self, settings: Mapping[str, str], extensions: Mapping[str, Any] | None = None) -> None:
        self.settings = settings  # app settings: the environment
        self._extensions: Mapping[str, Any] = extensions or {}
        self._clients: dict[tuple[str, str], Any] = {}

    def extension(self, name: str) -> Mapping[str, Any]:
        return extension_section(self._extensions, name)

    def connection_string(self, setting: str, *, function: str) -> str:
        """The setting's value; a StartupError in the host's words when it has none."""
        for name in (setting, f"AzureWebJobs{setting}"):
            value = self.settings.get(name)
            if value:
                return value
        if any(key.startswith(f"{setting}__") for key in self.settings):
            raise StartupError(
                f"Function '{function}': connection '{setting}' is identity-based "
                f"('{setting}__...' settings); devhost needs a connection string for it."
            )
        raise StartupError(
            f"Error indexing method 'Functions.{function}': Storage account connection string "
            f"'{setting}' does not exist. Make sure that it is a defined App Setting."
        )

    def host_storage(self, *, function: str) -> str:
        """`AzureWebJobsStorage`, where the host keeps what its triggers share between
        hosts (`azure-webjobs-hosts`: timer status, locks, blob receipts), whatever
        connection the trigger itself names."""
        if not self.settings.get(DEFAULT_CONNECTION) and not any(
            key.startswith(f"{DEFAULT_CONNECTION}__") for key in self.settings
        ):
            raise StartupError(_MISSING_HOST_STORAGE)
        return self.connection_string(DEFAULT_CONNECTION, function=function)

    def blobs(self, connection: str) -> Any:
        from azure.storage.blob.aio import BlobServiceClient

        return self._client("blob", connection, BlobServiceClient)

    def queues(self, connection: str) -> Any:
        from azure.storage.queue.aio import QueueServiceClient

        return self._client("queue", connection, QueueServiceClient)

    def tables(self, connection: str) -> Any:
        from azure.data.tables.aio import TableServiceClient

        return self._client("table", connection, TableServiceClient)

    def _client(self, kind: str, connection: str, factory: Any) -> Any:
        from ..stores.azure.hub import CLIENT_OPTIONS

        key = (kind, connection)
        client = self._clients.get(key)
        if client is None:
            try:
                client = factory.from_connection_string(connection, **CLIENT_OPTIONS)
            except ValueError as error:
                raise StartupError(f"A storage connection string is not valid: {error}") from None
            self._clients[key] = client
        return client

    async def close(self) -> None:
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.close()


def host_id(settings: Mapping[str, str], script_path: str, *, virtual_clock: bool = False, hub: str = "") -> str:
    """The id under which the host keeps timer status, blob receipts and locks in
    `azure-webjobs-hosts`: `AzureFunctionsWebHost__hostid` if set, else, as `func start`
    derives it, the machine name's letters and digits, `-`, and a stable hash of the
    app's folder; at most 32 characters, lower case, no trailing `-` (host
    `ScriptHostIdProvider.GetDefaultHostId`, `Utility.GetStableHash`). A virtual clock
    keeps an id of its own per task hub, as it keeps its own task hub: its times run
    ahead of the real clock's, and a hub keeps its own virtual time."""
    configured = settings.get("AzureFunctionsWebHost__hostid")
    if configured:
        return configured.lower()[:_MAX_HOST_ID].rstrip("-")
    machine = "".join(c for c in socket.gethostname().split(".")[0] if c.isalnum())
    identity = f"{machine}-{abs(_stable_hash(script_path))}"
    if virtual_clock:
        suffix = f"-v{abs(_stable_hash(hub)) % 10**6:06d}"
        identity = f"{identity[: _MAX_HOST_ID - len(suffix)]}{suffix}"
    return identity[:_MAX_HOST_ID].lower().rstrip("-")


def _stable_hash(text: str) -> int:
    """C#'s `unchecked { hash = hash * 31 + c }` over UTF-16 code units, from 23."""
    value = 23
    units = text.encode("utf-16-le")
    for n in range(0, len(units), 2):
        value = (value * 31 + int.from_bytes(units[n : n + 2], "little")) & 0xFFFFFFFF
    return value - (1 << 32) if value >= 1 << 31 else value
