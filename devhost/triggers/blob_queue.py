"""The blob trigger queue, `azure-webjobs-blobtrigger-{hostId}`: where the container scan
puts one message per blob version, and where every host with that id takes them from
to run the function (WebJobs `SharedBlobQueueListener`, `BlobQueueTriggerExecutor`, and
the `QueueListener`/`QueueProcessor` it runs on).

A message names the function, container, blob and ETag (`BlobTriggerMessage`, indented
JSON, base64 as the extension's queue client writes it). It runs the function only if
the blob still exists with that ETag (a changed blob is left to the scan, which queues
the new version); a function that fails leaves the message to be received again at once
(visibility timeout 0); once it has been received `poisonBlobThreshold` times (host.json
`extensions.blobs`, default 5) it moves to `webjobs-blobtrigger-poison` in the blob's
account with the log line the host writes. `maxDegreeOfParallelism` (default 8 per core)
bounds the functions running at once, split into a receive batch and a threshold for the
next receive as the extension splits it (`BlobsOptionsToQueuesOptions`). Polls back off
from 100 ms to a minute while the queue stays empty (the queue trigger's backoff); a message this host queues wakes
its poll at once. A received message stays invisible for 10 minutes, renewed while the
function runs, as the host keeps it (and the queue trigger here does).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from azure.core.exceptions import AzureError, ResourceNotFoundError

from ..bindings.accounts import StorageAccounts
from ..bindings.blob_paths import BlobPath
from ..bindings.blobs import DownloadedBlob, download
from ..bindings.queue_options import BASE64, MIN_POLLING_S
from ..bindings.queue_storage import RandomizedBackoff, encode_body, send_creating
from ..connections import StorageConnection
from ..errors import StartupError
from .blob_scan import Watch
from .queue_messages import VISIBILITY_S, HeldMessage, MessageFacts

logger = logging.getLogger(__name__)

POISON_QUEUE = "webjobs-blobtrigger-poison"  # WebJobs HostQueueNames.BlobTriggerPoisonQueue
_MAX_POLL_S = 60.0  # QueuesOptions.MaxPollingInterval
_MAX_BATCH = 32  # QueuesOptions.MaxBatchSize
# What a message's own storage calls may fail with: the message then comes back by itself.
_STORAGE_ERRORS = (AzureError, OSError, asyncio.TimeoutError)


class Target(Protocol):
    """What a message runs: one function's blob trigger."""

    @property
    def watch(self) -> Watch: ...

    async def run(self, blob: DownloadedBlob) -> None:
        """Calls the function for the blob; raises what the call raised (logged)."""


@dataclass(frozen=True)
class BlobsOptions:
    """host.json `extensions.blobs` (WebJobs `BlobsOptions`)."""

    max_degree_of_parallelism: int
    poison_blob_threshold: int

    @classmethod
    def of(cls, section: Mapping[str, Any]) -> BlobsOptions:
        """StartupError for a value the host refuses (`BlobsOptions` setters: at least 1)."""
        values = {key.lower(): value for key, value in section.items()}

        def positive(name: str, default: int) -> int:
            value = values.get(name.lower(), default)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise StartupError(
                    f"host.json extensions.blobs.{name} must be a whole number of at least 1, not {json.dumps(value)}."
                )
            return value

        return cls(
            positive("maxDegreeOfParallelism", 8 * (os.cpu_count() or 1)),
            positive("poisonBlobThreshold", 5),
        )

    @property
    def batch_size(self) -> int:
        return min(_MAX_BATCH, self.max_degree_of_parallelism // 2 + 1)

    @property
    def new_batch_threshold(self) -> int:
        return self.max_degree_of_parallelism - self.batch_size


class BlobTriggerQueue:
    """The host's blob trigger queue and the functions its messages run."""

    def __init__(
        self,
        accounts: StorageAccounts,
        host_connection: StorageConnection,
        host_id: str,
        options: BlobsOptions,
        changed: Callable[[Watch, str], None],
    ) -> None:
        self.name = f"azure-webjobs-blobtrigger-{host_id}"  # HostQueueNames.GetHostBlobTriggerQueueName
        self._accounts = accounts
        self._queue = accounts.queues(host_connection).get_queue_client(self.name)
        self._host_connection = host_connection
        self._options = options
        self._changed = changed
        self._targets: dict[str, Target] = {}
        self._wake = asyncio.Event()
        self._running: set[asyncio.Task[None]] = set()
        self._held: dict[asyncio.Task[None], HeldMessage] = {}
        self._defect: BaseException | None = None  # a call's task failed: `run` raises it

    def register(self, function_id: str, target: Target) -> None:
        self._targets[function_id] = target

    def unregister(self, function_id: str) -> None:
        self._targets.pop(function_id, None)

    @property
    def empty(self) -> bool:
        return not self._targets

    async def enqueue(self, message: Mapping[str, Any]) -> str:
        """Puts a message on the queue (created if missing) and wakes this host's poll."""
        text = encode_body(json.dumps(message, indent=2, ensure_ascii=False).encode("utf-8"), BASE64)
        sent = await send_creating(self._queue, text)
        self._wake.set()
        return sent

    async def run(self) -> None:
        """Receives and starts messages until cancelled (a loop under the supervisor)."""
        found_since_delay = False
        backoff = RandomizedBackoff(MIN_POLLING_S, _MAX_POLL_S)
        while True:
            if self._defect is not None:
                raise self._defect  # the supervisor stops the host with it
            self._wake.clear()
            batch = await self._receive()
            for message in batch:
                held = HeldMessage(
                    queue=self._queue,
                    facts=MessageFacts(message.id, message.pop_receipt, message.dequeue_count or 0, None, None, None),
                    text=str(message.content),
                    pop_receipt=str(message.pop_receipt),
                )
                task = asyncio.get_running_loop().create_task(self._process(message, held))
                self._running.add(task)
                self._held[task] = held
                task.add_done_callback(self._done)
            if batch:
                found_since_delay = True
                while len(self._running) > self._options.new_batch_threshold:
                    await asyncio.wait(set(self._running), return_when=asyncio.FIRST_COMPLETED)
                continue
            delay = backoff.next_delay(found_message=found_since_delay)
            found_since_delay = False
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), delay)

    async def stop(self) -> None:
        """Cancels the calls still running and makes their messages visible again now."""
        tasks = list(self._running)
        held = [self._held[task] for task in tasks if task in self._held]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if held:
            await asyncio.gather(*(h.release(0) for h in held), return_exceptions=True)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        self._held.pop(task, None)
        if not task.cancelled() and task.exception() is not None and self._defect is None:
            self._defect = task.exception()
            self._wake.set()

    async def _receive(self) -> list[Any]:
        from ..stores.azure.queues import receive

        try:
            return await receive(self._queue, self._options.batch_size, VISIBILITY_S)
        except ResourceNotFoundError:  # not created yet: nothing was queued
            return []

    async def _process(self, message: Any, held: HeldMessage) -> None:
        """`QueueProcessor`: too many receives → poison; else run, then delete on success,
        poison after the last allowed attempt, or release for the next one."""
        threshold = self._options.poison_blob_threshold
        try:
            if message.dequeue_count > threshold:
                await self._poison(message, held)
                return
            renewal = asyncio.get_running_loop().create_task(held.keep_invisible())
            try:
                succeeded = await self._execute(message)
            finally:
                renewal.cancel()
                await asyncio.gather(renewal, return_exceptions=True)
            if succeeded:
                await held.delete()
            elif message.dequeue_count >= threshold:
                await self._poison(message, held)
            else:
                await held.release(0)
        except _STORAGE_ERRORS as error:
            logger.warning(
                "Blob trigger queue message '%s' was not settled (%s: %s); it comes back when its visibility lapses.",
                message.id, type(error).__name__, str(error).strip().splitlines()[0] if str(error).strip() else "",
            )  # fmt: skip

    async def _execute(self, message: Any) -> bool:
        """`BlobQueueTriggerExecutor.ExecuteAsync`: True when the message is done with."""
        body = _parsed(message.content)
        if body is None:
            logger.error("Invalid blob trigger message '%s' in queue '%s'.", message.id, self.name)
            return False
        target = self._targets.get(str(body.get("FunctionId")))
        if target is None:
            logger.debug(
                "Blob '%s' will not be processed because function '%s' cannot be found. Message Id: '%s'",
                body.get("BlobName"), body.get("FunctionId"), message.id,
            )  # fmt: skip
            return True
        blob = await download(
            self._accounts, target.watch.connection, BlobPath(str(body["ContainerName"]), str(body["BlobName"]))
        )
        if blob is None:
            logger.debug("Blob '%s' will not be processed because the blob cannot be found.", body["BlobName"])
            return True
        if blob.etag != body.get("ETag"):
            self._changed(target.watch, blob.path.name)  # the scan queues the new version
            return True
        try:
            await target.run(blob)
        except Exception:  # logged by the invoker with the host's failure lines
            return False
        return True

    async def _poison(self, message: Any, held: HeldMessage) -> None:
        """`CopyMessageToPoisonQueueAsync` to the poison queue of the blob's account."""
        body = _parsed(message.content) or {}
        target = self._targets.get(str(body.get("FunctionId")))
        connection = target.watch.connection if target is not None else self._host_connection
        logger.warning(
            "Message has reached MaxDequeueCount of %s. Moving message to queue '%s'.",
            self._options.poison_blob_threshold, POISON_QUEUE,
        )  # fmt: skip
        poison = self._accounts.queues(connection).get_queue_client(POISON_QUEUE)
        await send_creating(poison, str(message.content))
        await held.delete()


def _parsed(content: Any) -> dict[str, Any] | None:
    """A message's BlobTriggerMessage, or None when it is not one."""
    try:
        body = json.loads(base64.b64decode(str(content), validate=True).decode("utf-8"))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    if (
        not isinstance(body, dict)
        or not isinstance(body.get("ContainerName"), str)
        or not isinstance(body.get("BlobName"), str)
    ):
        return None
    return body
