"""The triggers of one host: a listener per function whose trigger devhost runs, the
virtual clock's view of their schedules, and calls by hand (the admin API).

Functions whose trigger devhost does not run (Service Bus, Event Hubs, Cosmos DB, ...)
stay listed at start with a line saying so; `POST /admin/functions/{name}` still calls
them, with the input as a string, as the host's admin API does.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from importlib import import_module

from azure.functions import meta

from ..clock import Fired
from ..errors import BadRequest, NotFound
from ..extras import require_azure_storage
from ..ids import new_guid
from ..invoker import Invoker, Triggered
from ..loader import FunctionIndex, FunctionInfo
from ..protocol import format_timestamp
from ..supervision import Supervisor
from .listeners import BY_HAND_REASON, Listener, TriggerServices

# trigger type -> the module and class of its listener. Each module imports its storage
# SDK, so it is imported only for an app with such a trigger, once the SDKs are known to
# be installed (the timer's too: its status and lock are blobs).
_LISTENERS = {
    "blobTrigger": ("blob", "BlobListener"),
    "queueTrigger": ("queue", "QueueListener"),
    "timerTrigger": ("timer", "TimerListener"),
}


def hosted_trigger_types() -> frozenset[str]:
    return frozenset(_LISTENERS)


def _listener_type(info: FunctionInfo) -> type[Listener]:
    require_azure_storage(f"Function '{info.name}' ({info.trigger_type})")
    module, name = _LISTENERS[info.trigger_type]
    listener: type[Listener] = getattr(import_module(f"{__package__}.{module}"), name)
    return listener


class Triggers:
    """The listeners of one host's app (built at start, so a bad configuration stops
    it), started after the HTTP server and stopped before it."""

    def __init__(self, index: FunctionIndex, invoker: Invoker, services: TriggerServices) -> None:
        self._index = index
        self._services = services
        self._listeners: dict[str, Listener] = {
            info.name.lower(): _listener_type(info)(info, invoker.plan(info).trigger.binding, services)
            for info in index.others
            if info.trigger_type in _LISTENERS
        }
        self._calls: set[asyncio.Task[None]] = set()

    @property
    def unhosted(self) -> list[FunctionInfo]:
        """Functions with a trigger devhost does not run (callable by hand only)."""
        return [info for info in self._index.others if info.name.lower() not in self._listeners]

    async def start(self, loops: Supervisor) -> None:
        for listener in self._listeners.values():
            await listener.start(loops)

    async def stop(self) -> None:
        for task in list(self._calls):
            task.cancel()
        await asyncio.gather(*self._calls, return_exceptions=True)
        for listener in self._listeners.values():
            await listener.stop()

    # --- the virtual clock (engine `Scheduled`) ---------------------------------------

    def next_due(self) -> datetime | None:
        return min(
            (due for listener in self._listeners.values() if (due := listener.next_due()) is not None), default=None
        )

    async def fire(self, due: datetime) -> list[Fired]:
        """Fires every schedule due at `due`, in function-name order, each call awaited;
        returns each function with the occurrence it ran."""
        fired: list[Fired] = []
        for name in sorted(self._listeners):
            listener = self._listeners[name]
            moment = listener.next_due()
            if moment is not None and moment <= due:
                await listener.fire(due)
                fired.append(Fired("schedule", moment, listener.info.name))
        return fired

    # --- by hand ------------------------------------------------------------------------

    def call_by_hand(self, name: str, text: str | None) -> None:
        """Starts the call in the background and returns (the admin API answers 202)."""
        info = next((f for f in self._index.functions if f.name.lower() == name.lower()), None)
        if info is None:
            raise NotFound(f"No function named '{name}'.")
        if info not in self._index.others:
            raise BadRequest(
                f"'{info.name}' is triggered by {info.trigger_type}: devhost calls HTTP functions through their "
                "routes and durable functions through the durable APIs, not by hand."
            )
        listener = self._listeners.get(info.name.lower())
        triggered = listener.by_hand(text) if listener is not None else self._unhosted_call(info, text)
        task = asyncio.get_running_loop().create_task(self._call(info, listener, triggered))
        self._calls.add(task)
        task.add_done_callback(self._calls.discard)

    def _unhosted_call(self, info: FunctionInfo, text: str | None) -> Triggered:
        """The input as a string message. A Service Bus trigger also gets the metadata a
        message made from a string has (the host builds a `ServiceBusReceivedMessage`),
        without which the library's converter refuses it."""
        metadata: dict[str, meta.Datum] = {}
        if info.trigger_type == "serviceBusTrigger":
            metadata = {
                "UserProperties": meta.Datum("{}", "json"),
                "ApplicationProperties": meta.Datum("{}", "json"),
                "MessageId": meta.Datum(new_guid().replace("-", ""), "string"),
                "DeliveryCount": meta.Datum(1, "int"),
                "EnqueuedTimeUtc": meta.Datum(format_timestamp(self._services.clock.now()), "string"),
            }
        datum = meta.Datum(text, "string") if text is not None else meta.Datum(None, None)
        return Triggered(datum, BY_HAND_REASON, metadata=metadata, payload=text)

    async def _call(self, info: FunctionInfo, listener: Listener | None, triggered: Triggered) -> None:
        try:
            if listener is not None:
                triggered = await listener.bind(triggered)
            await self._services.invoke(info, triggered)
        except Exception:  # logged by the listener or the invoker, as any failed execution
            pass
