"""The host side of each storage binding type devhost fills: what it reads for an input,
what it does with an output's value. One `BindingHandler` per binding `type`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

from azure.functions import meta

from ..extras import require_azure_storage
from .accounts import StorageAccounts
from .expressions import BindingData


class BindingHandler(Protocol):
    def check(self, function: str, binding: Mapping[str, Any]) -> None:
        """Refuses a binding the host would not index (StartupError naming the function
        and the property); `binding` has its `%Setting%` references resolved."""

    async def read(self, binding: Mapping[str, Any], data: BindingData) -> meta.Datum | None:
        """An input binding's value as the host sends it to the worker (None: nothing)."""

    async def write(self, binding: Mapping[str, Any], datum: meta.Datum, data: BindingData) -> None:
        """Stores what the function set on an output binding, after it succeeded."""


HandlerFactory = Callable[[StorageAccounts], BindingHandler]


def _factories() -> dict[str, HandlerFactory]:
    """binding type -> what builds its handler (imported here: the handler modules
    import the storage SDKs only when a handler is made)."""
    from . import blobs, queues, tables

    return {"blob": blobs.BlobBinding, "queue": queues.QueueOutput, "table": tables.TableBinding}


class Bindings:
    """The handlers of one host, made on first use so an app without storage bindings
    imports no storage SDK."""

    def __init__(self, accounts: StorageAccounts) -> None:
        self.accounts = accounts
        self._handlers: dict[str, BindingHandler] = {}

    @staticmethod
    def types() -> frozenset[str]:
        return frozenset(_factories())

    def handler(self, binding_type: str, *, function: str) -> BindingHandler | None:
        """The type's handler (None for a type devhost does not fill); `function`, the
        first to use the type, is named if its SDK is missing."""
        handler = self._handlers.get(binding_type)
        if handler is None:
            factory = _factories().get(binding_type)
            if factory is None:
                return None
            require_azure_storage(f"Function '{function}' ({binding_type} binding)")
            handler = self._handlers[binding_type] = factory(self.accounts)
        return handler
