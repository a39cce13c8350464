"""What the queue trigger and the queue output binding share: queue names as the WebJobs
Queues extension accepts them, message bodies in the host's `messageEncoding`, sending
that creates a missing queue, and the per-host watcher through which a message this host
enqueues wakes the listener of that queue at once.

Clients are the accounts' raw-text ones: bodies are encoded and decoded here, message by
message, so one message that is not valid base64 does not fail a whole receive (the .NET
SDK decodes per message and raises `MessageDecodingFailed` for the bad one alone).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import random
import weakref
from typing import Any

from ..connections import StorageConnection
from ..errors import StartupError
from .accounts import StorageAccounts
from .queue_options import BASE64

POISON_SUFFIX = "-poison"  # WebJobs `QueueListenerFactory`


def queue_name_error(name: str) -> str | None:
    """Why storage refuses `name`, in WebJobs `QueueClientExtensions.IsValidQueueName`'s
    words; None for a valid name."""
    if not name:
        return "A queue name can't be null or empty"
    if len(name) < 3 or len(name) > 63:
        return f'A queue name must be from 3 to 63 characters long - "{name}"'
    if name[0] == "-" or name[-1] == "-":
        return f'The dash (-) character may not be the first or last letter - "{name}"'
    previous = "a"
    for ch in name:
        if ch.isupper():
            return f'Queue names must be all lower case - "{name}"'
        if not ch.isalnum() and ch != "-":
            return f'A queue name can contain only letters, numbers, and dash(-) characters - "{name}"'
        if ch == "-" and previous == "-":
            return "A queue name cannot contain consecutive dash(-) characters."
        previous = ch
    return None


def indexed_queue_name(raw: Any, function: str) -> str:
    """The queue a binding names, lower-cased ("coerce here to be nice": WebJobs
    `QueueTriggerAttributeBindingProvider.NormalizeAndValidate`); StartupError as the
    host refuses to index the function."""
    name = str(raw or "").lower()
    error = queue_name_error(name)
    if error is not None:
        raise StartupError(f"Error indexing method 'Functions.{function}': {error} (Parameter 'name')")
    return name


def poison_queue_name(name: str) -> str | None:
    """`<name>-poison`, or None where the host keeps no poison queue: for a poison queue
    itself and where the suffix would make the name too long."""
    if name.endswith(POISON_SUFFIX):
        return None
    poison = name + POISON_SUFFIX
    return poison if queue_name_error(poison) is None else None


class UndecodableMessage(ValueError):
    """A message body that is not base64 while `messageEncoding` is base64."""


def encode_body(body: bytes, encoding: str) -> str:
    """The message text storage keeps: base64 of the bytes, or (encoding none) the bytes
    as UTF-8 text, invalid bytes replaced (.NET `BinaryData.ToString`)."""
    if encoding == BASE64:
        return base64.b64encode(body).decode("ascii")
    return body.decode("utf-8", "replace")


def decode_body(text: str, encoding: str) -> bytes:
    """The message's bytes; UndecodableMessage where .NET's `Convert.FromBase64String`
    would throw (it skips white space, then wants whole, padded groups of four)."""
    if encoding != BASE64:
        return text.encode("utf-8")
    compact = "".join(text.split())
    try:
        return base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        raise UndecodableMessage(f"The message is not valid base64: {text[:40]!r}") from None


def queue_client(accounts: StorageAccounts, connection: StorageConnection, name: str) -> Any:
    return accounts.queues(connection).get_queue_client(name)


async def ensure_queue(queue: Any) -> None:
    from azure.core.exceptions import ResourceExistsError

    with contextlib.suppress(ResourceExistsError):
        await queue.create_queue()


async def send_creating(queue: Any, text: str) -> str:
    """Sends `text`, creating the queue if storage says it does not exist and sending
    again (WebJobs `AddMessageAndCreateIfNotExistsAsync`); the service's default
    time-to-live, as the host's `SendMessageAsync(body)`. Returns the message id."""
    from azure.core.exceptions import ResourceNotFoundError

    try:
        sent = await queue.send_message(text)
    except ResourceNotFoundError as error:
        if getattr(error, "error_code", None) != "QueueNotFound":
            raise
        await ensure_queue(queue)
        sent = await queue.send_message(text)
    return str(sent.id)


class RandomizedBackoff:
    """WebJobs `RandomizedExponentialBackoffStrategy`, how an idle queue is polled (the
    queue trigger's and the blob trigger queue's): after a poll that found messages,
    the minimum; then the minimum plus min * 2^(n-1) * a random 0.8-1.2, up to the
    maximum, where it stays until a message is found."""

    _RANDOMIZATION = 0.2

    def __init__(self, minimum: float, maximum: float) -> None:
        self._minimum = minimum
        self._maximum = maximum
        self._current = 0.0
        self._exponent = 0

    def next_delay(self, *, found_message: bool) -> float:
        if found_message:
            self._current, self._exponent = self._minimum, 1
        elif self._current != self._maximum:
            interval = self._minimum
            if self._exponent > 0:
                factor = random.uniform(1 - self._RANDOMIZATION, 1 + self._RANDOMIZATION)
                interval += factor * 2 ** (self._exponent - 1) * self._minimum
            if interval < self._maximum:
                self._current, self._exponent = interval, self._exponent + 1
            else:
                self._current = self._maximum
        return self._current


class QueueWatcher:
    """WebJobs `SharedQueueWatcher`: a queue output (or a poison move) in this host
    notifies the listener on that queue, which polls at once instead of waiting out its
    backoff. Keyed by the queue's URL (account and name)."""

    def __init__(self) -> None:
        self._listeners: dict[str, set[asyncio.Event]] = {}

    def register(self, queue_url: str, wake: asyncio.Event) -> None:
        self._listeners.setdefault(queue_url, set()).add(wake)

    def unregister(self, queue_url: str, wake: asyncio.Event) -> None:
        waiting = self._listeners.get(queue_url)
        if waiting is not None:
            waiting.discard(wake)
            if not waiting:
                del self._listeners[queue_url]

    def notify(self, queue_url: str) -> None:
        for wake in self._listeners.get(queue_url, ()):
            wake.set()


# One watcher per host: the host's accounts are what its listeners and bindings share.
_WATCHERS: weakref.WeakKeyDictionary[StorageAccounts, QueueWatcher] = weakref.WeakKeyDictionary()


def watcher(accounts: StorageAccounts) -> QueueWatcher:
    found = _WATCHERS.get(accounts)
    if found is None:
        found = _WATCHERS[accounts] = QueueWatcher()
    return found
