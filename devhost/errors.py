"""Errors the host raises on purpose; each HTTP one knows its status code.

    DevhostError
    ├── NotFound            404  unknown instance, entity or function       (LookupError)
    ├── BadRequest          400  malformed JSON, bad query values, invalid ids (ValueError)
    ├── Gone                410  the instance already reached a terminal state
    ├── Conflict            409  an instance with that id is still running, or its status
    │                            does not allow the command (suspend a suspended one, ...)
    ├── NotSettled          504  work did not settle in time (a clock advance, a test's
    │                            settle)                                      (TimeoutError)
    ├── StorageUnavailable  503  storage did not answer a request's call in time, or
    │                            could not be reached                      (ConnectionError)
    ├── HostStopped         503  a background loop of the host ended for good (RuntimeError)
    └── StartupError        (CLI) the host cannot start; printed as one line

Each also subclasses the nearest built-in (in brackets), as attrs' exceptions do, so
`except LookupError` around a status read or `except TimeoutError` around a settle
works without importing devhost. `Gone`, `Conflict` and `StartupError` have none: no
built-in means "the instance's state forbids this", and a start fails for reasons of
every kind (bad JSON, a port in use, an app that raises on import: see `cause`).
TimeoutError and ConnectionError are OSErrors, and from Python 3.11 `asyncio.TimeoutError`
is TimeoutError: no `except` of those in devhost wraps a call that raises these errors
(the supervisor's retries included), so adding the bases changed what devhost catches
nowhere.

The engine and stores raise these; the HTTP error middleware alone turns them into
responses, and the CLI alone prints a StartupError.
"""

from __future__ import annotations

__all__ = [
    "BadRequest",
    "Conflict",
    "DevhostError",
    "Gone",
    "HostStopped",
    "NotFound",
    "NotSettled",
    "StartupError",
    "StorageUnavailable",
]


class DevhostError(Exception):
    """Base of the host's own errors; `status` is the HTTP status to answer with."""

    status = 500

    def __init__(self, message: str, *, cause: BaseException | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.cause = cause


class NotFound(DevhostError, LookupError):
    """Raised when an instance, entity, function or route does not exist."""

    status = 404


class BadRequest(DevhostError, ValueError):
    """Raised when a request's body, query or path values are not acceptable."""

    status = 400


class Gone(DevhostError):
    """Raised when an operation targets an instance that already finished."""

    status = 410


class Conflict(DevhostError):
    """Raised when starting an instance whose id is taken by a running instance."""

    status = 409


class StorageUnavailable(DevhostError, ConnectionError):
    """Raised when a storage call made for a request cannot reach storage or gets no
    answer in time."""

    status = 503


class HostStopped(DevhostError, RuntimeError):
    """Raised to whoever waits on the host once a background loop of it ended for good
    (a `RuntimeError`, as `concurrent.futures.BrokenExecutor` is for a pool that broke)."""

    status = 503


class NotSettled(DevhostError, TimeoutError):
    """Raised when queued or running work does not finish within the time allowed."""

    status = 504


class StartupError(DevhostError):
    """Raised when the host cannot start: bad app, port in use, storage unreachable."""
