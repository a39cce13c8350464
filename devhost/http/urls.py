"""Every URL shape the host hands out: the durable client binding and the management
payload (ext `BindingHelper`, `HttpApiHandler`; docs/protocol.md F)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

WEBHOOK_PATH = "/runtime/webhooks/durabletask"
RPC_PATH = "/durabletask"
INSTANCE_PLACEHOLDER = "INSTANCEID"
DEFAULT_CONNECTION_NAME = "Storage"


class Urls:
    """URLs for one task hub on one origin (`http://localhost:7071`); `system_key`, the
    Durable extension's key, when keys are enforced."""

    def __init__(self, origin: str, hub: str, rpc_origin: str, system_key: str | None = None) -> None:
        self.origin = origin.rstrip("/")
        self.hub = hub
        self.rpc_origin = rpc_origin.rstrip("/")
        self.rpc_base = f"{self.rpc_origin}{RPC_PATH}/"
        self.webhook_base = f"{self.origin}{WEBHOOK_PATH}"
        self.system_key = system_key

    def on_origin(self, origin: str) -> Urls:
        """The same URLs on the origin a caller used (ext `GetClientResponseLinks`)."""
        return Urls(origin, self.hub, self.rpc_origin, self.system_key)

    @property
    def universal_query(self) -> str:
        """ext `GetUniversalQueryStrings`: the query of the webhook URL the host hands the
        extension, `code=<durabletask_extension key>` (host
        `DefaultScriptWebHookProvider.GetExtensionWebHookRoute`); empty here without keys."""
        return f"code={self.system_key}" if self.system_key else ""

    def _query(self, connection: str | None, hub: str | None = None) -> str:
        query = f"taskHub={quote(hub or self.hub)}&connection={quote(connection or DEFAULT_CONNECTION_NAME)}"
        return f"{query}&{self.universal_query}" if self.system_key else query

    def management_urls(
        self, instance_id: str, connection: str | None = None, hub: str | None = None
    ) -> dict[str, str]:
        """The check-status payload: what `create_check_status_response` returns."""
        query = self._query(connection, hub)
        instance = f"{self.webhook_base}/instances/{quote(instance_id, safe='')}"
        return {
            "id": instance_id,
            "statusQueryGetUri": f"{instance}?{query}",
            "sendEventPostUri": f"{instance}/raiseEvent/{{eventName}}?{query}",
            "terminatePostUri": f"{instance}/terminate?reason={{text}}&{query}",
            "rewindPostUri": f"{instance}/rewind?reason={{text}}&{query}",
            "purgeHistoryDeleteUri": f"{instance}?{query}",
            "restartPostUri": f"{instance}/restart?{query}",
            "suspendPostUri": f"{instance}/suspend?reason={{text}}&{query}",
            "resumePostUri": f"{instance}/resume?reason={{text}}&{query}",
        }

    def client_binding(self, connection: str | None = None, hub: str | None = None) -> str:
        """The durable client binding value, given to the function as a JSON string; a
        binding's own `taskHub` goes into its URLs, as ext `BindingHelper` puts it."""
        management = self.management_urls(INSTANCE_PLACEHOLDER, connection, hub)
        management["id"] = INSTANCE_PLACEHOLDER
        # ext `GetInstanceCreationLinks` and `BindingHelper`: only the universal query.
        query = self.universal_query
        orchestrators = f"{self.webhook_base}/orchestrators/{{functionName}}[/{{instanceId}}]"
        binding: dict[str, Any] = {
            "taskHubName": hub or self.hub,
            "connectionName": connection,
            "creationUrls": {
                "createNewInstancePostUri": f"{orchestrators}?{query}",
                "createAndWaitOnNewInstancePostUri": (
                    f"{orchestrators}?timeout={{timeoutInSeconds}}&pollingInterval={{intervalInSeconds}}&{query}"
                ),
            },
            "managementUrls": management,
            "baseUrl": self.webhook_base,
            "requiredQueryStringParameters": query,
            "rpcBaseUrl": self.rpc_base,
            "httpBaseUrl": f"{self.origin}/",
        }
        return json.dumps(binding)
