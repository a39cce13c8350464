"""The blob triggers' container scan: new or changed blobs found, and each version handed
to the blob trigger queue exactly once, through receipts.

As the WebJobs blob extension's polling strategy (`ScanBlobScanLogHybridPollingStrategy`,
`BlobTriggerExecutor`, `BlobReceiptManager`, `StorageBlobScanInfoManager`): each pass
lists one page of each watched container and looks at the blobs modified at or after the
latest modification the previous full sweep saw (kept in
`azure-webjobs-hosts/blobscaninfo/{hostId}/{account}/{container}/scanInfo`, so a restart
goes on from there; a first start looks at every blob). For a blob a function's pattern
matches, its current ETag names a receipt blob,
`azure-webjobs-hosts/blobreceipts/{hostId}/{functionId}/{eTag}/{container}/{blob}`: a
completed receipt means that version was handed over already; otherwise the receipt is
created (marked `Incomplete`), leased for 30 s, a message is put on the queue and the
receipt marked completed. Hosts on the same storage and host id take turns through the
lease, so a version is queued once; a host that dies between the message and the mark
queues it again once the lease lapsed (at least once, as the host). Blobs whose receipt
was busy are looked at again on the next pass.

Departures: the host scans every 10 s and also reads the storage analytics logs, which
Azurite does not write; devhost scans every `SCAN_INTERVAL_S` instead, and every host
scans (the host lets one instance per host id scan, under a singleton lock; the receipts
make the outcome the same).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError

from ..bindings.accounts import StorageAccounts
from ..bindings.blob_paths import BlobPattern
from ..bindings.blobs import blob_type_name
from ..connections import StorageConnection

logger = logging.getLogger(__name__)

SCAN_INTERVAL_S = 1.0
HOSTS_CONTAINER = "azure-webjobs-hosts"  # WebJobs HostContainerNames.Hosts
_LEASE_S = 30  # BlobReceiptManager.LeasePeriod
_INCOMPLETE = "Incomplete"  # BlobReceipt: the key's presence marks an unfinished receipt
_PAGE_BLOBS = 10_000  # the listing budget of one pass, shared by the containers
_NEVER = datetime.min.replace(tzinfo=UTC)
# A message for the queue (a BlobTriggerMessage's fields); answers the message id.
Enqueue = Callable[[dict[str, Any]], Awaitable[str]]


@dataclass(frozen=True)
class Watch:
    """One function's blob trigger: its id (`Host.Functions.<name>`), pattern and the
    connection of the account its container is in."""

    function_id: str
    function: str
    pattern: BlobPattern
    connection: StorageConnection


@dataclass
class _Container:
    """ContainerScanInfo: where the sweep through one container is."""

    connection: StorageConnection
    name: str
    watches: list[Watch] = field(default_factory=list)
    last_sweep: datetime | None = None  # None until loaded from the scan info blob
    current_sweep: datetime = _NEVER
    continuation: str | None = None


class BlobScanner:
    """The scan of every container the host's blob triggers watch (one per host)."""

    def __init__(
        self, accounts: StorageAccounts, host_connection: StorageConnection, host_id: str, enqueue: Enqueue
    ) -> None:
        self._accounts = accounts
        self._host_id = host_id
        self._hosts = accounts.blobs(host_connection).get_container_client(HOSTS_CONTAINER)
        self._enqueue = enqueue
        self._containers: dict[tuple[StorageConnection, str], _Container] = {}
        self._again: list[tuple[Watch, str]] = []  # (watch, blob) to look at on the next pass

    def watch(self, watch: Watch) -> None:
        key = (watch.connection, watch.pattern.container.lower())
        container = self._containers.setdefault(key, _Container(watch.connection, watch.pattern.container.lower()))
        container.watches.append(watch)

    def unwatch(self, function_id: str) -> None:
        for key, container in list(self._containers.items()):
            container.watches = [w for w in container.watches if w.function_id != function_id]
            if not container.watches:
                del self._containers[key]

    def changed(self, watch: Watch, blob: str) -> None:
        """A blob found changed since its message was queued: looked at on the next pass
        (the extension's blob-written notification)."""
        self._again.append((watch, blob))

    @property
    def empty(self) -> bool:
        return not self._containers

    async def run(self) -> None:
        """Scans until cancelled (a loop under the host's supervisor)."""
        while True:
            await self.scan()
            await asyncio.sleep(SCAN_INTERVAL_S)

    async def scan(self) -> None:
        """One pass: the blobs left for again first, then a page of each container."""
        again, self._again = self._again, []
        for n, (watch, blob) in enumerate(again):
            try:
                handed = await self._execute(watch, watch.pattern.container, blob)
            except BaseException:
                self._again.extend(again[n:])
                raise
            if not handed:
                self._again.append((watch, blob))
        for container in list(self._containers.values()):
            await self._poll(container)

    async def _poll(self, container: _Container) -> None:
        """`PollAndNotify`: one page of the container, its new blobs to each watch; the
        sweep moves on only once they all were (a pass cut short lists that page again)."""
        client = self._accounts.blobs(container.connection)
        account = str(client.account_name)
        if container.last_sweep is None:
            container.last_sweep = await self._load_scan(account, container.name) or _NEVER
        page = await self._list(client.get_container_client(container.name), container)
        if page is None:
            return
        found, continuation, current_sweep = page
        failed: list[datetime] = []
        for blob, modified in found:
            for watch in list(container.watches):
                if not await self._execute(watch, container.name, blob):
                    failed.append(modified)
                    self._again.append((watch, blob))
        before = container.last_sweep
        container.continuation, container.current_sweep = continuation, current_sweep
        if continuation is None and current_sweep > before:
            container.last_sweep = current_sweep
            # Failed blobs are looked at again after a restart too; a millisecond earlier
            # than the latest, as blob times are rounded to the second.
            latest = min(failed, default=current_sweep)
            await self._save_scan(account, container.name, latest - timedelta(milliseconds=1))

    async def _list(
        self, client: Any, container: _Container
    ) -> tuple[list[tuple[str, datetime]], str | None, datetime] | None:
        """`PollNewBlobsAsync`: the page's blobs modified at or after the last sweep's
        latest, the continuation, and the latest modification of this sweep so far; None
        when the container does not exist (the host waits for it: each pass looks again)."""
        assert container.last_sweep is not None
        current_sweep = _NEVER if container.continuation is None else container.current_sweep
        limit = max(_PAGE_BLOBS // max(len(self._containers), 1), 1)
        pages = client.list_blobs(results_per_page=min(limit, 5000)).by_page(continuation_token=container.continuation)
        try:
            page = await pages.__anext__()
            items = [item async for item in page]
        except ResourceNotFoundError:
            logger.debug("Container '%s' does not exist.", container.name)
            return None
        except StopAsyncIteration:
            items = []
        found = []
        for item in items:
            modified = item.last_modified
            current_sweep = max(current_sweep, modified)
            if modified >= container.last_sweep:
                found.append((str(item.name), modified))
        return found, pages.continuation_token or None, current_sweep

    async def _execute(self, watch: Watch, container: str, blob: str) -> bool:
        """`BlobTriggerExecutor.ExecuteAsync`: False when the blob must be looked at again
        (its receipt is busy with another host)."""
        if watch.pattern.match(container, blob) is None:
            logger.debug(
                "Blob '%s' will be skipped for function '%s' because it does not match the pattern '%s'.",
                blob, watch.function, watch.pattern,
            )  # fmt: skip
            return True
        data = self._accounts.blobs(watch.connection).get_blob_client(container, blob)
        try:
            properties = await data.get_blob_properties()
        except ResourceNotFoundError:
            return True  # deleted meanwhile: nothing to trigger on
        etag = str(properties.etag)
        receipt = self._hosts.get_blob_client(
            f"blobreceipts/{self._host_id}/{watch.function_id}/{etag}/{container}/{blob}"
        )
        state = await _receipt_state(receipt)
        if state == "completed":
            logger.debug(
                "Blob '%s' will be skipped for function '%s' because this blob with ETag '%s' "
                "has already been processed.",
                blob, watch.function, etag,
            )  # fmt: skip
            return True
        if state is None and not await self._create_receipt(receipt):
            return False  # another host just created it
        lease = await _acquire_lease(receipt)
        if lease is None:
            return False
        try:
            if await _receipt_state(receipt) == "completed":
                return True
            message_id = await self._enqueue(
                {
                    "Type": "BlobTrigger",
                    "FunctionId": watch.function_id,
                    "BlobType": blob_type_name(properties.blob_type),
                    "ContainerName": container,
                    "BlobName": blob,
                    "ETag": etag,
                }
            )
            logger.debug(
                "Blob '%s' is ready for processing by function '%s'. "
                "A message with id '%s' has been added to the queue.",
                blob, watch.function, message_id,
            )  # fmt: skip
            await _mark_completed(receipt, lease)
            return True
        finally:
            await _release(lease)

    async def _create_receipt(self, receipt: Any) -> bool:
        """`BlobReceiptManager.TryCreateAsync`: an incomplete receipt, if none exists yet."""
        for attempt in range(2):
            try:
                await receipt.upload_blob(b"", metadata={_INCOMPLETE: _INCOMPLETE}, overwrite=False)
                return True
            except ResourceNotFoundError:
                if attempt:
                    raise
                with contextlib.suppress(ResourceExistsError):
                    await self._hosts.create_container()
            except HttpResponseError as error:
                if error.status_code in (409, 412):  # exists, or leased by another host
                    return False
                raise
        return False

    async def _load_scan(self, account: str, container: str) -> datetime | None:
        try:
            downloaded = await self._hosts.get_blob_client(self._scan_info(account, container)).download_blob()
            text = (await downloaded.readall()).decode("utf-8-sig")
            latest = json.loads(text)["LatestScan"]
            return datetime.fromisoformat(latest.replace("Z", "+00:00")).astimezone(UTC)
        except ResourceNotFoundError:
            return None
        except (ValueError, KeyError, TypeError):
            logger.warning("The blob scan info of container '%s' is not readable; scanning every blob.", container)
            return None

    async def _save_scan(self, account: str, container: str, latest: datetime) -> None:
        """Best effort, as the host's: a failed write means more receipt checks, not less."""
        stamp = latest.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f").rstrip("0").rstrip(".") + "Z"
        try:
            await self._hosts.upload_blob(
                self._scan_info(account, container), json.dumps({"LatestScan": stamp}), overwrite=True
            )
        except HttpResponseError:
            logger.debug("The blob scan info of container '%s' was not saved.", container, exc_info=True)

    def _scan_info(self, account: str, container: str) -> str:
        return f"blobscaninfo/{self._host_id}/{account}/{container}/scanInfo"


async def _receipt_state(receipt: Any) -> str | None:
    try:
        properties = await receipt.get_blob_properties()
    except ResourceNotFoundError:
        return None
    incomplete = any(key.lower() == _INCOMPLETE.lower() for key in (properties.metadata or {}))
    return "incomplete" if incomplete else "completed"


async def _acquire_lease(receipt: Any) -> Any | None:
    """The receipt's lease, or None when another host holds it or the receipt is gone."""
    try:
        return await receipt.acquire_lease(lease_duration=_LEASE_S)
    except (ResourceExistsError, ResourceNotFoundError):
        return None
    except HttpResponseError as error:
        if error.status_code in (404, 409):
            return None
        raise


async def _mark_completed(receipt: Any, lease: Any) -> None:
    try:
        properties = await receipt.get_blob_properties()
        metadata = {k: v for k, v in (properties.metadata or {}).items() if k.lower() != _INCOMPLETE.lower()}
        await receipt.set_blob_metadata(metadata, lease=lease)
    except HttpResponseError as error:
        if error.status_code not in (404, 412):  # receipt deleted, or the lease lapsed
            raise


async def _release(lease: Any) -> None:
    try:
        await lease.release()
    except HttpResponseError as error:
        if error.status_code not in (404, 409):  # gone, or another lease took over
            raise
