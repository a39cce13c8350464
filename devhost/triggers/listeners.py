"""What every trigger devhost runs shares: the services a listener may use, and the
shape of a listener (start, stop, the virtual clock's firing, a call by hand)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..bindings.accounts import StorageAccounts, connection_setting, extension_section
from ..clock import Clock
from ..connections import StorageConnection
from ..invoker import Triggered
from ..loader import FunctionInfo
from ..supervision import Supervisor

# The reason the host gives for a call through `POST /admin/functions/{name}`.
BY_HAND_REASON = "This function was programmatically called via the host APIs."


@dataclass(frozen=True)
class TriggerServices:
    """What listeners share: storage accounts by connection setting, the host's clock,
    the call into the function, app settings, host.json `extensions`, and the host id
    their state in `azure-webjobs-hosts` is kept under, host.json `singleton` (the
    lock periods of listeners only one host runs). `transient_errors` are the storage
    failures a listener's loop retries. `shared` holds what the listeners of one kind
    share in one host, by key (WebJobs `ISharedContextProvider`: the blob triggers' one
    container scan and one queue)."""

    accounts: StorageAccounts
    clock: Clock
    invoke: Callable[[FunctionInfo, Triggered], Awaitable[None]]
    settings: Mapping[str, str]
    extensions: Mapping[str, Any]
    host_id: str
    shared: dict[str, Any] = field(default_factory=dict)
    singleton: Mapping[str, Any] = field(default_factory=dict)

    @property
    def transient_errors(self) -> tuple[type[BaseException], ...]:
        from azure.core.exceptions import ServiceRequestError, ServiceResponseError

        return (ServiceRequestError, ServiceResponseError)

    def extension(self, name: str) -> Mapping[str, Any]:
        """host.json `extensions.<name>` (the key matched ignoring case), or {}."""
        return extension_section(self.extensions, name)


class Listener(ABC):
    """One function's trigger. The constructor checks the configuration (StartupError
    naming the function and the property, as the host refuses to index); `start`
    creates what the trigger needs and spawns its loops under the host's supervisor
    (with `services.transient_errors`)."""

    def __init__(self, info: FunctionInfo, binding: Mapping[str, Any], services: TriggerServices) -> None:
        self.info = info
        self.binding = binding  # `%Setting%` references resolved
        self.services = services

    def connection(self) -> StorageConnection:
        """The connection the trigger's `connection` setting names."""
        return self.services.accounts.connection(connection_setting(self.binding), function=self.info.name)

    @abstractmethod
    async def start(self, loops: Supervisor) -> None: ...

    async def stop(self) -> None:
        """Releases what the listener holds beyond its loops (which the supervisor stops)."""

    def next_due(self) -> datetime | None:
        """With a virtual clock: when this trigger next fires on its own (timers)."""
        return None

    async def fire(self, due: datetime) -> None:
        """With a virtual clock: fire what is due at `due` and return once the call ended."""

    @abstractmethod
    def by_hand(self, text: str | None) -> Triggered:
        """The call `POST /admin/functions/{name}` with `{"input": text}` makes (WebJobs
        binds the string to the trigger's type); raises BadRequest for an input the
        trigger cannot take, so the admin API answers 400."""

    async def bind(self, triggered: Triggered) -> Triggered:
        """`by_hand`'s call with what its input names read from storage, in the background
        call (a blob trigger's input is a blob path: the blob is read then, as WebJobs
        binds a direct call's string when it runs); as it is for the other triggers.
        Raises, after logging why, when the call cannot run."""
        return triggered
