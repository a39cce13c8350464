"""The host's keys, for `--enforce-keys`: generated once per app, kept as the Functions
host keeps them, and what a key presented with a request grants.

The files are the host's own (`FileSystemSecretsRepository`, `HostSecrets`,
`FunctionSecrets`): `host.json` holds the master key, the host function keys and the
system keys (the Durable extension's `durabletask_extension` among them), and
`<function>.json` (lower case) each function's own keys. They live outside the app's
folder, in `FUNCTIONS_SECRETS_PATH` if set (the host's setting for that folder), else in
the user's data folder under the app's host id, the name `func start` files its secrets
under (`azure-webjobs-secrets/<host id>/` in its storage account): so one app keeps its
keys across restarts, two apps never share them, and no key can end up committed or in
the deployment package. A key added to a file by hand is honoured at the next start.
"""

from __future__ import annotations

import base64
import enum
import hmac
import json
import os
import secrets
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .bindings.accounts import host_id
from .errors import StartupError

# Host ScriptConstants: DefaultMasterKeyName, DefaultFunctionKeyName.
MASTER_KEY_NAME = "master"
DEFAULT_KEY_NAME = "default"
HOST_SECRETS_FILE = "host.json"
SECRETS_PATH_SETTING = "FUNCTIONS_SECRETS_PATH"


def system_key_name(extension: str) -> str:
    """Host `DefaultScriptWebHookProvider.GetKeyName`: an extension's webhook key."""
    return f"{extension}_extension".lower()


DURABLE_SYSTEM_KEY = system_key_name("durabletask")


class Level(enum.Enum):
    """`AuthorizationLevel` (Microsoft.Azure.WebJobs.Extensions.Http), the levels a
    Python app's routes and the host's own routes use."""

    ANONYMOUS = "anonymous"
    FUNCTION = "function"
    SYSTEM = "system"
    ADMIN = "admin"

    @classmethod
    def of_trigger(cls, trigger: Mapping[str, Any]) -> Level:
        """An HTTP trigger's `authLevel` (`function` when absent, the attribute's default)."""
        return cls(str(trigger.get("authLevel") or "function").lower())


@dataclass(frozen=True)
class Grant:
    """What a presented key is: its level and name (none for an unknown key)."""

    level: Level
    name: str | None = None

    def satisfies(self, required: Level, key_name: str | None = None) -> bool:
        """Host `AuthUtility.PrincipalHasAuthLevelClaim`: the master key passes every
        check; otherwise the level must be the one required (a system key opens no
        function) and, where a key is named, the key must be that one."""
        if required == Level.ANONYMOUS or self.level == Level.ADMIN:
            return True
        return self.level == required and (key_name is None or (self.name or "").lower() == key_name.lower())


@dataclass(frozen=True)
class HostKeys:
    folder: Path
    master: str
    function_keys: Mapping[str, str]
    system_keys: Mapping[str, str]
    # Lower-cased function name → that function's keys, name → value.
    functions: Mapping[str, Mapping[str, str]]

    @property
    def durable_key(self) -> str:
        return self.system_keys[DURABLE_SYSTEM_KEY]

    def function_key(self, function: str) -> str:
        """The key the portal's "Get function URL" shows: the function's `default` key."""
        keys = self.functions[function.lower()]
        return keys.get(DEFAULT_KEY_NAME) or next(iter(keys.values()))

    def grant(self, value: str, function: str | None = None) -> Grant:
        """Host `SecretManager.GetAuthorizationLevelAsync`: the master key, then system
        keys, then host function keys, then the function's own; compared in constant time
        (`Key.SecretValueEquals`)."""
        if _equal(value, self.master):
            return Grant(Level.ADMIN, MASTER_KEY_NAME)
        for level, keys in ((Level.SYSTEM, self.system_keys), (Level.FUNCTION, self.function_keys)):
            name = _matching(keys, value)
            if name is not None:
                return Grant(level, name)
        name = _matching(self.functions.get(function.lower(), {}), value) if function else None
        return Grant(Level.FUNCTION, name) if name is not None else Grant(Level.ANONYMOUS)


def _equal(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def _matching(keys: Mapping[str, str], value: str) -> str | None:
    return next((name for name, expected in keys.items() if _equal(value, expected)), None)


def secrets_folder(settings: Mapping[str, str], app_dir: Path) -> Path:
    """`FUNCTIONS_SECRETS_PATH`, else `<user data>/devhost/secrets/<host id>`."""
    configured = settings.get(SECRETS_PATH_SETTING)
    if configured:
        return Path(configured).expanduser()
    return _user_data(settings) / "devhost" / "secrets" / host_id(settings, str(app_dir))


def _user_data(settings: Mapping[str, str]) -> Path:
    """Where a user's applications keep their data: %LOCALAPPDATA% on Windows,
    ~/Library/Application Support on macOS, $XDG_DATA_HOME (~/.local/share) elsewhere."""
    if sys.platform == "win32" and settings.get("LOCALAPPDATA"):
        return Path(settings["LOCALAPPDATA"])
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support"
    return Path(settings.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")


def load_keys(folder: Path, functions: Iterable[str], host_name: str) -> HostKeys:
    """The app's keys, after creating what is missing as the host does on first use:
    the host secrets (`SecretManager.GenerateHostSecrets`), the Durable extension's
    system key (`DefaultScriptWebHookProvider.GetOrCreateExtensionKey`) and each
    function's `default` key (`GenerateFunctionSecrets`)."""
    host_file = folder / HOST_SECRETS_FILE
    host = _read(host_file)
    if host is None:
        host = {"masterKey": _key(MASTER_KEY_NAME), "functionKeys": [_key(DEFAULT_KEY_NAME)], "systemKeys": []}
        host.update(_provenance(host_name))
        _write(host_file, host)
    if DURABLE_SYSTEM_KEY not in _named(host_file, "systemKeys", host.get("systemKeys")):
        _write(host_file, {**host, "systemKeys": [*(host.get("systemKeys") or []), _key(DURABLE_SYSTEM_KEY)]})
    for function in functions:
        function_file = folder / f"{function.lower()}.json"
        if not function_file.exists():
            _write(function_file, {"keys": [_key(DEFAULT_KEY_NAME)], **_provenance(host_name)})
    keys = read_keys(folder)
    assert keys is not None, "host.json was just written"
    return keys


def read_keys(folder: Path) -> HostKeys | None:
    """The keys in `folder` as they are (None if it holds no host secrets yet): the
    host's `host.json`, and every other `<function>.json` as that function's keys."""
    host_file = folder / HOST_SECRETS_FILE
    host = _read(host_file)
    if host is None:
        return None
    functions = {}
    for function_file in sorted(folder.glob("*.json")):
        content = _read(function_file) if function_file != host_file else None
        if content is not None:
            functions[function_file.stem.lower()] = _named(function_file, "keys", content.get("keys"))
    return HostKeys(
        folder=folder,
        master=next(iter(_named(host_file, "masterKey", [host.get("masterKey")]).values())),
        function_keys=_named(host_file, "functionKeys", host.get("functionKeys")),
        system_keys=_named(host_file, "systemKeys", host.get("systemKeys")),
        functions=functions,
    )


def _key(name: str) -> dict[str, Any]:
    """Host `Key`, with a value of the host's shape: 40 random bytes in URL-safe base64,
    `==` kept (`SecretGenerator.GenerateIdentifiableSecret`, without its checksum)."""
    value = base64.urlsafe_b64encode(secrets.token_bytes(40)).decode("ascii")
    return {"name": name, "value": value, "encrypted": False}


def _provenance(host_name: str) -> dict[str, Any]:
    """`ScriptSecrets`' other fields, as a host that does not encrypt writes them."""
    return {"hostName": host_name, "instanceId": None, "source": "runtime", "decryptionKeyId": ""}


def _named(path: Path, field: str, keys: object) -> dict[str, str]:
    """A list of the host's `Key` objects as name → value (none is an empty list)."""
    keys = [] if keys is None else keys
    if not isinstance(keys, list) or not all(
        isinstance(k, dict) and isinstance(k.get("name"), str) and isinstance(k.get("value"), str) and k["value"]
        for k in keys
    ):
        raise StartupError(f'\'{path}\': \'{field}\' must hold keys as {{"name": "...", "value": "..."}}.')
    return {k["name"]: k["value"] for k in keys}


def _read(path: Path) -> dict[str, Any] | None:
    try:
        content = json.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as error:
        raise StartupError(f"Cannot read the keys in '{path}': {error}") from error
    if not isinstance(content, dict):
        raise StartupError(f"'{path}' must contain a JSON object of keys.")
    return content


def _write(path: Path, content: Mapping[str, Any]) -> None:
    """Readable by the user only; replaced whole, so a reader never sees half a file."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
            json.dump(content, stream, indent=2)
        os.replace(partial, path)
    except OSError as error:
        raise StartupError(f"Cannot write the keys to '{path}': {error.strerror or error}.") from error
