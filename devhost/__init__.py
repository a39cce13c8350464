"""A local Durable Functions host for Python v2 apps: `python -m devhost start`.

It loads a function app, drives its orchestrators and entities through the SDK's own
JSON protocol, runs activities and timers, and serves the same HTTP surface as
`func start` with the Durable extension. `devhost.testing` wraps it for tests, and
`devhost.pytest_plugin` gives pytest the `durable_host` fixture.

What a user types is here: `DurableHost`, the statuses it answers with, what an advance
of the clock fired, and the errors. `DurableHost` and the statuses are imported on first
use: they bring in the whole host (aiohttp and the SDKs, about 0.3 s), which
`python -m devhost.azurite` and `import devhost.errors` do without.
"""

import typing

from .clock import Advanced, Fired
from .errors import (
    BadRequest,
    Conflict,
    DevhostError,
    Gone,
    HostStopped,
    NotFound,
    NotSettled,
    StartupError,
    StorageUnavailable,
)

if typing.TYPE_CHECKING:
    from .engine.statuses import EntityStatus, InstanceStatus
    from .testing import DurableHost

__all__ = [
    "Advanced",
    "BadRequest",
    "Conflict",
    "DevhostError",
    "DurableHost",
    "EntityStatus",
    "Fired",
    "Gone",
    "HostStopped",
    "InstanceStatus",
    "NotFound",
    "NotSettled",
    "StartupError",
    "StorageUnavailable",
]

_LAZY = {
    "DurableHost": "devhost.testing",
    "EntityStatus": "devhost.engine.statuses",
    "InstanceStatus": "devhost.engine.statuses",
}


def __getattr__(name: str) -> typing.Any:
    """PEP 562: the lazy names, imported from their module once and kept."""
    home = _LAZY.get(name)
    if home is None:
        raise AttributeError(f"module 'devhost' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
