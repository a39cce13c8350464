"""Hosts for the end-to-end tests, in-process on loopback, on both stores: memory, and
Azure Storage in the session's Azurite (a fresh task hub per test); and the browser for
the dashboard's tests."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any, AsyncIterator

import pytest
import pytest_asyncio
from playwright.async_api import Browser

from devhost.testing import DurableHost
from tests.support.apps import PROTOCOL_APP
from tests.support.browser import chromium

FUNCTION_APP = Path(__file__).resolve().parents[2]


@pytest.fixture(params=["memory", "azurite"])
def store_options(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Keyword arguments for DurableHost: which store, and for Azurite a hub of its own."""
    if request.param == "memory":
        return {}
    azurite = request.getfixturevalue("azurite")
    return {
        "storage": "azurite",
        "connection": azurite.connection_string,
        "hub": f"E2E{uuid.uuid4().hex[:12]}",
    }


@pytest_asyncio.fixture
async def host(store_options: dict[str, Any]) -> AsyncIterator[DurableHost]:
    """The protocol app with a virtual clock."""
    async with DurableHost(PROTOCOL_APP, **store_options) as durable_host:
        yield durable_host


@pytest_asyncio.fixture
async def app_host(storage_connection: str, store_options: dict[str, Any]) -> AsyncIterator[DurableHost]:
    """This project's function app, its blobs in the session's Azurite."""
    async with DurableHost(FUNCTION_APP, **store_options) as durable_host:
        yield durable_host


@pytest_asyncio.fixture
async def browser() -> AsyncIterator[Browser]:
    """Debian's Chromium through Playwright, for the dashboard's browser tests (the
    guard's tests map more names to loopback and bring their own)."""
    async with chromium() as launched:
        yield launched
