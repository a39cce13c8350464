"""What the loopback proxies in front of Azurite's endpoints share (`http_faults.py`
answers chosen requests itself, `storage_calls.py` counts them): a server on a free
port of 127.0.0.1 that closes the connections it still holds when it stops, and the
reading of HTTP/1.1 heads and bodies off a stream."""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from typing import Optional


class LoopbackProxy(ABC):
    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self._server: Optional[asyncio.Server] = None
        self.links: set[asyncio.StreamWriter] = set()  # connections to close at the end

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)

    async def close(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self.links):
            writer.close()
        await self._server.wait_closed()

    @abstractmethod
    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None: ...


async def read_head(reader: asyncio.StreamReader) -> Optional[list[str]]:
    """A request's or response's head as lines; None where the peer closed between them."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as error:
        if error.partial:
            raise
        return None
    return head.decode("latin-1").split("\r\n")[:-2]


def header(lines: list[str], name: str) -> Optional[str]:
    for line in lines[1:]:
        key, _, value = line.partition(":")
        if key.strip().lower() == name:
            return value.strip()
    return None


async def read_body(reader: asyncio.StreamReader, lines: list[str], *, to_close: bool) -> tuple[bytes, bytes]:
    """The body as it travels (raw) and as it reads (chunks joined): by Content-Length, by
    chunks, or (`to_close`, a response without either) up to the end of the connection."""
    length = header(lines, "content-length")
    if length is not None:
        body = await reader.readexactly(int(length))
        return body, body
    if (header(lines, "transfer-encoding") or "").lower() == "chunked":
        raw, data = bytearray(), bytearray()
        while True:
            size_line = await reader.readuntil(b"\r\n")
            size = int(size_line.split(b";")[0], 16)
            chunk = await reader.readexactly(size + 2)
            raw += size_line + chunk
            data += chunk[:-2]
            if size == 0:
                return bytes(raw), bytes(data)
    if to_close:
        body = await reader.read()
        return body, body
    return b"", b""
