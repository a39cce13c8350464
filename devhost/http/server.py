"""The HTTP server under the app: what a client may send before its request reaches a
handler, with the limits and answers of Kestrel, the server in the Functions host.

aiohttp's parser has size limits of its own, but answers every request it refuses with a
text/plain 400 and logs a traceback, and it waits an hour (its keep-alive timeout) for
headers that never end, which lets a slowloris client hold connections by dribbling
them. Here, as with Kestrel's defaults: a request line over 8 KB answers 414; a header
over 32 KB, more than 100 headers or 32 KB of headers in all answer 431; headers still
incomplete 30 s after their first byte (`RequestHeadersTimeout`) answer 408. Each with a
JSON `{"error": ...}` body, and the connection closed, as Kestrel closes it after a bad
request. An idle keep-alive connection is not a slow request: its timer starts with the
first byte of the next request, as Kestrel's does.

aiohttp builds one `RequestHandler` per connection in `web.Server.__call__`, so the
runner makes its server a `_Server` that builds `_Connection`s instead (aiohttp 3.14).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError, LineTooLong
from aiohttp.web_protocol import RequestHandler

logger = logging.getLogger(__name__)

Handler = Callable[[web.BaseRequest], Awaitable[web.StreamResponse]]

# Kestrel's defaults (KestrelServerLimits), which the Functions host keeps.
REQUEST_LINE_BYTES = 8 * 1024  # MaxRequestLineSize (aiohttp measures the target)
REQUEST_HEADERS_BYTES = 32 * 1024  # MaxRequestHeadersTotalSize
REQUEST_HEADER_COUNT = 100  # MaxRequestHeaderCount
REQUEST_HEADERS_TIMEOUT_S = 30.0  # RequestHeadersTimeout

# The parser's words for a request with more than `max_headers` headers (both of its
# implementations); it has no exception class of its own.
_TOO_MANY_HEADERS = "Too many headers received"

_HEADERS_TOO_LARGE = (
    f"Request headers too large: the host accepts at most {REQUEST_HEADER_COUNT} headers "
    f"of {REQUEST_HEADERS_BYTES} bytes in all."
)


class HostRunner(web.AppRunner):
    """The app's runner, serving it through a `_Server` with the limits above."""

    def __init__(self, app: web.Application, *, request_headers_timeout: float = REQUEST_HEADERS_TIMEOUT_S) -> None:
        super().__init__(app, access_log=None, handle_signals=False)
        self._request_headers_timeout = request_headers_timeout

    async def _make_server(self) -> web.Server:
        # aiohttp's own server for the app (made after the app's startup signals): its
        # handler and request factory are public attributes, and carry over unchanged.
        server = await super()._make_server()
        return _Server(
            _within_header_total(server.request_handler),
            request_factory=server.request_factory,
            request_headers_timeout=self._request_headers_timeout,
        )


class _Server(web.Server):
    """aiohttp's server, but each connection it accepts is a `_Connection`."""

    def __init__(
        self,
        handler: Handler,
        *,
        request_factory: Callable[..., web.BaseRequest],
        request_headers_timeout: float,
    ) -> None:
        super().__init__(handler, request_factory=request_factory)
        self._request_headers_timeout = request_headers_timeout

    def __call__(self) -> RequestHandler:
        return _Connection(
            self,
            loop=asyncio.get_running_loop(),
            access_log=None,
            request_headers_timeout=self._request_headers_timeout,
        )


class _Connection(RequestHandler):
    """One client connection: the parser's limits set to Kestrel's, its refusals answered
    as Kestrel answers them, and a timer on headers that take too long."""

    __slots__ = ("_headers_timeout", "_headers_timer")

    def __init__(self, manager: web.Server, *, request_headers_timeout: float, **kwargs: Any) -> None:
        super().__init__(
            manager,
            max_line_size=REQUEST_LINE_BYTES,
            # No single header may be larger than all of them together may be.
            max_field_size=REQUEST_HEADERS_BYTES,
            max_headers=REQUEST_HEADER_COUNT,
            **kwargs,
        )
        self._headers_timeout = request_headers_timeout
        self._headers_timer: asyncio.TimerHandle | None = None

    def _awaiting_request(self) -> bool:
        """True while no request is parsed, queued or being answered: the connection waits
        for the next one. (`_waiter` is what aiohttp's own keep-alive check tests for the
        same state; it is pending only then.)"""
        waiter = self._waiter
        return waiter is not None and not waiter.done()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if not self._awaiting_request():  # the headers are complete (or a request runs)
            self._stop_headers_timer()
        elif data and self._headers_timer is None:  # the first bytes of a request
            loop = asyncio.get_running_loop()
            self._headers_timer = loop.call_later(self._headers_timeout, self._headers_timed_out)

    def connection_lost(self, exc: BaseException | None) -> None:
        self._stop_headers_timer()
        super().connection_lost(exc)

    def _stop_headers_timer(self) -> None:
        if self._headers_timer is not None:
            self._headers_timer.cancel()
            self._headers_timer = None

    def _headers_timed_out(self) -> None:
        self._headers_timer = None
        if self.transport is None or not self._awaiting_request():
            return
        logger.debug("Request headers from %s took over %ss; closing.", self.peername, self._headers_timeout)
        # No request exists to answer through aiohttp's response machinery, and nothing
        # else writes on an idle connection: the answer goes out as bytes, then it closes.
        message = f"Request headers took longer than {self._headers_timeout:g} s to arrive."
        body = json.dumps({"error": message}).encode()
        head = (
            "HTTP/1.1 408 Request Timeout\r\n"
            "Content-Type: application/json; charset=utf-8\r\n"
            f"Content-Length: {len(body)}\r\n"
            "Connection: close\r\n\r\n"
        )
        self.transport.write(head.encode("ascii") + body)
        self.force_close()

    def handle_error(
        self,
        request: web.BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        """aiohttp's answer to a request it could not parse, or to a handler that failed
        outside the app's error middleware: JSON, never a traceback."""
        if isinstance(exc, HttpProcessingError):
            # The client's mistake, not the host's: no traceback on the console.
            logger.debug("Refused a request from %s: %s", request.remote, exc)
            status, text = _refusal(exc)
        else:
            # aiohttp's own handling logs the failure and refuses to answer twice.
            status = super().handle_error(request, status, exc, message).status
            text = "The host failed to handle this request; see its console."
        return _closing_json(status, text)


def _refusal(exc: HttpProcessingError) -> tuple[int, str]:
    """The status and message Kestrel's rejection reasons map to. `LineTooLong` names the
    limit it hit, which tells the request line from a header (their limits differ)."""
    if isinstance(exc, LineTooLong) and exc.args[1] == REQUEST_LINE_BYTES:
        return 414, f"Request line too long: the host accepts at most {REQUEST_LINE_BYTES} bytes."
    if isinstance(exc, LineTooLong) or exc.message == _TOO_MANY_HEADERS:
        return 431, _HEADERS_TOO_LARGE
    first_line = (exc.message or "malformed request").splitlines()[0]
    return 400, f"Bad HTTP request: {first_line}"


def _within_header_total(handler: Handler) -> Handler:
    """aiohttp limits each header and their number, not their sum: that is checked here,
    before the app sees the request (each line counted with its `: ` and CRLF)."""

    async def handle(request: web.BaseRequest) -> web.StreamResponse:
        total = sum(len(name) + len(value) + 4 for name, value in request.raw_headers)
        if total > REQUEST_HEADERS_BYTES:
            return _closing_json(431, _HEADERS_TOO_LARGE)
        return await handler(request)

    return handle


def _closing_json(status: int, message: str) -> web.Response:
    """Kestrel closes a connection after refusing a request on it: what the client sent
    after the refused part cannot be trusted to start a request."""
    response = web.json_response({"error": message}, status=status)
    response.force_close()
    return response
