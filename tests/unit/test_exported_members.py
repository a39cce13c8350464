"""devhost's public API, held name by name (as httpx's tests/test_exported_members.py):
a name added, dropped or moved is a decision this test makes someone write down."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

import devhost

ERRORS = {
    "BadRequest",
    "Conflict",
    "DevhostError",
    "Gone",
    "HostStopped",
    "NotFound",
    "NotSettled",
    "StartupError",
    "StorageUnavailable",
}
# Every public module and its `__all__`; the rest of devhost is internal.
PUBLIC = {
    "devhost": {"Advanced", "DurableHost", "EntityStatus", "Fired", "InstanceStatus", *ERRORS},
    "devhost.testing": {"Advanced", "DurableHost", "Fired"},
    "devhost.pytest_plugin": {"durable_host"},
    "devhost.errors": ERRORS,
    "devhost.clock": {"Advanced", "Fired"},
    "devhost.engine.statuses": {"EntityStatus", "InstanceStatus"},
    "devhost.azurite": {"AzuriteError", "AzuriteProcess", "connection_string", "main"},
    "devhost.cli": {"main"},
}


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_each_public_module_exports_exactly_its_api_from_where_it_is_defined(name: str) -> None:
    module = importlib.import_module(name)
    assert module.__all__ == sorted(PUBLIC[name])
    for member in module.__all__:
        value = getattr(module, member)
        home = value.__module__
        # Defined here, or re-exported from the public module that defines it: one object.
        assert home == name or member in PUBLIC[home], f"{name}.{member} comes from {home}"
        assert getattr(importlib.import_module(home), member) is value


def test_the_package_has_no_public_name_it_does_not_export() -> None:
    stray = {
        name
        for name, value in vars(devhost).items()
        if not name.startswith("_") and not isinstance(value, ModuleType)
    }
    assert stray <= set(devhost.__all__)
    assert set(devhost.__all__) <= set(dir(devhost))
    with pytest.raises(AttributeError, match="module 'devhost' has no attribute 'Host'"):
        devhost.Host  # noqa: B018


def test_importing_devhost_is_light_until_the_host_is_used() -> None:
    """The host itself (aiohttp, the SDKs) comes with the first use of DurableHost, not
    with `import devhost.errors` or `python -m devhost.azurite`."""
    check = (
        "import sys, devhost, devhost.errors, devhost.azurite; "
        "assert 'aiohttp' not in sys.modules; "
        "from devhost import *; "
        "assert DurableHost.__module__ == 'devhost.testing' and 'aiohttp' in sys.modules"
    )
    subprocess.run([sys.executable, "-c", check], cwd=Path(devhost.__file__).parents[1], check=True, timeout=60)
