"""Waiting for an outcome that only storage shows (a message on a queue, a function's
call): the condition polled against a deadline, never a fixed sleep."""

from __future__ import annotations

import asyncio
from typing import Awaitable, Callable, TypeVar

T = TypeVar("T")

_POLL_S = 0.05


async def eventually(check: Callable[[], Awaitable[T]], what: str, *, timeout: float = 30.0) -> T:
    """`check()`'s first truthy result; AssertionError naming `what` at the deadline."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = await check()
        if result:
            return result
        if loop.time() >= deadline:
            raise AssertionError(f"{what} did not happen within {timeout}s (last seen: {result!r})")
        await asyncio.sleep(_POLL_S)
