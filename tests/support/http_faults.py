"""A real HTTP proxy on loopback in front of one storage endpoint that answers chosen
requests itself: storage refusing a payload (a 400), a response that is not HTTP at all,
or no answer (a call that hangs, at a point the test knows it was reached). Everything
else is forwarded to Azurite unchanged, so only the chosen calls fail."""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import AsyncIterator, Callable, Union

from .proxies import LoopbackProxy, read_body, read_head


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    body: bytes


class Hang:
    """An answer of no answer: see HANG."""


# What to answer instead of storage (raw bytes of a response, or HANG), or None to forward.
Fault = Callable[[Request], Union[bytes, Hang, None]]


def refusal(code: str, message: str) -> bytes:
    """A 400 as Azure Storage answers a payload it cannot hold."""
    body = f'{{"odata.error":{{"code":"{code}","message":{{"lang":"en-US","value":"{message}"}}}}}}'.encode()
    head = (
        "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json;odata=minimalmetadata\r\n"
        f"x-ms-error-code: {code}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + body


# A status line no HTTP client can parse: the client's "bad response" error.
GARBLED = b"HTTP/1.1 ???\r\n\r\n"
# No answer at all: the request is held (and `FaultyHttpProxy.hung` set) until
# `release_hung`, then its connection closes unanswered.
HANG = Hang()


class FaultyHttpProxy(LoopbackProxy):
    """Reads each request whole (head, then a Content-Length body), asks `fault`, and
    either answers with its bytes or forwards the request on a fresh upstream connection
    (`Connection: close`, so the response ends where the upstream closes)."""

    def __init__(self, upstream_port: int, fault: Fault) -> None:
        super().__init__(upstream_port)
        self._fault = fault
        self.answered = 0  # requests the proxy answered itself
        self.hung = asyncio.Event()  # a request is being held unanswered
        self._released = asyncio.Event()

    def release_hung(self) -> None:
        """Closes the held requests' connections, unanswered."""
        self._released.set()

    async def close(self) -> None:
        self.release_hung()
        await super().close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            lines = await read_head(reader)
            if lines is None:
                return
            method, path, _ = lines[0].split(" ", 2)
            headers = lines[1:]
            raw, body = await read_body(reader, lines, to_close=False)
            answer = self._fault(Request(method, path, body))
            if isinstance(answer, Hang):
                self.hung.set()
                await self._released.wait()
            elif isinstance(answer, bytes):
                self.answered += 1
                writer.write(answer)
            else:
                writer.write(await self._forward(lines[0], headers, raw))
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # the client went away
        finally:
            writer.close()

    async def _forward(self, request_line: str, headers: list[str], body: bytes) -> bytes:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        kept = [h for h in headers if not h.lower().startswith("connection:")]
        head = "\r\n".join([request_line, *kept, "Connection: close", "", ""]).encode("latin-1")
        up_writer.write(head + body)
        await up_writer.drain()
        response = await up_reader.read()
        up_writer.close()
        return response


@asynccontextmanager
async def faulty_proxy(upstream_port: int, fault: Fault) -> AsyncIterator[FaultyHttpProxy]:
    proxy = FaultyHttpProxy(upstream_port, fault)
    await proxy.start()
    try:
        yield proxy
    finally:
        await proxy.close()
