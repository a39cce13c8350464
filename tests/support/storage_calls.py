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
from typing import AsyncIterator, Callable

from .proxies import LoopbackProxy, header, read_body, read_head


@dataclass(frozen=True)
class Call:
    """One request that reached storage, and what came back."""

    endpoint: str  # "table", "blob" or "queue": the connection string's endpoint
    method: str
    path: str
    status: int
    entities: int  # table entities in the answer (a query's page, or the one read)


def _entities(lines: list[str], body: bytes) -> int:
    if not (header(lines, "content-type") or "").startswith("application/json") or not body:
        return 0
    try:
        answer = json.loads(body)
    except ValueError:
        return 0
    if isinstance(answer, dict) and isinstance(answer.get("value"), list):
        return len(answer["value"])
    return 1 if isinstance(answer, dict) and "PartitionKey" in answer else 0


class CountingProxy(LoopbackProxy):
    """Forwards 127.0.0.1:<port> to `upstream_port`, one upstream connection per client
    connection (kept alive as the client keeps it), and appends each exchange to `calls`
    (shared with the other proxies)."""

    def __init__(self, endpoint: str, upstream_port: int, calls: list[Call]) -> None:
        super().__init__(upstream_port)
        self.endpoint = endpoint
        self.calls = calls

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        self.links |= {writer, up_writer}
        try:
            while (request := await read_head(reader)) is not None:
                raw, _ = await read_body(reader, request, to_close=False)
                up_writer.write("\r\n".join([*request, "", ""]).encode("latin-1") + raw)
                await up_writer.drain()
                response = await read_head(up_reader)
                if response is None:
                    break
                status = int(response[0].split(" ", 2)[1])
                method, path = request[0].split(" ", 2)[:2]
                bodiless = method == "HEAD" or status in (204, 304) or status < 200
                raw, data = (b"", b"") if bodiless else await read_body(up_reader, response, to_close=True)
                self.calls.append(Call(self.endpoint, method, path, status, _entities(response, data)))
                writer.write("\r\n".join([*response, "", ""]).encode("latin-1") + raw)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # either side went away
        finally:
            self.links -= {writer, up_writer}
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
