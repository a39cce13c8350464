"""Partition ownership: one blob lease per control queue, in `<hub>-leases`.

Only the owner of a partition reads its control queue, so two hosts on one hub never run
episodes of the same instance at once (the History sentinel's ETag is the second line of
defence). Leases last LEASE_S and are renewed every RENEW_S; a host that dies loses its
partitions to the others when they lapse. A lease id is the host's identity, so a host
restarted with the same identity takes its partitions back at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from azure.core.exceptions import HttpResponseError, ResourceExistsError
from azure.storage.blob.aio import BlobLeaseClient, ContainerClient

from ...supervision import Supervisor

logger = logging.getLogger(__name__)

LEASE_S = 15
RENEW_S = 5


class PartitionLeases:
    def __init__(
        self,
        container: ContainerClient,
        partitions: int,
        owner: str,
        *,
        acquired: Callable[[int], None],
        lost: Callable[[int], None],
    ) -> None:
        self._container = container
        self._partitions = partitions
        self._owner = owner
        self._acquired = acquired
        self._lost = lost
        self._held: dict[int, BlobLeaseClient] = {}

    @property
    def owned(self) -> frozenset[int]:
        return frozenset(self._held)

    async def start(self, loops: Supervisor) -> None:
        for partition in range(self._partitions):
            with contextlib.suppress(ResourceExistsError):
                await self._container.upload_blob(self._blob(partition), b"", overwrite=False)
        await self._balance()
        loops.spawn("partition-leases", self._keep, max_backoff=2.0)

    async def stop(self) -> None:
        """Releases the leases (the keeping loop stopped with the supervisor)."""
        for partition, lease in list(self._held.items()):
            with contextlib.suppress(HttpResponseError):
                await lease.release()
            self._held.pop(partition, None)

    async def _keep(self) -> None:
        """Storage failures propagate to the supervisor, which tries again soon; the
        leases held meanwhile are kept until they are renewed or found lost."""
        while True:
            await asyncio.sleep(RENEW_S)
            await self._balance()

    async def _balance(self) -> None:
        """Renews what we hold and takes any partition whose lease has lapsed."""
        for partition in range(self._partitions):
            lease = self._held.get(partition)
            if lease is not None:
                try:
                    await lease.renew()
                    continue
                except HttpResponseError:
                    del self._held[partition]
                    logger.warning("Lost the lease of partition %d.", partition)
                    self._lost(partition)
            lease = BlobLeaseClient(self._container.get_blob_client(self._blob(partition)), self._owner)
            try:
                await lease.acquire(lease_duration=LEASE_S)
            except HttpResponseError:
                continue  # another host owns it
            self._held[partition] = lease
            self._acquired(partition)

    @staticmethod
    def _blob(partition: int) -> str:
        return f"control-{partition:02d}"
