"""Storage failing single calls, through a real HTTP proxy in front of Azurite: a call
storage refuses for good ends that instance with the reason instead of being retried
forever, and a message whose payload cannot be fetched for a while is read once storage
answers, never mistaken for another program's message and hidden."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import pytest

from devhost.azurite import connection_string
from devhost.engine.host_failures import MAX_REJECTIONS
from devhost.protocol import OrchestrationStatus
from devhost.testing import DurableHost
from tests.support.apps import PROTOCOL_APP
from tests.support.http_faults import GARBLED, Request, faulty_proxy, refusal

MARKER = b"storage-cannot-hold-this"


async def test_a_checkpoint_storage_keeps_refusing_fails_that_instance_only(
    azurite: Any, caplog: pytest.LogCaptureFixture
) -> None:
    def refuse_marked(request: Request) -> bytes | None:
        if MARKER in request.body:
            return refusal("PropertyValueTooLarge", "The property value exceeds the maximum allowed size.")
        return None

    blob, queue, table = azurite.ports
    async with faulty_proxy(table, refuse_marked) as proxy:
        proxied = connection_string("127.0.0.1", (blob, queue, proxy.port))
        async with DurableHost(
            PROTOCOL_APP, storage="azurite", connection=proxied, hub=f"Refuse{uuid.uuid4().hex[:10]}"
        ) as host:
            refused = await host.start("waits_for_events")
            healthy = await host.start("waits_for_events")
            await host.settle()
            await host.raise_event(refused, "Go", MARKER.decode())
            await host.raise_event(healthy, "Go", 1)
            await host.raise_event(healthy, "Go", 2)

            failed = await host.wait(refused)
            assert failed.runtime_status == OrchestrationStatus.FAILED.api_name
            assert f"storage refused to store this {MAX_REJECTIONS} times" in str(failed.output)
            assert "PropertyValueTooLarge" in str(failed.output)
            assert (await host.wait(healthy)).output == [1, 2]
            assert proxy.answered == MAX_REJECTIONS
    said = [r for r in caplog.records if r.levelno >= logging.ERROR and refused in r.getMessage()]
    assert len(said) == 1, [r.getMessage() for r in said]


async def test_an_activity_result_storage_keeps_refusing_reaches_the_orchestration_as_a_failure(
    azurite: Any,
) -> None:
    def refuse_marked(request: Request) -> bytes | None:
        if request.method == "POST" and MARKER in request.body:
            return refusal("InvalidXmlDocument", "The XML specified is not syntactically valid.")
        return None

    blob, queue, table = azurite.ports
    async with faulty_proxy(queue, refuse_marked) as proxy:
        proxied = connection_string("127.0.0.1", (blob, proxy.port, table))
        async with DurableHost(
            PROTOCOL_APP, storage="azurite", connection=proxied, hub=f"Result{uuid.uuid4().hex[:10]}"
        ) as host:
            refused = await host.start("reverses", MARKER.decode()[::-1])  # the result is MARKER
            healthy = await host.start("reverses", "abc")
            failed = await host.wait(refused)
            assert failed.runtime_status == OrchestrationStatus.FAILED.api_name
            assert f"storage refused to store this {MAX_REJECTIONS} times" in str(failed.output)
            assert (await host.wait(healthy)).output == "cba"
            assert proxy.answered == MAX_REJECTIONS


async def test_a_message_whose_payload_cannot_be_fetched_for_a_while_is_read_later(
    azurite: Any, caplog: pytest.LogCaptureFixture
) -> None:
    garbled = 0

    def garble_payload_reads(request: Request) -> bytes | None:
        """The first reads of a large message's blob get a response that is not HTTP,
        more of them than the storage SDK retries in one call."""
        nonlocal garbled
        if request.method == "GET" and "/message-" in request.path and garbled < 6:
            garbled += 1
            return GARBLED
        return None

    blob, queue, table = azurite.ports
    async with faulty_proxy(blob, garble_payload_reads) as proxy:
        proxied = connection_string("127.0.0.1", (proxy.port, queue, table))
        async with DurableHost(
            PROTOCOL_APP, storage="azurite", connection=proxied, hub=f"Garble{uuid.uuid4().hex[:10]}"
        ) as host:
            large = "x" * 100_000  # travels through a blob (over a queue message's limit)
            instance_id = await host.start("echo_back", large)
            assert (await host.wait(instance_id, timeout=60)).output == large
            assert proxy.answered >= 4
    assert not [r for r in caplog.records if "not in devhost's format" in r.getMessage()]
