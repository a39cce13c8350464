"""`@app.blob_trigger` in polling mode (the default `source`): each new or changed blob
that matches the function's `path` runs it once, across restarts and hosts.

The pieces are the WebJobs blob extension's (`BlobTriggerBinding`, `BlobListenerFactory`):
one container scan per host finds blob versions and hands each to the host's blob trigger
queue once, through receipts (blob_scan.py); the queue runs the function with the blob and
retries or poisons it (blob_queue.py). Receipts, scan info and the queue live in the
`AzureWebJobsStorage` account, under the host id; the blobs in the account the trigger's
`connection` names.

What the function gets is what the host sends the worker (`BlobTriggerBinding`,
`TriggerAdapterBindingProvider`, `GrpcMessageConversionExtensions.ToRpc`): the content as
bytes, whatever the `dataType` (the host's default type for a blob trigger is `byte[]`), and
trigger metadata `BlobTrigger` (`container/blob`, `func.InputStream.name`), `Uri`,
`Properties` (`ContentLength` is `.length`), `Metadata` and the pattern's captures, which
are also the binding data other bindings' `{...}` read.

A trigger with `source` `EventGrid` is listed but not run: devhost receives no Event Grid
events (it says so at start); it still runs when called by hand.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from azure.core.exceptions import AzureError
from azure.functions import meta

from ..bindings.accounts import connection_setting
from ..bindings.blob_paths import BlobPathError, BlobPattern, parse_blob_path
from ..connections import DEFAULT_CONNECTION
from ..errors import BadRequest, StartupError
from ..invoker import Triggered
from ..loader import FunctionInfo
from ..supervision import Supervisor
from .listeners import BY_HAND_REASON, Listener, TriggerServices

if TYPE_CHECKING:
    from ..bindings.blobs import DownloadedBlob
    from .blob_queue import BlobsOptions, BlobTriggerQueue
    from .blob_scan import BlobScanner, Watch

logger = logging.getLogger(__name__)

_POLLING = "LogsAndContainerScan"
_EVENT_GRID = "EventGrid"
_SHARED = "blobTrigger"  # TriggerServices.shared key
_SCAN_LOOP = "blob-trigger-scan"
_QUEUE_LOOP = "blob-trigger-queue"


@dataclass
class _HostBlobTriggers:
    """The one scan and one queue every blob trigger of a host shares."""

    scanner: BlobScanner
    queue: BlobTriggerQueue
    loops: Supervisor


class BlobListener(Listener):
    def __init__(self, info: FunctionInfo, binding: Mapping[str, Any], services: TriggerServices) -> None:
        super().__init__(info, binding, services)
        path = str(binding.get("path") or "")
        try:
            self.pattern = BlobPattern(path)
        except BlobPathError as error:
            where = "" if path and path in str(error) else f" (blob trigger path '{path}')"
            raise StartupError(f"Error indexing method 'Functions.{info.name}': {error}{where}") from None
        source = str(binding.get("source") or _POLLING)
        if source.lower() not in (_POLLING.lower(), _EVENT_GRID.lower()):
            raise StartupError(
                f"Error indexing method 'Functions.{info.name}': blob trigger source '{source}' is neither "
                f"'{_POLLING}' nor '{_EVENT_GRID}'."
            )
        self._source = _EVENT_GRID if source.lower() == _EVENT_GRID.lower() else _POLLING
        data_connection = self.connection()
        services.accounts.blobs(data_connection)  # a malformed connection stops the start
        # Receipts and the queue are in the host's own account, whatever the trigger's.
        self._host_connection = services.accounts.connection(DEFAULT_CONNECTION, function=info.name)
        from .blob_queue import BlobsOptions
        from .blob_scan import Watch

        self._options: BlobsOptions = BlobsOptions.of(services.extension("blobs"))
        self.function_id = f"Host.Functions.{info.name}"  # WebJobs FunctionDescriptor.Id
        self.watch: Watch = Watch(self.function_id, info.name, self.pattern, data_connection)
        self._shared: _HostBlobTriggers | None = None

    async def start(self, loops: Supervisor) -> None:
        if self._source == _EVENT_GRID:
            logger.warning(
                "%s: devhost receives no Event Grid blob events; it runs only when called by hand "
                "(POST /admin/functions/%s with {\"input\": \"<container>/<blob>\"}).",
                self.info.name, self.info.name,
            )  # fmt: skip
            return
        shared = self.services.shared.get(_SHARED)
        if shared is None:
            shared = self.services.shared[_SHARED] = self._start_shared(loops)
        shared.scanner.watch(self.watch)
        shared.queue.register(self.function_id, self)
        self._shared = shared

    def _start_shared(self, loops: Supervisor) -> _HostBlobTriggers:
        from .blob_queue import BlobTriggerQueue
        from .blob_scan import BlobScanner

        accounts, host_id = self.services.accounts, self.services.host_id
        # Each calls the other: the queue tells the scanner (made next) of changed blobs.
        queue = BlobTriggerQueue(
            accounts, self._host_connection, host_id, self._options, lambda w, b: scanner.changed(w, b)
        )
        scanner = BlobScanner(accounts, self._host_connection, host_id, queue.enqueue)
        transient = self.services.transient_errors
        loops.spawn(_SCAN_LOOP, scanner.run, transient=transient)
        loops.spawn(_QUEUE_LOOP, queue.run, transient=transient)
        return _HostBlobTriggers(scanner, queue, loops)

    async def stop(self) -> None:
        shared, self._shared = self._shared, None
        if shared is None:
            return
        shared.scanner.unwatch(self.function_id)
        shared.queue.unregister(self.function_id)
        if shared.queue.empty:
            self.services.shared.pop(_SHARED, None)
            shared.loops.cancel(_SCAN_LOOP)
            shared.loops.cancel(_QUEUE_LOOP)
            await shared.queue.stop()

    async def run(self, blob: DownloadedBlob) -> None:
        """A queued blob version: the function's call (blob_queue.Target)."""
        await self.services.invoke(self.info, self._triggered(blob, f"New blob detected({self._source}): {blob.path}"))

    def by_hand(self, text: str | None) -> Triggered:
        """The admin API's input is the blob's path, `container/blob` or its URL (WebJobs
        `BlobsExtensionConfigProvider.ConvertFromInvokeString`); read by `bind`."""
        if not text:
            raise BadRequest('A blob trigger is called with the blob\'s path: {"input": "<container>/<blob>"}.')
        try:
            path = parse_blob_path(text)
        except BlobPathError as error:
            raise BadRequest(str(error)) from None
        return Triggered(meta.Datum(str(path), "string"), BY_HAND_REASON)

    async def bind(self, triggered: Triggered) -> Triggered:
        from ..bindings.blobs import download

        path = parse_blob_path(str(triggered.datum.value))
        try:
            blob = await download(self.services.accounts, self.watch.connection, path)
        except (AzureError, OSError) as error:
            logger.error("Functions.%s was not called: reading blob '%s' failed: %s", self.info.name, path, error)
            raise
        if blob is None:
            logger.error(
                "Functions.%s was not called: blob '%s' does not exist in the account of connection '%s'.",
                self.info.name, path, connection_setting(self.binding),
            )  # fmt: skip
            raise LookupError(f"blob '{path}' does not exist")
        return self._triggered(blob, triggered.reason)

    def _triggered(self, blob: DownloadedBlob, reason: str) -> Triggered:
        """The call for a blob: content, trigger metadata and binding data as the host
        makes them (`BlobTriggerBinding.CreateBindingData`: the pattern's captures win
        over the built-in names)."""
        captures = self.pattern.match(blob.path.container, blob.path.name) or {}
        taken = {name.lower() for name in captures}
        built_in: dict[str, tuple[Any, meta.Datum]] = {
            "BlobTrigger": (str(blob.path), meta.Datum(str(blob.path), "string")),
            # A System.Uri, which Newtonsoft writes as a JSON string.
            "Uri": (blob.url, meta.Datum(json.dumps(blob.url), "json")),
            "Properties": (blob.properties, meta.Datum(json.dumps(blob.properties), "json")),
            "Metadata": (blob.metadata, meta.Datum(json.dumps(blob.metadata), "json")),
        }
        kept = {key: pair for key, pair in built_in.items() if key.lower() not in taken}
        data = {**{key: value for key, (value, _) in kept.items()}, **captures}
        metadata = {
            **{key: datum for key, (_, datum) in kept.items()},
            **{key: meta.Datum(value, "string") for key, value in captures.items()},
        }
        return Triggered(meta.Datum(blob.content, "bytes"), reason, metadata, data)
