"""The durable HTTP API while storage hangs: a real TCP proxy between devhost and
Azurite stops moving bytes; requests answer 503 within the storage-call bound instead of
hanging, and everything carries on once storage answers again."""

from __future__ import annotations

import uuid
from typing import Any

import aiohttp

from devhost.azurite import connection_string
from devhost.http.urls import WEBHOOK_PATH as API
from devhost.testing import DurableHost
from tests.support.apps import PROTOCOL_APP
from tests.support.faults import stalling_proxies
from tests.support.http import call


async def test_the_api_answers_503_while_storage_hangs_and_recovers(azurite: Any) -> None:
    # A client that gives up long after the host's 10 s bound: without it, a hang.
    give_up = aiohttp.ClientTimeout(total=60)
    async with stalling_proxies(*azurite.ports) as proxies, aiohttp.ClientSession(timeout=give_up) as http:
        proxied = connection_string("127.0.0.1", tuple(p.port for p in proxies))  # type: ignore[arg-type]
        async with DurableHost(
            PROTOCOL_APP, storage="azurite", connection=proxied, hub=f"Outage{uuid.uuid4().hex[:10]}"
        ) as host:
            instance_id = await host.start("waits_for_events")
            await host.settle()
            for proxy in proxies:
                proxy.stall()
            status, body, _ = await call(http, "GET", f"{host.base_url}{API}/instances/{instance_id}")
            assert status == 503 and body["error"].startswith("storage unavailable")
            for proxy in proxies:
                proxy.flow()
            await host.raise_event(instance_id, "Go", 1)
            await host.raise_event(instance_id, "Go", 2)
            assert (await host.wait(instance_id)).output == [1, 2]


async def test_a_start_while_queue_storage_hangs_answers_503_and_can_be_retried(azurite: Any) -> None:
    """Tables answer, queues hang: the start answers 503 having written nothing (the
    start message goes before the Pending row), and the same start again succeeds; never
    an instance Pending for good."""
    give_up = aiohttp.ClientTimeout(total=60)
    async with stalling_proxies(*azurite.ports) as proxies, aiohttp.ClientSession(timeout=give_up) as http:
        blob, queue, table = proxies
        proxied = connection_string("127.0.0.1", (blob.port, queue.port, table.port))
        async with DurableHost(
            PROTOCOL_APP, storage="azurite", connection=proxied, hub=f"Start{uuid.uuid4().hex[:10]}"
        ) as host:
            url = f"{host.base_url}{API}/orchestrators/waits_for_events/retried"
            queue.stall()
            status, body, _ = await call(http, "POST", url)
            assert status == 503 and body["error"].startswith("storage unavailable")
            queue.flow()
            status, _, _ = await call(http, "POST", url)
            # 202, or 409 when the first start's message reached the queue after all:
            # either way the instance runs, once.
            assert status in (202, 409)
            await host.raise_event("retried", "Go", 1)
            await host.raise_event("retried", "Go", 2)
            assert (await host.wait("retried")).output == [1, 2]
