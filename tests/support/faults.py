"""A real TCP proxy between a host and its storage that fails the ways a network and a
storage service fail, on loopback, with nothing mocked: it stops answering (a hung
server), cuts connections mid-request (resets), or refuses connections (storage down)."""

from __future__ import annotations

import asyncio
import socket
import struct
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, AsyncIterator, Optional


@dataclass(eq=False)  # compared by identity: a set of live connections
class _Link:
    """One proxied connection. `awaiting_answer` is set when the client's bytes went
    upstream and nothing came back since: a request in flight, for HTTP/1.1."""

    client: asyncio.StreamWriter
    upstream: asyncio.StreamWriter
    awaiting_answer: bool = False
    answer_lost: bool = False  # the request went upstream; its answer is cut off


def _abort(writer: asyncio.StreamWriter) -> None:
    """Closes with a TCP reset, not a FIN: what the peer sees when a connection is cut."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
    writer.transport.abort()


def _take(armed: list[list[Any]], chunk: bytes) -> bool:
    """Whether `chunk` begins a request armed in `armed` ([start, requests to let pass
    first] each); disarmed once taken."""
    for entry in armed:
        if chunk.startswith(entry[0]):
            if entry[1]:
                entry[1] -= 1
                return False
            armed.remove(entry)
            return True
    return False


class StallingProxy:
    """Forwards 127.0.0.1:<port> to an upstream port until `stall()`; then bytes stop
    moving both ways (connections stay open, as with a hung server) until `flow()`.

    `reset()` cuts every live connection with a TCP reset, requests in flight included;
    `lose_answer(start)` cuts one connection exactly between a request that reached the
    server (its first bytes start with `start`) and its answer; `lose_request(start)`
    cuts it before the request reaches the server.
    `refuse()` stops listening, so connecting fails at once (a storage service that is
    down), until `listen()`; the port stays reserved meanwhile (a bound socket that does
    not listen), so nothing else can take it and the connection string stays valid."""

    def __init__(self, upstream_port: int) -> None:
        self._upstream_port = upstream_port
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._server: Optional[asyncio.AbstractServer] = None
        self._port = 0
        self._placeholder: Optional[socket.socket] = None
        self._pumps: set[asyncio.Task[None]] = set()
        self._links: set[_Link] = set()
        self._lose_answers: list[list[Any]] = []
        self._lose_requests: list[list[Any]] = []
        self.answers_lost = self.requests_lost = 0
        # Stall (as `stall()`) the moment an answer is lost: the client's retry then hangs.
        self.stall_after_lost_answer = False

    @property
    def port(self) -> int:
        return self._port

    def stall(self) -> None:
        self._flowing.clear()

    def flow(self) -> None:
        self._flowing.set()

    def reset(self) -> tuple[int, int]:
        """Cuts every live connection; returns how many, and how many of them had a
        request in flight."""
        links = list(self._links)
        for link in links:
            _abort(link.client)
            _abort(link.upstream)
        self._links.clear()
        return len(links), sum(link.awaiting_answer for link in links)

    def lose_answer(self, start: bytes) -> None:
        """The next request starting with `start` is done by the server, and the client
        sees its connection reset instead of the answer."""
        self._lose_answers.append([start, 0])

    def lose_request(self, start: bytes, *, passing: int = 0) -> None:
        """The next request starting with `start`, once `passing` such requests went
        through, never reaches the server: the client sees its connection reset."""
        self._lose_requests.append([start, passing])

    def refuse(self) -> None:
        """New connections are refused and live ones are cut, until `listen()`."""
        assert self._server is not None and self._placeholder is None
        # SO_REUSEPORT on both sockets lets the placeholder hold the port beside the
        # listener; once the listener closes, a connect finds no one listening.
        self._placeholder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._placeholder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        self._placeholder.bind(("127.0.0.1", self._port))
        self._server.close()
        self._server = None
        self.reset()

    async def listen(self) -> None:
        """Accepts connections again after `refuse()`."""
        assert self._server is None and self._placeholder is not None
        await self._start(self._port)
        self._placeholder.close()
        self._placeholder = None

    async def start(self) -> None:
        await self._start(0)

    async def _start(self, port: int) -> None:
        self._server = await asyncio.start_server(self._connect, "127.0.0.1", port, reuse_port=True)
        self._port = int(self._server.sockets[0].getsockname()[1])

    async def close(self) -> None:
        if self._placeholder is not None:
            self._placeholder.close()
            self._placeholder = None
        if self._server is not None:
            self._server.close()
        for pump in list(self._pumps):
            pump.cancel()
        await asyncio.gather(*self._pumps, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    async def _connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await self._flowing.wait()
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self._upstream_port)
        except OSError:
            writer.close()
            return
        link = _Link(writer, up_writer)
        self._links.add(link)
        for source, sink, asks in ((reader, up_writer, True), (up_reader, writer, False)):
            pump = asyncio.create_task(self._pump(source, sink, link, asks))
            self._pumps.add(pump)
            pump.add_done_callback(self._pumps.discard)

    async def _pump(
        self, source: asyncio.StreamReader, sink: asyncio.StreamWriter, link: _Link, asks: bool
    ) -> None:
        try:
            while chunk := await source.read(65536):
                await self._flowing.wait()
                if asks and _take(self._lose_requests, chunk):
                    self.requests_lost += 1
                    _abort(link.client)
                    _abort(link.upstream)
                    return
                if asks and _take(self._lose_answers, chunk):
                    link.answer_lost = True
                elif not asks and link.answer_lost:
                    self.answers_lost += 1
                    if self.stall_after_lost_answer:
                        self.stall()
                    _abort(link.client)
                    _abort(link.upstream)
                    return
                link.awaiting_answer = asks
                sink.write(chunk)
                await sink.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            self._links.discard(link)
            sink.close()


@asynccontextmanager
async def stalling_proxies(*upstream_ports: int) -> AsyncIterator[list[StallingProxy]]:
    proxies = [StallingProxy(port) for port in upstream_ports]
    for proxy in proxies:
        await proxy.start()
    try:
        yield proxies
    finally:
        for proxy in proxies:
            proxy.flow()
            await proxy.close()
