"""The pytest plugin: a fresh `DurableHost` per test (the `durable_host` fixture), on the
app and store the session chose.

    --durable-app-dir DIR       the app (ini `durable_app_dir`, default the rootdir)
    --durable-storage KIND      memory (default) or azurite (ini `durable_storage`)
    --durable-connection TEXT   azurite's account: default AzureWebJobsStorage, else the
                                app's local.settings.json, else Azurite's development one

As Temporal's test environment is chosen once for a suite (local or time-skipping), the
store is chosen once per session: on Azurite every test's host runs on one task hub
named for the session (printed in the header), so tests keep to instance ids of their
own. Every host has a virtual clock.

pytest loads this module through the `pytest11` entry point `devhost`, or by name
(`-p devhost.pytest_plugin`); `devhost.testing` itself never imports pytest.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from .testing import DurableHost

__all__ = ["durable_host"]

STORAGES = ("memory", "azurite")
# Task hub names Azure Storage accepts: 3 to 45 letters and digits, a letter first
# (devhost/stores/azure/names.py `validate_hub`, DTFx's rule).
_HUB_PREFIX = "Pytest"


@dataclass(frozen=True)
class _Options:
    """What every `durable_host` of the session starts with."""

    app_dir: Path
    storage: str
    connection: str | None
    hub: str | None


_OPTIONS = pytest.StashKey[_Options]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("devhost", "Durable Functions host (devhost)")
    group.addoption(
        "--durable-app-dir",
        metavar="DIR",
        help="folder with the function_app.py the durable_host fixture runs, relative to "
        "the current directory (default: the durable_app_dir ini option)",
    )
    group.addoption(
        "--durable-storage",
        choices=STORAGES,
        help="where the durable_host fixture keeps state: memory, or Azurite/Azure Storage "
        "on one task hub for the session (default: the durable_storage ini option)",
    )
    group.addoption(
        "--durable-connection",
        metavar="TEXT",
        help="storage connection string for --durable-storage azurite (default: "
        "AzureWebJobsStorage, else Azurite's development account)",
    )
    parser.addini(
        "durable_app_dir",
        "folder with the function_app.py the durable_host fixture runs, relative to the rootdir",
        default=".",
    )
    parser.addini("durable_storage", "memory or azurite: the durable_host fixture's store", default="memory")


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_OPTIONS] = _session_options(config)


def pytest_report_header(config: pytest.Config) -> str:
    options = config.stash[_OPTIONS]
    where = f"task hub {options.hub}" if options.hub else "in memory"
    return f"devhost: app {options.app_dir}, storage {options.storage} ({where})"


async def _durable_host(request: pytest.FixtureRequest) -> AsyncIterator[DurableHost]:
    """A fresh host for this test on the session's app and store, with a virtual clock,
    stopped after the test."""
    options = request.config.stash[_OPTIONS]
    async with DurableHost(
        options.app_dir, storage=options.storage, connection=options.connection, hub=options.hub
    ) as host:
        yield host


def _needs_pytest_asyncio() -> DurableHost:
    """A project with pytest but not pytest-asyncio still runs its own tests (pytest loads
    this plugin wherever devhost is installed); only a test that asks for the fixture
    hears what is missing."""
    raise pytest.UsageError("The durable_host fixture runs on pytest-asyncio: pip install 'durable-devhost[testing]'.")


def _fixture() -> Any:
    try:
        import pytest_asyncio
    except ImportError:  # devhost installed without its [testing] extra
        return pytest.fixture(_needs_pytest_asyncio, name="durable_host")
    return pytest_asyncio.fixture(_durable_host, name="durable_host")


durable_host = _fixture()


def _session_options(config: pytest.Config) -> _Options:
    """The command line wins over the ini file; a relative folder on the command line is
    read from where pytest was started, as shells complete it, one in the ini file from
    the rootdir."""
    given = config.getoption("durable_app_dir")
    if given:
        app_dir = config.invocation_params.dir / given
    else:
        app_dir = config.rootpath / (config.getini("durable_app_dir") or ".")
    storage = config.getoption("durable_storage") or config.getini("durable_storage") or "memory"
    if storage not in STORAGES:
        raise pytest.UsageError(f"durable_storage must be memory or azurite, not {storage!r}.")
    if storage == "memory":
        return _Options(app_dir=app_dir, storage=storage, connection=None, hub=None)
    # The connection falls to DurableHost: AzureWebJobsStorage as the app's settings give it.
    return _Options(
        app_dir=app_dir,
        storage=storage,
        connection=config.getoption("durable_connection"),
        hub=session_hub(),
    )


def session_hub() -> str:
    """A task hub name of this session's own (26 characters), valid for Azure Storage."""
    return f"{_HUB_PREFIX}{uuid.uuid4().hex[:20]}"
