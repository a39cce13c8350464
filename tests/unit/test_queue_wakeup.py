"""When a queue's poller is due to receive again after this host sent to the queue
(devhost/stores/azure/polling.py's `Wakeup`): once per message no receive brought yet,
never for one a receive already brought, and never again and again for one another host
took (a poller that spun on it would keep Azurite's one core busy)."""

from __future__ import annotations

from devhost.stores.azure.polling import Wakeup

_NOW = 0.0  # a wait that would have to block answers at once with a zero timeout


async def test_a_send_wakes_the_poller_and_the_receive_that_brings_it_settles_the_wake() -> None:
    wakeup = Wakeup()
    wakeup.sent("m1")
    assert await wakeup.wait(_NOW)

    receive = wakeup.receiving()
    wakeup.received(receive, ["m1"])

    assert not await wakeup.wait(_NOW)


async def test_a_message_a_receive_in_flight_brought_costs_no_further_receive() -> None:
    wakeup = Wakeup()
    receive = wakeup.receiving()
    wakeup.sent("m1")  # its put ended while the receive was on its way, which still saw it
    wakeup.received(receive, ["m1"])

    assert not await wakeup.wait(_NOW)


async def test_a_message_sent_while_a_receive_was_in_flight_and_missed_keeps_the_wake() -> None:
    wakeup = Wakeup()
    receive = wakeup.receiving()
    wakeup.sent("m2")
    wakeup.received(receive, ["m1"])  # the queue answered before m2 was in it

    assert await wakeup.wait(_NOW)
    wakeup.received(wakeup.receiving(), ["m2"])
    assert not await wakeup.wait(_NOW)


async def test_a_message_another_host_took_wakes_the_poller_once_only() -> None:
    wakeup = Wakeup()
    wakeup.sent("m1")
    wakeup.received(wakeup.receiving(), [])  # begun after the send, and m1 was not there

    assert not await wakeup.wait(_NOW)


async def test_of_several_messages_sent_the_wake_lasts_until_each_is_brought_or_missed() -> None:
    wakeup = Wakeup()
    first = wakeup.receiving()
    wakeup.sent("m1")
    wakeup.sent("m2")
    wakeup.received(first, ["m1"])
    assert await wakeup.wait(_NOW)  # m2 may still come

    wakeup.received(wakeup.receiving(), [])
    assert not await wakeup.wait(_NOW)
