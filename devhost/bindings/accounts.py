"""Storage accounts the app's triggers and bindings name by connection setting.

A binding's `connection` names an app setting (default `AzureWebJobsStorage`): a
connection string or an identity-based section, resolved as the host does
(devhost/connections.py); a name that resolves to nothing stops the start, naming the
function and the setting. Clients are made once per connection and closed with the
host, with the token credentials they sign in with; the Azure SDKs are imported only when an app
uses a storage binding. The storage extensions' host.json sections (`extensions.queues`,
`extensions.blobs`) travel with the accounts, so output bindings read them too.
"""

from __future__ import annotations

import socket
from collections.abc import Mapping
from typing import Any

from ..connections import DEFAULT_CONNECTION, Credentials, Service, StorageConnection, find_connection
from ..errors import StartupError

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
    """The connections the app's settings name, and one set of clients each."""

    def __init__(self, settings: Mapping[str, str], extensions: Mapping[str, Any] | None = None) -> None:
        self.settings = settings  # app settings: the environment
        self._extensions: Mapping[str, Any] = extensions or {}
        self._clients: dict[tuple[Service, StorageConnection], Any] = {}
        self._credentials = Credentials()

    def extension(self, name: str) -> Mapping[str, Any]:
        return extension_section(self._extensions, name)

    def connection(self, setting: str, *, function: str) -> StorageConnection:
        """What the setting names (a connection string or an identity-based section); a
        StartupError in the host's words when it names nothing."""
        found = find_connection(self.settings, setting)
        if found is None:
            raise StartupError(
                f"Error indexing method 'Functions.{function}': Storage account connection string "
                f"'{setting}' does not exist. Make sure that it is a defined App Setting."
            )
        found.require_sdks(f"Function '{function}' (connection '{setting}')")
        return found

    def host_storage(self, *, function: str) -> StorageConnection:
        """`AzureWebJobsStorage`, where the host keeps what its triggers share between
        hosts (`azure-webjobs-hosts`: timer status, locks, blob receipts), whatever
        connection the trigger itself names."""
        if find_connection(self.settings, DEFAULT_CONNECTION) is None:
            raise StartupError(_MISSING_HOST_STORAGE)
        return self.connection(DEFAULT_CONNECTION, function=function)

    def blobs(self, connection: StorageConnection) -> Any:
        return self._client("blob", connection)

    def queues(self, connection: StorageConnection) -> Any:
        return self._client("queue", connection)

    def tables(self, connection: StorageConnection) -> Any:
        return self._client("table", connection)

    def _client(self, service: Service, connection: StorageConnection) -> Any:
        from ..stores.azure.hub import CLIENT_OPTIONS

        key = (service, connection)
        client = self._clients.get(key)
        if client is None:
            client = self._clients[key] = connection.client(service, self._credentials, **CLIENT_OPTIONS)
        return client

    async def close(self) -> None:
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.close()
        await self._credentials.close()


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
