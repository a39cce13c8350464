"""Session-wide fixtures: one real Azurite on free ports, data in a temp directory."""

from __future__ import annotations

from pathlib import Path
from typing import AsyncIterator, Iterator

import aiohttp
import pytest
import pytest_asyncio

from devhost.azurite import AzuriteProcess

# The `queues` fixture: each test's own queues for the queue app.
pytest_plugins = ["tests.support.queues"]


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AzuriteProcess]:
    """Azurite from `node_modules`, started once for the whole test session."""
    location: Path = tmp_path_factory.mktemp("azurite")
    with AzuriteProcess.on_free_ports(location) as process:
        yield process


@pytest.fixture
def storage_connection(azurite: AzuriteProcess, monkeypatch: pytest.MonkeyPatch) -> str:
    """Points `AzureWebJobsStorage` at the session's Azurite, as the app reads it."""
    monkeypatch.setenv("AzureWebJobsStorage", azurite.connection_string)
    return azurite.connection_string


@pytest_asyncio.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """A client session for real HTTP against the hosts under test."""
    async with aiohttp.ClientSession() as session:
        yield session
