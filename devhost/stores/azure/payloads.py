"""Payloads too large for a queue message or a table property live as gzip blobs in
`<hub>-largemessages`, named under the instance, as the Azure Storage provider does
(docs/protocol.md H): messages over 45 KB, properties over 60 KB of UTF-16."""

from __future__ import annotations

import contextlib
import gzip
import logging
from collections.abc import Callable

from azure.core.exceptions import HttpResponseError, ResourceNotFoundError, ServiceRequestError, ServiceResponseError
from azure.storage.blob.aio import ContainerClient

logger = logging.getLogger(__name__)

MESSAGE_LIMIT_CHARS = 45 * 1024
# Table string properties hold 64 KB of UTF-16; DTFx moves anything over 60 KB out.
PROPERTY_LIMIT_UNITS = 60 * 1024 // 2


def too_large_for_property(value: str) -> bool:
    """Over the property limit in UTF-16 code units, which is how the service counts:
    a character outside the Basic Multilingual Plane (an emoji) takes two."""
    if len(value) <= PROPERTY_LIMIT_UNITS // 2:
        return False  # even all astral, it fits: spare the encoding
    return len(value) > PROPERTY_LIMIT_UNITS or len(value.encode("utf-16-le")) // 2 > PROPERTY_LIMIT_UNITS


class LargePayloads:
    def __init__(self, container: ContainerClient) -> None:
        self._container = container

    async def put(self, name: str, text: str) -> None:
        await self._container.upload_blob(name, gzip.compress(text.encode("utf-8")), overwrite=True)

    async def get(self, name: str) -> str:
        blob = await self._container.download_blob(name)
        return gzip.decompress(await blob.readall()).decode("utf-8")

    async def delete(self, names: list[str]) -> None:
        """Blobs no committed row refers to any more (a value replaced): best effort, since
        the write that replaced them already committed; what is left goes with a purge."""
        for name in names:
            try:
                await self._container.delete_blob(name)
            except ResourceNotFoundError:
                pass
            except (HttpResponseError, ServiceRequestError, ServiceResponseError, OSError):
                logger.debug("Could not delete the replaced payload %s", name, exc_info=True)

    async def delete_listed(self, prefix: str, chosen: Callable[[str], bool]) -> None:
        """Best effort, as `delete`: the blobs under `prefix` whose names `chosen` picks."""
        try:
            names = [blob.name async for blob in self._container.list_blobs(name_starts_with=prefix)]
        except (HttpResponseError, ServiceRequestError, ServiceResponseError, OSError):
            logger.debug("Could not list the payloads under %s", prefix, exc_info=True)
            return
        await self.delete([name for name in names if chosen(name)])

    async def delete_under(self, prefix: str) -> None:
        """Everything stored for one instance (purge)."""
        async for blob in self._container.list_blobs(name_starts_with=prefix):
            with contextlib.suppress(ResourceNotFoundError):
                await self._container.delete_blob(blob.name)
