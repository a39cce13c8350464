"""The SDK's actions as the extension reads them: their codes, the functions they may
name, and the two that expand into several tasks: a retried call (DTFx
`RetryInterceptor`) and an HTTP call that polls a 202 (ext `CallHttpAsync`). What
replay.py needs to know of an action without the history it replays against.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

HTTP_ACTIVITY = "BuiltIn::HttpActivity"
_DEFAULT_HTTP_POLL_MS = 30_000
_DEFAULT_MAX_RETRY_INTERVAL = timedelta(days=6)


class ActionType:
    """`actionType` codes of the SDK's actions (docs/protocol.md C)."""

    CALL_ACTIVITY = 0
    CALL_ACTIVITY_WITH_RETRY = 1
    CALL_SUB_ORCHESTRATOR = 2
    CALL_SUB_ORCHESTRATOR_WITH_RETRY = 3
    CONTINUE_AS_NEW = 4
    CREATE_TIMER = 5
    WAIT_FOR_EXTERNAL_EVENT = 6
    CALL_ENTITY = 7
    CALL_HTTP = 8
    SIGNAL_ENTITY = 9
    SCHEDULED_SIGNAL_ENTITY = 10
    WHEN_ANY = 11
    WHEN_ALL = 12


class ReplayFailure(Exception):
    """Raised when the actions cannot be carried out; the instance fails with this message."""


@dataclass(frozen=True)
class KnownFunctions:
    """Durable function names of the app by kind, compared case-insensitively as the
    extension does."""

    names: dict[str, tuple[str, ...]]
    _lowered: dict[str, frozenset[str]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        lowered = {kind: frozenset(n.lower() for n in names) for kind, names in self.names.items()}
        object.__setattr__(self, "_lowered", lowered)

    @classmethod
    def of(cls, activities: Iterable[str], orchestrators: Iterable[str], entities: Iterable[str]) -> KnownFunctions:
        return cls(
            {
                "activity": tuple(sorted(activities)),
                "orchestrator": tuple(sorted(orchestrators)),
                "entity": tuple(sorted(entities)),
            }
        )

    def check(self, kind: str, name: str) -> None:
        """Raises the extension's message for a function that does not exist (ext
        `DurableTaskExtension.ThrowIfFunctionDoesNotExist`). The real host's shim swallows
        this error and the instance hangs (durable-js#197, a known bug); we fail it."""
        if name.lower() in self._lowered[kind]:
            return
        listed = ", ".join(f"'{candidate}'" for candidate in self.names[kind]) or "(none)"
        raise ReplayFailure(
            f"The function '{name}' doesn't exist, is disabled, or is not {_article(kind)} "
            f"{kind} function. Additional info: The following are the known {kind} "
            f"functions: {listed}."
        )


def _article(kind: str) -> str:
    return "an" if kind[0] in "aeiou" else "a"


@dataclass(frozen=True)
class RetryPolicy:
    """An action's `retryOptions`, with the bounds DTFx applies."""

    first_ms: float
    attempts: int
    backoff: float
    longest: timedelta
    timeout: timedelta | None

    @classmethod
    def of(cls, action: dict[str, Any]) -> RetryPolicy:
        options = action.get("retryOptions") or {}
        return cls(
            first_ms=float(options.get("firstRetryIntervalInMilliseconds", 0)),
            attempts=max(int(options.get("maxNumberOfAttempts", 1)), 1),
            backoff=float(options.get("backoffCoefficient", 1.0)),
            longest=_millis(options.get("maxRetryIntervalInMilliseconds")) or _DEFAULT_MAX_RETRY_INTERVAL,
            timeout=_millis(options.get("retryTimeoutInMilliseconds")),
        )

    def delay(self, attempt: int) -> timedelta:
        """`first · backoff^attempt`, at most `longest`, computed so that no coefficient
        or attempt count overflows (DTFx `RetryInterceptor` clamps to the max interval)."""
        try:
            wanted = self.first_ms * self.backoff**attempt
        except OverflowError:
            wanted = float("inf")
        return min(_clamped(wanted), self.longest)


def next_http_poll(request: dict[str, Any], result: str | None) -> tuple[timedelta, dict[str, Any]] | None:
    """After an HTTP call returned `result`: when (the response's `Retry-After`, else 30 s)
    and with what request to poll its `Location`, if the request asked to and the answer
    was a 202 with one; None when the call is done."""
    if not request.get("asynchronousPatternEnabled"):
        return None
    response = json.loads(result or "{}")
    headers = {str(k).lower(): v for k, v in (response.get("headers") or {}).items()}
    location = _first(headers.get("location"))
    if response.get("statusCode") != 202 or not location:
        return None
    retry_after = _first(headers.get("retry-after"))
    delay = (
        timedelta(seconds=int(retry_after))
        if retry_after and str(retry_after).isdigit()
        else timedelta(milliseconds=_DEFAULT_HTTP_POLL_MS)
    )
    poll = {
        "method": "GET",
        "uri": location,
        "headers": {k: v for k, v in (request.get("headers") or {}).items() if k.lower() != "x-functions-key"},
        "tokenSource": request.get("tokenSource"),
        "asynchronousPatternEnabled": True,
    }
    return delay, poll


# Longer than any retry means; short enough that the clock plus it stays a datetime.
_LONGEST_DELAY = timedelta(days=365 * 100)


def _millis(value: Any) -> timedelta | None:
    return None if value is None else _clamped(float(value))


def _clamped(milliseconds: float) -> timedelta:
    if milliseconds != milliseconds or milliseconds < 0:  # NaN or negative: no wait
        return timedelta(0)
    return timedelta(milliseconds=min(milliseconds, _LONGEST_DELAY / timedelta(milliseconds=1)))


def _first(value: Any) -> str | None:
    if isinstance(value, list):
        return str(value[0]) if value else None
    return None if value is None else str(value)
