"""Counting what a host asks of storage: a keep-alive HTTP proxy on loopback in front of
one Azurite endpoint that forwards every request unchanged and records it, with how many
table entities its answer carried. Nothing in the host is touched: its connection string
simply names the proxy's port (`through`), so the count is of real requests on the wire.
"""

from __future__ import annotations

import asyncio
import json
import re
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import AsyncIterator, Callable, Optional


@dataclass(frozen=True)
class Call:
    """One request that reached storage, and what came back."""

    endpoint: str  # "table", "blob" or "queue": the connection string's endpoint
    method: str
    path: str
    status: int
    entities: int  # table entities in the answer (a query's page, or the one read)


async def _read_head(reader: asyncio.StreamReader) -> Optional[list[str]]:
    """A request's or response's head as lines; None where the peer closed between them."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as error:
        if error.partial:
            raise
        return None
    return head.decode("latin-1").split("\r\n")[:-2]


def _header(lines: list[str], name: str) -> Optional[str]:
    for line in lines[1:]:
        key, _, value = line.partition(":")
        if key.strip().lower() == name:
            return value.strip()
    return None


async def _read_body(reader: asyncio.StreamReader, lines: list[str], *, to_close: bool) -> tuple[bytes, bytes]:
    """The body as it travels (raw) and as it reads (chunks joined): by Content-Length, by
    chunks, or (`to_close`, a response without either) up to the end of the connection."""
    length = _header(lines, "content-length")
    if length is not None:
        body = await reader.readexactly(int(length))
        return body, body
    if (_header(lines, "transfer-encoding") or "").lower() == "chunked":
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


def _entities(lines: list[str], body: bytes) -> int:
    if not (_header(lines, "content-type") or "").startswith("application/json") or not body:
        return 0
    try:
        answer = json.loads(body)
    except ValueError:
        return 0
    if isinstance(answer, dict) and isinstance(answer.get("value"), list):
        return len(answer["value"])
    return 1 if isinstance(answer, dict) and "PartitionKey" in answer else 0


class CountingProxy:
    """Forwards 127.0.0.1:<port> to `upstream_port`, one upstream connection per client
    connection (kept alive as the client keeps it), and appends each exchange to `calls`
    (shared with the other proxies)."""

    def __init__(self, endpoint: str, upstream_port: int, calls: list[Call]) -> None:
        self.endpoint = endpoint
        self._upstream_port = upstream_port
        self._server: Optional[asyncio.Server] = None
        self._links: set[asyncio.StreamWriter] = set()
        self.calls = calls

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)

    async def close(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._links):
            writer.close()
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self._upstream_port)
        self._links |= {writer, up_writer}
        try:
            while (request := await _read_head(reader)) is not None:
                raw, _ = await _read_body(reader, request, to_close=False)
                up_writer.write("\r\n".join([*request, "", ""]).encode("latin-1") + raw)
                await up_writer.drain()
                response = await _read_head(up_reader)
                if response is None:
                    break
                status = int(response[0].split(" ", 2)[1])
                method, path = request[0].split(" ", 2)[:2]
                bodiless = method == "HEAD" or status in (204, 304) or status < 200
                raw, data = (b"", b"") if bodiless else await _read_body(up_reader, response, to_close=True)
                self.calls.append(Call(self.endpoint, method, path, status, _entities(response, data)))
                writer.write("\r\n".join([*response, "", ""]).encode("latin-1") + raw)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # either side went away
        finally:
            self._links -= {writer, up_writer}
            up_writer.close()
            writer.close()


class StorageCalls:
    """What went through the proxies in front of some of an Azurite's endpoints, in the
    order the answers came; `connection` names the proxies."""

    def __init__(self, connection: str, calls: list[Call]) -> None:
        self.connection = connection
        self.calls = calls

    def mark(self) -> int:
        """A point in the record to count from."""
        return len(self.calls)

    def since(self, mark: int, keep: Callable[[Call], bool] = lambda call: True) -> list[Call]:
        return [call for call in self.calls[mark:] if keep(call)]


_ENDPOINTS = {"table": "TableEndpoint", "blob": "BlobEndpoint", "queue": "QueueEndpoint"}


@asynccontextmanager
async def through(connection: str, *endpoints: str) -> AsyncIterator[StorageCalls]:
    """A connection string like `connection` whose `endpoints` ("table", "blob", "queue")
    go through counting proxies, while they run."""
    async with AsyncExitStack() as stack:
        calls: list[Call] = []
        for endpoint in endpoints:
            key = _ENDPOINTS[endpoint]
            match = re.search(rf"{key}=http://127\.0\.0\.1:(\d+)/", connection)
            assert match, f"{key} is not a loopback endpoint in the connection string"
            proxy = CountingProxy(endpoint, int(match.group(1)), calls)
            await proxy.start()
            stack.push_async_callback(proxy.close)
            connection = connection.replace(match.group(0), f"{key}=http://127.0.0.1:{proxy.port}/")
        yield StorageCalls(connection, calls)
