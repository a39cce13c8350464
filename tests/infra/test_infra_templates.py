"""What infra/ would deploy, read offline from the parsed Bicep (tests/support/bicep.py):
the plan and runtime, identity-based storage and telemetry, the role assignments, the
app's settings against the files the app reads them from, and pinned modules."""

from __future__ import annotations

import json
import re
import tomllib
from typing import Any

import pytest

import starters
from tests.support.bicep import INFRA, ROOT, Ref, Template, bicep_files, parsed

# Built-in role definition ids (https://learn.microsoft.com/azure/role-based-access-control/built-in-roles).
BLOB_DATA_OWNER = "b7e6dc6d-f1e8-4753-8033-0f276bb0955b"
QUEUE_DATA_CONTRIBUTOR = "974c5e8b-45b9-4653-ba55-5f855dd0fb88"
TABLE_DATA_CONTRIBUTOR = "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3"
MONITORING_METRICS_PUBLISHER = "3913510d-42f4-4e42-8a64-420c390055eb"
BLOB_DATA_CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"

IDENTITY_PRINCIPAL = Ref("identity.outputs.principalId")
IDENTITY_CLIENT = Ref("identity.outputs.clientId")
IDENTITY_RESOURCE = Ref("identity.outputs.resourceId")
DEPLOYING_USER = "00000000-0000-0000-0000-00000000d0e5"


def deployed(**parameters: Any) -> Template:
    """resources.bicep with the parameters main.bicep hands it, as `azd up` would deploy."""
    main = Template("main.bicep", environmentName="test", location="westeurope", **parameters)
    return Template("resources.bicep", **main.module("app")["params"])


def app_settings(template: Template) -> dict[str, Any]:
    """The function app's app settings, as the site module writes them."""
    configs = template.module("functionApp")["params"]["configs"]
    (settings,) = [config["properties"] for config in configs if config["name"] == "appsettings"]
    return settings


def project_python() -> str:
    """The Python the project declares: the lowest version pyproject.toml allows."""
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    match = re.fullmatch(r">=\s*(\d+\.\d+)", requires)
    assert match, f"requires-python is {requires!r}"
    return match.group(1)


def test_every_bicep_file_parses() -> None:
    names = [path.relative_to(INFRA).as_posix() for path in bicep_files()]
    assert {"main.bicep", "resources.bicep"} <= set(names)
    for name in names:
        assert parsed(name)


def test_flex_consumption_is_the_default_plan() -> None:
    main = Template("main.bicep")
    assert main.allowed("planSku") == ["FC1", "EP1"]
    assert main.parameter("planSku") == "FC1"
    template = deployed()
    plan = template.module("plan")["params"]
    assert (plan["skuName"], plan["kind"], plan["reserved"]) == ("FC1", "functionapp", True)
    site = template.module("functionApp")["params"]
    assert site["kind"] == "functionapp,linux"
    assert site["serverFarmResourceId"] == Ref("plan.outputs.resourceId")
    assert site["functionAppConfig"]["runtime"] == {"name": "python", "version": project_python()}
    assert "linuxFxVersion" not in site["siteConfig"]
    # Flex Consumption refuses the settings that name the runtime: functionAppConfig does.
    assert not {"FUNCTIONS_WORKER_RUNTIME", "FUNCTIONS_EXTENSION_VERSION", "WEBSITE_RUN_FROM_PACKAGE"} & set(
        app_settings(template)
    )


def test_flex_consumption_deploys_into_its_container_with_the_identity() -> None:
    template = deployed()
    storage = template.module("functionApp")["params"]["functionAppConfig"]["deployment"]["storage"]
    container = template.variable("deploymentContainerName")
    assert storage == {
        "type": "blobContainer",
        "value": "${storage.outputs.serviceEndpoints.blob}" + container,
        "authentication": {"type": "UserAssignedIdentity", "userAssignedIdentityResourceId": IDENTITY_RESOURCE},
    }
    containers = template.module("storage")["params"]["blobServices"]["containers"]
    assert container in [c["name"] for c in containers]


def test_the_ep1_parameter_deploys_elastic_premium_running_from_the_package_blob() -> None:
    template = deployed(planSku="EP1")
    plan = template.module("plan")["params"]
    assert (plan["skuName"], plan["kind"], plan["reserved"], plan["zoneRedundant"]) == ("EP1", "elastic", True, False)
    site = template.module("functionApp")["params"]
    assert site["functionAppConfig"] is None
    assert site["siteConfig"]["linuxFxVersion"] == f"Python|{project_python()}"
    settings = app_settings(template)
    assert settings["FUNCTIONS_WORKER_RUNTIME"] == "python"
    assert settings["FUNCTIONS_EXTENSION_VERSION"] == "~4"
    container, blob = template.variable("deploymentContainerName"), template.variable("packageBlobName")
    assert settings["WEBSITE_RUN_FROM_PACKAGE"] == "${storage.outputs.serviceEndpoints.blob}" + f"{container}/{blob}"
    assert settings["WEBSITE_RUN_FROM_PACKAGE_BLOB_MI_RESOURCE_ID"] == IDENTITY_RESOURCE
    # No Azure Files content share: it takes only a connection string with an account key.
    assert not {"WEBSITE_CONTENTAZUREFILECONNECTIONSTRING", "WEBSITE_CONTENTSHARE"} & set(settings)


@pytest.mark.parametrize("plan", ["FC1", "EP1"])
def test_the_host_and_the_app_reach_storage_and_telemetry_with_the_identity(plan: str) -> None:
    template = deployed(planSku=plan)
    site = template.module("functionApp")["params"]
    assert site["managedIdentities"] == {"userAssignedResourceIds": [IDENTITY_RESOURCE]}
    settings = app_settings(template)
    assert "AzureWebJobsStorage" not in settings
    assert settings["AzureWebJobsStorage__accountName"] == Ref("storage.outputs.name")
    assert settings["AzureWebJobsStorage__credential"] == "managedidentity"
    assert settings["AzureWebJobsStorage__clientId"] == IDENTITY_CLIENT
    assert settings["AZURE_CLIENT_ID"] == IDENTITY_CLIENT
    assert settings["APPLICATIONINSIGHTS_CONNECTION_STRING"] == Ref("applicationInsights.outputs.connectionString")
    assert settings["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"] == (
        "ClientId=${identity.outputs.clientId};Authorization=AAD"
    )


def test_the_storage_account_refuses_shared_keys_and_anonymous_reads() -> None:
    storage = deployed().module("storage")["params"]
    assert storage["allowSharedKeyAccess"] is False
    assert storage["defaultToOAuthAuthentication"] is True
    assert storage["allowBlobPublicAccess"] is False
    assert storage["minimumTlsVersion"] == "TLS1_2"
    assert all(c["publicAccess"] == "None" for c in storage["blobServices"]["containers"])


@pytest.mark.parametrize("plan", ["FC1", "EP1"])
def test_the_identity_holds_exactly_the_three_storage_roles(plan: str) -> None:
    assignments = deployed(planSku=plan, principalId=DEPLOYING_USER).module("storage")["params"]["roleAssignments"]
    assert sorted(a["roleDefinitionIdOrName"] for a in assignments) == sorted(
        [BLOB_DATA_OWNER, QUEUE_DATA_CONTRIBUTOR, TABLE_DATA_CONTRIBUTOR]
    )
    assert all(a["principalId"] == IDENTITY_PRINCIPAL and a["principalType"] == "ServicePrincipal" for a in assignments)


def test_application_insights_takes_telemetry_only_from_the_identity() -> None:
    template = deployed()
    insights = template.module("applicationInsights")["params"]
    assert insights["disableLocalAuth"] is True
    assert insights["workspaceResourceId"] == Ref("logAnalytics.outputs.resourceId")
    assert insights["roleAssignments"] == [
        {
            "roleDefinitionIdOrName": MONITORING_METRICS_PUBLISHER,
            "principalId": IDENTITY_PRINCIPAL,
            "principalType": "ServicePrincipal",
        }
    ]
    assert template.module("logAnalytics")["params"]["features"] == {"disableLocalAuth": True}


@pytest.mark.parametrize(
    ("parameters", "uploaders"),
    [
        ({"principalId": DEPLOYING_USER}, []),
        ({"planSku": "EP1", "principalId": DEPLOYING_USER}, [DEPLOYING_USER]),
        ({"planSku": "EP1"}, []),
    ],
)
def test_only_on_ep1_may_the_deploying_user_write_the_package_container(
    parameters: dict[str, str], uploaders: list[str]
) -> None:
    template = deployed(**parameters)
    containers = {c["name"]: c for c in template.module("storage")["params"]["blobServices"]["containers"]}
    package = containers[template.variable("deploymentContainerName")]
    assert [(a["roleDefinitionIdOrName"], a["principalId"]) for a in package.get("roleAssignments", [])] == [
        (BLOB_DATA_CONTRIBUTOR, user) for user in uploaders
    ]
    assert all("roleAssignments" not in c for name, c in containers.items() if c is not package)


def test_the_app_settings_default_to_what_the_app_runs_with_locally() -> None:
    local = json.loads((ROOT / "local.settings.json").read_text())["Values"]
    host = json.loads((ROOT / "host.json").read_text())
    template = deployed()
    settings = app_settings(template)
    for name in (starters.SCHEDULE_SETTING, starters.CONTAINER_SETTING, starters.PREFIX_SETTING):
        assert settings[name] == local[name], name
    hub = host["extensions"]["durableTask"]["hubName"]
    assert settings["AzureFunctionsJobHost__extensions__durableTask__hubName"] == hub
    storage = template.module("storage")["params"]
    assert local[starters.CONTAINER_SETTING] in [c["name"] for c in storage["blobServices"]["containers"]]
    # The host's queue listener waits for a missing queue rather than creating it.
    assert [q["name"] for q in storage["queueServices"]["queues"]] == [starters.ORDERS_QUEUE]


def test_no_account_keys_or_connection_strings_in_infra() -> None:
    # The Application Insights connection string names the component and its endpoint,
    # no credential: with local auth disabled, ingestion takes an Entra token.
    allowed = "APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsights.outputs.connectionString"
    forbidden = re.compile(
        r"listkeys|accountkey|accesskey|sharedaccesssignature|sastoken|defaultendpointsprotocol"
        r"|usedevelopmentstorage|connectionstring|connection_string|azurefilesconnection",
        re.IGNORECASE,
    )
    files = [path for path in INFRA.rglob("*") if path.is_file()] + [ROOT / "azure.yaml"]
    for path in files:
        text = path.read_text().replace(allowed, "")
        assert not forbidden.search(text), f"{path.relative_to(ROOT)}: {forbidden.search(text)}"


def test_every_module_is_pinned_to_an_exact_version() -> None:
    registry_modules = 0
    for path in bicep_files():
        for name, module in parsed(path.relative_to(INFRA).as_posix())["modules"].items():
            if module["type"] == "local":
                assert (path.parent / module["detail"]["path"]).is_file(), name
                continue
            registry_modules += 1
            detail = module["detail"]
            assert detail["public"] and detail["path"].startswith("avm/"), f"{name}: not an Azure Verified Module"
            assert re.fullmatch(r"\d+\.\d+\.\d+", detail["tag"]), f"{name}: {detail['tag']!r} is no exact version"
    assert registry_modules >= 6


def test_azd_gets_the_outputs_and_the_parameters_it_needs() -> None:
    main = parsed("main.bicep")
    given = json.loads((INFRA / "main.parameters.json").read_text())["parameters"]
    required = {name for name, p in main["parameters"].items() if p["default"] is None}
    assert required <= set(given)
    assert given["planSku"]["value"] == "${AZURE_PLAN_SKU=FC1}"
    outputs = Template("main.bicep")
    values = {name: outputs.value(o["value"]) for name, o in main["outputs"].items()}
    assert values["AZURE_FUNCTION_NAME"] == Ref("app.outputs.functionAppName")
    # Each output main.bicep reads from the module is one resources.bicep declares.
    declared = set(parsed("resources.bicep")["outputs"])
    read = {v.expression.removeprefix("app.outputs.") for v in values.values() if isinstance(v, Ref)}
    assert read - {"rg.name", "tenant().tenantId"} <= declared


def test_azd_deploys_the_root_app_to_the_tagged_site() -> None:
    services = re.search(r"^services:\n((?:  .*\n)+)", (ROOT / "azure.yaml").read_text(), re.MULTILINE)
    assert services, "azure.yaml has no services"
    (service,) = re.findall(r"^  (\w[\w-]*):$", services.group(1), re.MULTILINE)
    for field in ("project: .", "language: python", "host: function"):
        assert f"    {field}\n" in services.group(1)
    tags = deployed().module("functionApp")["params"]["tags"]
    assert tags["azd-service-name"] == service
    assert (ROOT / "function_app.py").is_file()
