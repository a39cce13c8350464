"""Errors the host raises on purpose; each HTTP one knows its status code.

    DevhostError
    ├── NotFound            404  unknown instance, entity or function
    ├── BadRequest          400  malformed JSON, bad query values, invalid ids
    ├── Gone                410  the instance already reached a terminal state
    ├── Conflict            409  an instance with that id is still running, or its status
    │                            does not allow the command (suspend a suspended one, ...)
    ├── NotSettled          504  work did not settle in time (a clock advance, a test's settle)
    ├── StorageUnavailable  503  storage did not answer a request's call in time, or failed it
    ├── HostStopped         503  a background loop of the host ended for good (a defect)
    └── StartupError        (CLI) the host cannot start; printed as one line

The engine and stores raise these; the HTTP error middleware alone turns them into
responses, and the CLI alone prints a StartupError.
"""

from __future__ import annotations

from typing import Optional


class DevhostError(Exception):
    """Base of the host's own errors; `status` is the HTTP status to answer with."""

    status = 500

    def __init__(self, message: str, *, cause: Optional[BaseException] = None) -> None:
        super().__init__(message)
        self.message = message
        self.cause = cause


class NotFound(DevhostError):
    """Raised when an instance, entity, function or route does not exist."""

    status = 404


class BadRequest(DevhostError):
    """Raised when a request's body, query or path values are not acceptable."""

    status = 400


class Gone(DevhostError):
    """Raised when an operation targets an instance that already finished."""

    status = 410


class Conflict(DevhostError):
    """Raised when starting an instance whose id is taken by a running instance."""

    status = 409



class StorageUnavailable(DevhostError):
    """Raised when a storage call made for a request fails or does not answer in time."""

    status = 503


class HostStopped(DevhostError):
    """Raised to whoever waits on the host once a background loop of it ended for good."""

    status = 503


class NotSettled(DevhostError):
    """Raised when queued or running work does not finish within the time allowed."""

    status = 504


class StartupError(DevhostError):
    """Raised when the host cannot start: bad app, port in use, storage unreachable."""
