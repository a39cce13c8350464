"""The Azure Storage queue trigger (`@app.queue_trigger`), as WebJobs `QueueListener` and
`QueueProcessor` (Storage.Queues extension 5.x) run it.

The listener takes up to `batchSize` messages at a time, invisible for 10 minutes
(renewed while their functions run), and takes more once no more than
`newBatchThreshold` of them are still running. An empty queue is polled again after a
randomized exponential backoff from 100 ms up to `maxPollingInterval`; a message found
starts it from the bottom again, and a message this host sends to the queue (an output
binding, a poison move) wakes it at once. A message is deleted only after its function
succeeded; a failed one is made visible again after `visibilityTimeout`, and once it has
been dequeued `maxDequeueCount` times it is copied to `<queue>-poison` and deleted. A
message that is not base64 while `messageEncoding` is base64 goes to the poison queue
straight away (the host's `MessageDecodingFailed` handler).

Where devhost differs: it creates the trigger's queue when it is missing (the host only
waits for it to appear), and a host that stops does not wait for running functions: the
messages they hold are made visible again at once, for the next start to take.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from typing import Any

from ..bindings.queue_options import MIN_POLLING_S, QueuesOptions
from ..bindings.queue_storage import (
    RandomizedBackoff,
    UndecodableMessage,
    decode_body,
    ensure_queue,
    indexed_queue_name,
    poison_queue_name,
    queue_client,
    watcher,
)
from ..invoker import Triggered
from ..loader import FunctionInfo
from ..supervision import Supervisor
from .listeners import Listener, TriggerServices
from .queue_messages import VISIBILITY_S, HeldMessage, MessageFacts, by_hand_triggered, message_triggered

logger = logging.getLogger(__name__)

# How long a stopping host waits for a receive under way, and tries to hand a held
# message back, before leaving it to reappear when its invisibility lapses.
_RELEASE_ON_STOP_S = 5.0


class QueueListener(Listener):
    def __init__(self, info: FunctionInfo, binding: Mapping[str, Any], services: TriggerServices) -> None:
        super().__init__(info, binding, services)
        self._options = QueuesOptions.of(services.extension("queues"), services.settings)
        self._name = indexed_queue_name(binding.get("queueName"), info.name)
        self._poison_name = poison_queue_name(self._name)
        # The host binds bytes for `dataType` binary/stream, a string otherwise.
        self._binary = str(binding.get("dataType") or "").lower() in ("binary", "stream")
        self._connection = self.connection()
        self._backoff = RandomizedBackoff(MIN_POLLING_S, self._options.max_polling_s)
        self._found_since_delay = False
        self._wake = asyncio.Event()
        self._receiving = asyncio.Lock()
        self._processing: set[asyncio.Task[None]] = set()
        self._held: set[HeldMessage] = set()
        self._loops: Supervisor | None = None
        self._queue: Any = None
        self._queue_ready = False
        self._poison: Any = None

    @property
    def _loop_name(self) -> str:
        return f"queue trigger {self.info.name}"

    async def start(self, loops: Supervisor) -> None:
        accounts = self.services.accounts
        self._queue = queue_client(accounts, self._connection, self._name)
        if self._poison_name is not None:
            self._poison = queue_client(accounts, self._connection, self._poison_name)
        watcher(accounts).register(self._queue.url, self._wake)
        self._loops = loops
        loops.spawn(self._loop_name, self._poll, transient=self.services.transient_errors)

    async def stop(self) -> None:
        if self._loops is not None:
            # A receive under way registers what it took first (unless storage hangs:
            # then what it takes reappears when its invisibility lapses).
            acquired: bool
            try:
                acquired = await asyncio.wait_for(self._receiving.acquire(), _RELEASE_ON_STOP_S)
            except TimeoutError:
                acquired = False
            self._loops.cancel(self._loop_name)
            if acquired:
                self._receiving.release()
            self._loops = None
            watcher(self.services.accounts).unregister(self._queue.url, self._wake)
        for task in list(self._processing):
            task.cancel()
        await asyncio.gather(*self._processing, return_exceptions=True)
        held, self._held = list(self._held), set()
        await asyncio.gather(*(self._hand_back(message) for message in held))

    def by_hand(self, text: str | None) -> Triggered:
        return by_hand_triggered(self._name, self.info.trigger_parameter, text or "", self._binary)

    # --- polling (WebJobs `QueueListener.ExecuteAsync`) -----------------------------------

    async def _poll(self) -> None:
        """The listener's loop; storage out of reach pauses it (the supervisor's backoff),
        it does not stop the host."""
        if not self._queue_ready:
            await ensure_queue(self._queue)
            self._queue_ready = True
        while True:
            self._wake.clear()
            if await self._receive():
                self._found_since_delay = True
                await self._wait_for_new_batch_threshold()
                continue
            delay = self._backoff.next_delay(found_message=self._found_since_delay)
            self._found_since_delay = False
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), delay)

    async def _receive(self) -> bool:
        """Takes a batch and starts its messages; False when it found none."""
        from azure.core.exceptions import HttpResponseError

        from ..stores.azure.queues import receive

        async with self._receiving:
            try:
                taken = await receive(self._queue, self._options.batch_size, VISIBILITY_S)
            except HttpResponseError as error:
                # The host backs off on a missing queue and on server errors, and fails
                # on anything else (here: the supervisor stops the host, saying why).
                if getattr(error, "error_code", None) == "QueueNotFound":
                    await ensure_queue(self._queue)  # deleted meanwhile
                    return False
                if error.status_code is not None and error.status_code >= 500:
                    logger.warning("Queue '%s': storage failed (%s); polling again later.", self._name, error.reason)
                    return False
                raise
            for message in taken:
                held = HeldMessage(
                    queue=self._queue,
                    facts=MessageFacts(
                        id=message.id,
                        pop_receipt=message.pop_receipt,
                        dequeue_count=message.dequeue_count or 0,
                        inserted_on=message.inserted_on,
                        expires_on=message.expires_on,
                        next_visible_on=message.next_visible_on,
                    ),
                    text=message.content or "",
                    pop_receipt=str(message.pop_receipt),  # a received message has one
                )
                self._held.add(held)
                task = asyncio.get_running_loop().create_task(self._process(held))
                self._processing.add(task)
                task.add_done_callback(self._finished)
        return bool(taken)

    async def _wait_for_new_batch_threshold(self) -> None:
        while len(self._processing) > self._options.new_batch_threshold:
            await asyncio.wait(set(self._processing), return_when=asyncio.FIRST_COMPLETED)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._processing.discard(task)
        if not task.cancelled() and task.exception() is not None:
            error = task.exception()
            logger.error("Queue '%s': processing a message failed", self._name, exc_info=error)

    # --- one message (WebJobs `QueueListener.ProcessMessageAsync`, `QueueProcessor`) ---------

    async def _process(self, held: HeldMessage) -> None:
        """Runs and completes one message; a cancelled one (the host stops) stays held,
        for `stop` to hand back."""
        from azure.core.exceptions import HttpResponseError

        storage_errors: tuple[type[BaseException], ...] = (HttpResponseError, *self.services.transient_errors)
        try:
            await self._run_and_complete(held)
        except storage_errors as error:
            logger.warning(
                "Queue '%s': storage failed on message %s (%s); it comes back when its invisibility lapses.",
                self._name, held.facts.id, type(error).__name__,
            )  # fmt: skip
        self._held.discard(held)

    async def _run_and_complete(self, held: HeldMessage) -> None:
        options = self._options
        if self._poison is not None and held.facts.dequeue_count > options.max_dequeue_count:
            return await self._move_to_poison(held, None)
        try:
            body = decode_body(held.text, options.message_encoding)
        except UndecodableMessage:
            if self._poison is not None:
                await self._move_to_poison(held, None)
            return None
        triggered = message_triggered(self._name, self.info.trigger_parameter, body, self._binary, held.facts)
        if await self._invoke(held, triggered):
            await held.delete()
        elif self._poison is None:
            pass  # no poison queue: left invisible, so it does not come round at once
        elif held.facts.dequeue_count >= options.max_dequeue_count:
            await self._move_to_poison(held, body)
        else:
            await held.release(options.visibility_timeout_s)
        return None

    async def _invoke(self, held: HeldMessage, triggered: Triggered) -> bool:
        """True if the function succeeded; the message stays invisible while it runs."""
        renewal = asyncio.get_running_loop().create_task(held.keep_invisible())
        try:
            await self.services.invoke(self.info, triggered)
            return True
        except Exception:  # the user's failure, logged by the invoker
            return False
        finally:
            renewal.cancel()
            await asyncio.gather(renewal, return_exceptions=True)

    async def _move_to_poison(self, held: HeldMessage, body: bytes | None) -> None:
        """`body` None: the message's text as it is (one that could not be decoded)."""
        assert self._poison is not None
        await held.poison(self._poison, self._options.max_dequeue_count, body, self._options.message_encoding)
        watcher(self.services.accounts).notify(self._poison.url)

    async def _hand_back(self, held: HeldMessage) -> None:
        """At stop: a message whose function did not finish is visible again at once."""
        from azure.core.exceptions import AzureError

        try:
            await asyncio.wait_for(held.release(0), _RELEASE_ON_STOP_S)
        except (TimeoutError, AzureError, OSError) as error:  # it reappears when its invisibility lapses
            logger.debug("Queue '%s': message %s not handed back (%s).", self._name, held.facts.id, error)
