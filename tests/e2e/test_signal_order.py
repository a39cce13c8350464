"""Signals from many callers at once reach an entity whole and in each caller's order,
on both stores (on Azure Storage, concurrent sends to one entity share queue messages:
stores/azure/sending.py)."""

from __future__ import annotations

import asyncio

from devhost.testing import DurableHost

SENDERS = 8
EACH = 20


async def test_concurrent_signals_arrive_all_and_in_each_senders_order(host: DurableHost) -> None:
    async def sender(who: int) -> None:
        for n in range(EACH):
            await host.signal_entity("Journal", "shared", "append", [who, n])

    await asyncio.gather(*(sender(who) for who in range(SENDERS)))
    entries = await host.read_entity("Journal", "shared")
    assert len(entries) == SENDERS * EACH
    for who in range(SENDERS):
        assert [n for sent_by, n in entries if sent_by == who] == list(range(EACH))
