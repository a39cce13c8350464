"""Payloads too large for a queue message or a table property live as gzip blobs in
`<hub>-largemessages`, named under the instance, as the Azure Storage provider does
(docs/protocol.md H): messages over 45 KB, properties over 60 KB of UTF-16."""

from __future__ import annotations

import gzip

from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob.aio import ContainerClient

MESSAGE_LIMIT_CHARS = 45 * 1024
# Table string properties hold 64 KB of UTF-16; DTFx moves anything over 60 KB out.
PROPERTY_LIMIT_CHARS = 60 * 1024 // 2


class LargePayloads:
    def __init__(self, container: ContainerClient) -> None:
        self._container = container

    async def put(self, name: str, text: str) -> None:
        await self._container.upload_blob(name, gzip.compress(text.encode("utf-8")), overwrite=True)

    async def get(self, name: str) -> str:
        blob = await self._container.download_blob(name)
        return gzip.decompress(await blob.readall()).decode("utf-8")

    async def delete_under(self, prefix: str) -> None:
        """Everything stored for one instance (purge)."""
        async for blob in self._container.list_blobs(name_starts_with=prefix):
            try:
                await self._container.delete_blob(blob.name)
            except ResourceNotFoundError:
                pass
