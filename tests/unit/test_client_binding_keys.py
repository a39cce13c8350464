"""The durable client binding with and without keys: where the extension puts the
`durabletask_extension` key (ext `HttpApiHandler.GetUniversalQueryStrings`,
`GetInstanceCreationLinks`, `GetClientResponseLinks`)."""

from __future__ import annotations

import json

from devhost.http.urls import Urls


def _binding(system_key: str | None) -> dict:
    return json.loads(Urls("http://localhost:7071", "Hub", "http://127.0.0.1:7071", system_key).client_binding())


def test_with_keys_every_webhook_url_carries_the_system_key() -> None:
    binding = _binding("K==")
    assert binding["requiredQueryStringParameters"] == "code=K=="
    creation = binding["creationUrls"]
    assert creation["createNewInstancePostUri"].endswith("/orchestrators/{functionName}[/{instanceId}]?code=K==")
    assert creation["createAndWaitOnNewInstancePostUri"].endswith(
        "?timeout={timeoutInSeconds}&pollingInterval={intervalInSeconds}&code=K=="
    )
    management = binding["managementUrls"]
    assert management["statusQueryGetUri"].endswith("/instances/INSTANCEID?taskHub=Hub&connection=Storage&code=K==")
    assert all(url.endswith("&code=K==") for name, url in management.items() if name != "id")
    assert binding["rpcBaseUrl"] == "http://127.0.0.1:7071/durabletask/"  # the RPC API takes no key


def test_without_keys_no_url_carries_a_code() -> None:
    binding = _binding(None)
    assert binding["requiredQueryStringParameters"] == ""
    assert binding["creationUrls"]["createNewInstancePostUri"].endswith("[/{instanceId}]?")
    assert not any("code=" in url for url in binding["managementUrls"].values())
