"""Hosts for the end-to-end tests: the protocol fixture app, in-process on loopback."""

from __future__ import annotations

from pathlib import Path
from typing import AsyncIterator

import aiohttp
import pytest_asyncio

from devhost.testing import DurableHost

PROTOCOL_APP = Path(__file__).resolve().parents[1] / "apps" / "protocol_app"
FUNCTION_APP = Path(__file__).resolve().parents[2]


@pytest_asyncio.fixture
async def host() -> AsyncIterator[DurableHost]:
    """The protocol app on a memory store with a virtual clock."""
    async with DurableHost(PROTOCOL_APP) as durable_host:
        yield durable_host


@pytest_asyncio.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest_asyncio.fixture
async def app_host(storage_connection: str) -> AsyncIterator[DurableHost]:
    """This project's function app, its blobs in the session's Azurite."""
    async with DurableHost(FUNCTION_APP) as durable_host:
        yield durable_host
