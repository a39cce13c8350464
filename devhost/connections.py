"""Storage connections as the Functions host reads them from app settings: a connection
string, or an identity-based section (`<Name>__accountName`, `__blobServiceUri`, ...).

The lookup is WebJobs' `GetWebJobsConnectionSection`: `AzureWebJobs<Name>` first, then
`<Name>` (azure-webjobs-sdk `src/Microsoft.Azure.WebJobs.Host/Extensions/
IConfigurationExtensions.cs`); a section exists if it has a value or any child setting,
and its keys match ignoring case, as .NET configuration's do. A value is a connection
string and wins over the section's children (`StorageClientProvider.IsConnectionStringPresent`,
azure-functions-host `src/WebJobs.Script/StorageProvider/`). Otherwise each service's
endpoint is its own `<service>ServiceUri`, else `https://<accountName>.<service>.core.windows.net`
(`StorageServiceUriOptions`, same folder); the blob service alone also takes `serviceUri`
(the `BlobServiceClient(Uri serviceUri, TokenCredential)` constructor that Microsoft.Extensions.Azure's
`ClientFactory` falls back to). The credential is `ClientFactory.CreateCredential`'s:
`credential=managedidentity` is a `ManagedIdentityCredential` (with `clientId`, a
user-assigned identity); `tenantId`, `clientId` and `clientSecret` a `ClientSecretCredential`;
anything else the global default, `DefaultAzureCredential`.

The app's activities/storage.py resolves its own connection by the same rules: the app
deploys without devhost, and devhost never imports the app's modules.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

from .errors import StartupError
from .extras import require_azure_identity, require_azure_storage
from .loopback import is_loopback_name

Service = Literal["blob", "queue", "table"]
DEFAULT_CONNECTION = "AzureWebJobsStorage"
_WEBJOBS_PREFIX = "AzureWebJobs"
_SEPARATORS = ("__", ":")  # environment variables spell configuration's `:` as `__`
ENDPOINT_SUFFIX = "core.windows.net"
# The token audience of blobs, queues and tables alike (the SDKs' default scope).
STORAGE_SCOPE = "https://storage.azure.com/.default"


@dataclass(frozen=True)
class Credential:
    """Which token credential an identity-based connection signs in with."""

    kind: Literal["default", "managedidentity", "clientsecret"]
    client_id: str | None = None
    tenant_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)

    def open(self) -> Any:
        """A new async credential (azure.identity.aio), for the caller to close."""
        from azure.identity import aio

        if self.kind == "managedidentity":
            return aio.ManagedIdentityCredential(client_id=self.client_id)
        if self.kind == "clientsecret":
            assert self.tenant_id and self.client_id and self.client_secret
            return aio.ClientSecretCredential(self.tenant_id, self.client_id, self.client_secret)
        return aio.DefaultAzureCredential()


@dataclass(frozen=True)
class StorageConnection:
    """One storage account as a connection setting names it. Equal connections share
    clients; `setting` is only for messages."""

    connection_string: str | None = None
    endpoints: tuple[tuple[Service, str], ...] = ()
    credential: Credential | None = None
    setting: str = field(default=DEFAULT_CONNECTION, compare=False)

    @classmethod
    def of_string(cls, connection_string: str, setting: str = DEFAULT_CONNECTION) -> StorageConnection:
        return cls(connection_string=connection_string, setting=setting)

    def require_sdks(self, needed_by: str) -> None:
        """A StartupError naming `needed_by` unless the SDKs this connection needs are
        installed (azure-identity too for an identity-based one)."""
        require_azure_storage(needed_by)
        if self.credential is not None:
            require_azure_identity(needed_by)

    def endpoint(self, service: Service) -> str:
        """The service's URI; a StartupError naming the settings that would give it."""
        for name, uri in self.endpoints:
            if name == service:
                return uri
        raise StartupError(
            f"Connection '{self.setting}' is identity-based but gives no {service} endpoint: set "
            f"'{self.setting}__accountName' or '{self.setting}__{service}ServiceUri'."
        )

    async def sign_in(self, credentials: Credentials) -> None:
        """Gets a token for storage now, so that a start whose identity cannot sign in
        stops with that reason rather than as a storage refusal; the credential caches it
        for the clients. Nothing to do for a connection string."""
        if self.credential is None:
            return
        from azure.core.exceptions import AzureError

        try:
            await credentials.get(self.credential).get_token(STORAGE_SCOPE)
        except AzureError as error:  # CredentialUnavailableError, an endpoint's refusal, no answer
            reason = (error.message or type(error).__name__).splitlines()[0]
            raise StartupError(f"No sign-in to Azure Storage (connection '{self.setting}'): {reason}") from None

    def client(self, service: Service, credentials: Credentials, **options: Any) -> Any:
        """A service client (the async SDKs) on this account; `credentials` keeps the
        token credential it signs in with, for the caller to close with its clients.

        On a loopback endpoint (Azurite) the client ignores the environment's proxy and
        netrc settings, which cannot apply there: aiohttp otherwise reads ~/.netrc in a
        thread before every request, a thread hop per storage call that cost a busy host
        a tenth of its time."""
        factory = _client_type(service)
        url = self._url(service)
        if url is not None and is_loopback_name(urlsplit(url).hostname or ""):
            options = {"use_env_settings": False, **options}
        if self.connection_string is not None:
            try:
                return factory.from_connection_string(self.connection_string, **options)
            except ValueError as error:
                raise StartupError(f"The storage connection string is not valid: {error}") from None
        assert self.credential is not None
        return factory(self.endpoint(service), credential=credentials.get(self.credential), **options)

    def _url(self, service: Service) -> str | None:
        """The service's endpoint as the settings give it, if they do."""
        if self.connection_string is None:
            return dict(self.endpoints).get(service)
        parts = dict(part.split("=", 1) for part in self.connection_string.split(";") if "=" in part)
        if parts.get("UseDevelopmentStorage", "").lower() == "true":
            return "http://127.0.0.1"
        return parts.get(f"{service.capitalize()}Endpoint")


class Credentials:
    """The token credentials a set of clients signs in with, one per kind of credential
    (its tokens are cached in it), closed together."""

    def __init__(self) -> None:
        self._open: dict[Credential, Any] = {}

    def get(self, credential: Credential) -> Any:
        opened = self._open.get(credential)
        if opened is None:
            opened = self._open[credential] = credential.open()
        return opened

    async def close(self) -> None:
        opened, self._open = list(self._open.values()), {}
        for credential in opened:
            await credential.close()


def find_connection(settings: Mapping[str, str], name: str) -> StorageConnection | None:
    """The connection `name` resolves to in `settings`, or None if neither
    `AzureWebJobs<name>` nor `<name>` is set, as a value or as a section."""
    for candidate in (f"{_WEBJOBS_PREFIX}{name}", name):
        value, children = _section(settings, candidate)
        if value:
            return StorageConnection.of_string(value, candidate)
        if children:
            return _identity_connection(candidate, children)
    return None


def _section(settings: Mapping[str, str], name: str) -> tuple[str | None, dict[str, str]]:
    """The setting's own value and its children (keys lower case), matched ignoring case."""
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


def _identity_connection(setting: str, children: Mapping[str, str]) -> StorageConnection:
    account = children.get("accountname")
    endpoints: list[tuple[Service, str]] = []
    services: tuple[Service, ...] = ("blob", "queue", "table")
    for service in services:
        uri = children.get(f"{service}serviceuri")
        if not uri and account:
            uri = f"https://{account}.{service}.{ENDPOINT_SUFFIX}"
        if not uri and service == "blob":
            uri = children.get("serviceuri")
        if uri:
            endpoints.append((service, uri.rstrip("/")))
    return StorageConnection(endpoints=tuple(endpoints), credential=_credential(setting, children), setting=setting)


def _credential(setting: str, children: Mapping[str, str]) -> Credential:
    client_id = children.get("clientid")
    tenant_id = children.get("tenantid")
    if children.get("credential", "").lower() == "managedidentity":
        return Credential("managedidentity", client_id=client_id)
    if tenant_id and client_id and children.get("clientsecret"):
        secret = children["clientsecret"]
        return Credential("clientsecret", client_id=client_id, tenant_id=tenant_id, client_secret=secret)
    if tenant_id and client_id and children.get("clientcertificate"):
        raise StartupError(
            f"Connection '{setting}': a certificate from a certificate store ('{setting}__clientCertificate') "
            "is not supported by devhost; use a client secret, a managed identity or your developer sign-in."
        )
    return Credential("default")


def _client_type(service: Service) -> Any:
    if service == "blob":
        from azure.storage.blob.aio import BlobServiceClient

        return BlobServiceClient
    if service == "queue":
        from azure.storage.queue.aio import QueueServiceClient

        return QueueServiceClient
    from azure.data.tables.aio import TableServiceClient

    return TableServiceClient
