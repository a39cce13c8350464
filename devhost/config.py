"""host.json, local.settings.json and command-line options folded into one HostConfig.

As with `func start`: `local.settings.json` `Values` go into the environment unless a
variable is already set (while the host runs: environment.py), host.json supplies the
Durable settings, and the task hub
name comes from `--hub`, else `extensions.durableTask.hubName` (with `%Setting%`
references resolved), else `WEBSITE_SITE_NAME`, else `TestHubName`.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import re
from collections import ChainMap
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .connections import DEFAULT_CONNECTION, StorageConnection, find_connection
from .engine.dispatcher import EngineSettings
from .engine.versioning import FailureStrategy, MatchStrategy, Versioning, parse_strategy
from .errors import StartupError
from .http.guard import GuardSettings
from .http.server import REQUEST_HEADERS_TIMEOUT_S
from .triggers.timespans import setting_seconds

logger = logging.getLogger(__name__)

DEFAULT_HUB = "TestHubName"
# Kestrel's default request body limit in the Functions host (100 MB).
DEFAULT_MAX_REQUEST_BYTES = 100 * 1024 * 1024
# DTFx's ControlQueueVisibilityTimeout and WorkItemQueueVisibilityTimeout defaults.
DEFAULT_VISIBILITY_S = 300.0
QUEUE_VISIBILITY_LIMIT_S = 7 * 24 * 3600  # the longest an Azure queue keeps a message invisible
_SETTING_REFERENCE = re.compile(r"^%(?P<name>[^%]+)%$")


@dataclass(frozen=True)
class HostConfig:
    app_dir: Path
    host: str = "127.0.0.1"
    port: int = 7071
    storage: str = "memory"
    # The durable store's account: --connection, else the setting host.json's
    # `storageProvider.connectionName` names (default AzureWebJobsStorage).
    connection: StorageConnection | None = None
    hub: str = DEFAULT_HUB
    virtual_clock: bool = False
    route_prefix: str = "api"
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES
    engine: EngineSettings = field(default_factory=EngineSettings)
    partition_count: int = 4
    # storageProvider.controlQueueBufferThreshold: control messages this host holds at most.
    control_queue_buffer: int = 256
    # storageProvider.controlQueueVisibilityTimeout / workItemQueueVisibilityTimeout: how
    # long a message this host received stays invisible to others (renewed while held).
    control_visibility_s: float = DEFAULT_VISIBILITY_S
    work_item_visibility_s: float = DEFAULT_VISIBILITY_S
    guard: GuardSettings = field(default_factory=GuardSettings)
    # Kestrel's RequestHeadersTimeout; tests of slow clients shorten it.
    request_headers_timeout: float = REQUEST_HEADERS_TIMEOUT_S
    # host.json `extensions`, for the triggers' settings (`queues`, `blobs`).
    extensions: dict[str, Any] = field(default_factory=dict)
    # host.json `singleton`, the lock periods of listeners only one host runs (timers).
    singleton: dict[str, Any] = field(default_factory=dict)
    # local.settings.json `Values`, which the host puts into the environment while it runs.
    app_settings: dict[str, str] = field(default_factory=dict)
    # `--enforce-keys`: function, master and system keys required as in Azure (function_keys.py).
    enforce_keys: bool = False

    @property
    def route_path(self) -> str:
        """What HTTP function routes start with: `/api`, or nothing when host.json sets
        `routePrefix` to empty."""
        return f"/{self.route_prefix}" if self.route_prefix else ""


def public_origin(host: str, port: int) -> str:
    """The origin URLs are built on, as `func start` prints them (`localhost` for loopback);
    an IPv6 address goes in brackets."""
    shown = "localhost" if host in ("127.0.0.1", "0.0.0.0", "::", "localhost", "") else host
    return f"http://{url_host(shown)}:{port}"


def url_host(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def load_config(
    app_dir: Path,
    *,
    host: str = "127.0.0.1",
    port: int = 7071,
    storage: str = "memory",
    connection: str | None = None,
    hub: str | None = None,
    virtual_clock: bool = False,
    allowed_hosts: tuple[str, ...] = (),
    enforce_keys: bool = False,
    environ: dict[str, str] | None = None,
) -> HostConfig:
    """Reads the app's settings files; settings resolve as the host will see them, from
    `environ` (default `os.environ`) and, where it lacks them, local.settings.json."""
    if not app_dir.is_dir():
        raise StartupError(f"App directory '{app_dir}' does not exist.")
    app_settings = local_settings(app_dir)
    env = ChainMap(os.environ if environ is None else environ, app_settings)
    guard = _guard_settings(app_dir, (*allowed_hosts, host))  # the name it listens on, too
    host_json = with_overrides(read_json(app_dir / "host.json", required=False), env)
    extensions = _section(host_json, "extensions")
    durable = _section(extensions, "durableTask")
    http = _section(extensions, "http")
    provider = _section(durable, "storageProvider")
    engine = EngineSettings(
        max_concurrent_orchestrations=_positive(durable, "maxConcurrentOrchestratorFunctions", 10),
        max_concurrent_activities=_positive(durable, "maxConcurrentActivityFunctions", 10),
        max_entity_batch=_positive(durable, "maxEntityOperationBatchSize", 50),
        versioning=_versioning(durable),
    )
    _warn_unsupported(durable)
    # The extension's `connectionName` (`connectionStringName` before 2.x) names a
    # connection string or an identity-based section (AzureStorageAccountProvider).
    connection_name = str(provider.get("connectionName") or provider.get("connectionStringName") or DEFAULT_CONNECTION)
    resolved_connection = (
        StorageConnection.of_string(connection, "--connection") if connection else find_connection(env, connection_name)
    )
    return HostConfig(
        app_dir=app_dir.resolve(),
        host=host,
        port=port,
        storage=storage,
        connection=resolved_connection,
        hub=hub or _default_hub(durable, env, virtual_clock=virtual_clock and storage != "memory"),
        virtual_clock=virtual_clock,
        route_prefix=str(http.get("routePrefix", "api")).strip("/"),
        engine=engine,
        partition_count=_positive(provider, "partitionCount", 4),
        control_queue_buffer=_positive(provider, "controlQueueBufferThreshold", 256),
        control_visibility_s=_visibility_s(provider, "controlQueueVisibilityTimeout"),
        work_item_visibility_s=_visibility_s(provider, "workItemQueueVisibilityTimeout"),
        guard=guard,
        extensions=extensions,
        singleton=_section(host_json, "singleton"),
        app_settings=app_settings,
        enforce_keys=enforce_keys,
    )


def local_settings(app_dir: Path) -> dict[str, str]:
    """local.settings.json `Values` as the environment would hold them (a null is unset)."""
    settings = read_json(app_dir / "local.settings.json", required=False)
    values = settings.get("Values") or {}
    if not isinstance(values, dict):
        raise StartupError("local.settings.json: 'Values' must be an object of strings.")
    return {name: str(value) for name, value in values.items() if value is not None}


def _guard_settings(app_dir: Path, allowed_hosts: tuple[str, ...]) -> GuardSettings:
    """local.settings.json `Host.CORS` (comma-separated origins, `*` for any) and
    `Host.CORSCredentials`, as `func start` reads them."""
    host = read_json(app_dir / "local.settings.json", required=False).get("Host") or {}
    if not isinstance(host, dict):
        raise StartupError("local.settings.json: 'Host' must be an object.")
    origins = tuple(o.strip().rstrip("/") for o in str(host.get("CORS") or "").split(",") if o.strip())
    credentials = str(host.get("CORSCredentials", "false")).lower() == "true"
    return GuardSettings(cors_origins=origins, cors_credentials=credentials, allowed_hosts=allowed_hosts)


def read_json(path: Path, *, required: bool) -> dict[str, Any]:
    if not path.exists():
        if required:
            raise StartupError(f"'{path}' not found.")
        return {}
    try:
        text = path.read_text(encoding="utf-8-sig")
        content, end = json.JSONDecoder().raw_decode(text.lstrip())
    except (OSError, ValueError) as error:
        raise StartupError(f"'{path}' is not valid JSON: {error}") from error
    if text.lstrip()[end:].strip():
        # The Functions host reads the first JSON object and ignores what follows (one of
        # the SDK's own samples ships such a host.json); say so rather than fail.
        logger.warning("'%s' has content after its first JSON object; it is ignored.", path)
    if not isinstance(content, dict):
        raise StartupError(f"'{path}' must contain a JSON object.")
    return content


def _section(parent: Mapping[str, Any], name: str) -> dict[str, Any]:
    for key, value in parent.items():
        if key.lower() == name.lower() and isinstance(value, dict):
            return value
    return {}


_OVERRIDE_PREFIX = "azurefunctionsjobhost__"


def with_overrides(host_json: dict[str, Any], env: Mapping[str, str]) -> dict[str, Any]:
    """host.json with the settings that override it: `AzureFunctionsJobHost__a__b` sets
    `a.b` (the Functions host's configuration source for host.json; keys match ignoring
    case, as .NET configuration does). A value that reads as a number or a boolean is
    one, as the configuration binder converts it."""
    merged = copy.deepcopy(host_json)
    for key, value in env.items():
        if not key.lower().startswith(_OVERRIDE_PREFIX):
            continue
        *parents, leaf = key[len(_OVERRIDE_PREFIX) :].split("__")
        section = merged
        for name in parents:
            found = next((k for k in section if k.lower() == name.lower()), name)
            if not isinstance(section.get(found), dict):
                section[found] = {}
            section = section[found]
        section[next((k for k in section if k.lower() == leaf.lower()), leaf)] = _converted(value)
    return merged


def _converted(value: str) -> Any:
    if value.lower() in ("true", "false"):
        return value.lower() == "true"
    try:
        return int(value)
    except ValueError:
        return value


def _positive(section: Mapping[str, Any], name: str, default: int) -> int:
    value = section.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise StartupError(f"host.json: '{name}' must be a positive integer, not {value!r}.")
    return value


def _visibility_s(section: Mapping[str, Any], name: str) -> float:
    """A queue visibility TimeSpan, as the extension binds it (DTFx's default: 5 minutes),
    from a second up to the 7 days a queue allows."""
    value = section.get(name)
    if value is None:
        return DEFAULT_VISIBILITY_S
    seconds = setting_seconds(value)
    if seconds is None or not 1 <= seconds <= QUEUE_VISIBILITY_LIMIT_S:
        raise StartupError(f"host.json: '{name}' must be a TimeSpan from 00:00:01 to 7.00:00:00, not {value!r}.")
    return seconds


def _warn_unsupported(durable: Mapping[str, Any]) -> None:
    """Settings whose effect devhost does not reproduce: said once, at start."""
    overridable = str(durable.get("overridableExistingInstanceStates", "NonRunningStates"))
    if overridable.lower() == "anystate":
        logger.warning(
            "host.json: overridableExistingInstanceStates AnyState is not supported; a start "
            "over a live instance is refused (409) as with NonRunningStates."
        )


def _versioning(durable: Mapping[str, Any]) -> Versioning:
    """`defaultVersion`, `versionMatchStrategy`, `versionFailureStrategy`, with the
    extension's defaults (`DurableTaskOptions`): no version, CurrentOrOlder, Reject."""
    settings = {key.lower(): value for key, value in durable.items()}
    default = settings.get("defaultversion")
    if default is not None and not isinstance(default, str):
        raise StartupError(f"host.json: 'defaultVersion' must be a string, not {default!r}.")
    strategies: dict[str, Any] = {}
    for name, kind, field_name in (
        ("versionMatchStrategy", MatchStrategy, "match"),
        ("versionFailureStrategy", FailureStrategy, "failure"),
    ):
        value = settings.get(name.lower())
        if value is None:
            continue
        try:
            strategies[field_name] = parse_strategy(value, kind)
        except ValueError:
            choices = ", ".join("".join(p.capitalize() for p in m.name.split("_")) for m in kind)
            raise StartupError(f"host.json: '{name}' must be one of {choices}, not {value!r}.") from None
    return Versioning(default_version=default, **strategies)


VIRTUAL_CLOCK_HUB_SUFFIX = "VirtualClock"


def _default_hub(durable: Mapping[str, Any], env: Mapping[str, str], *, virtual_clock: bool) -> str:
    """A virtual clock on persistent storage gets a hub of its own unless one is named
    (`--hub`): its times run ahead of the real clock, so they must not meet the data of
    hosts on the real one (`make start`)."""
    name = _hub_name(durable, env)
    if not virtual_clock:
        return name
    return name[: 45 - len(VIRTUAL_CLOCK_HUB_SUFFIX)] + VIRTUAL_CLOCK_HUB_SUFFIX


def _hub_name(durable: Mapping[str, Any], env: Mapping[str, str]) -> str:
    configured = durable.get("hubName")
    if isinstance(configured, str) and configured:
        reference = _SETTING_REFERENCE.match(configured)
        if reference is None:
            return configured
        resolved = env.get(reference.group("name"))
        if resolved:
            return resolved
    return env.get("WEBSITE_SITE_NAME") or DEFAULT_HUB
