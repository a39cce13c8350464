"""Clients that break HTTP's rules meet Kestrel's limits, as in the Functions host: an
over-long request line answers 414, too many or too large headers 431, headers that
dribble in for too long 408; each in JSON, never a 500 or a traceback on the console.
Requests go over raw sockets, so each byte on the wire is the test's own."""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, replace
from typing import Any, AsyncIterator

import pytest
import pytest_asyncio

from devhost.config import load_config
from devhost.host import Host
from devhost.http.server import REQUEST_HEADER_COUNT, REQUEST_HEADERS_BYTES, REQUEST_LINE_BYTES
from tests.support.apps import HTTP_APP

# Short enough that a test waits for the host's timer, not for Kestrel's 30 s.
HEADERS_TIMEOUT_S = 0.5
# How often the slow client sends another byte: well within the timeout, so a timer that
# restarted with every byte would never fire.
DRIBBLE_EVERY_S = 0.05
# Bounds on a test that fails (a host that never closes), not measurements.
DRIBBLE_LIMIT = 600
READ_LIMIT_S = 30.0


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: Any


@pytest_asyncio.fixture
async def limited() -> AsyncIterator[Host]:
    """The HTTP app, with the header timeout shortened."""
    config = load_config(HTTP_APP, port=0, virtual_clock=True)
    async with Host(replace(config, request_headers_timeout=HEADERS_TIMEOUT_S)) as running:
        yield running


def _port(host: Host) -> int:
    return int(host.base_url.rsplit(":", 1)[1])


def _request(target: str, headers: list[tuple[str, str]], *, close: bool = True) -> bytes:
    lines = [f"GET {target} HTTP/1.1", "Host: localhost", *(f"{n}: {v}" for n, v in headers)]
    if close:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def _read_answer(reader: asyncio.StreamReader) -> Answer:
    """One response, read by its Content-Length (so a kept-alive connection can go on)."""
    head = (await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), READ_LIMIT_S)).decode("latin-1")
    status_line, *header_lines = head.strip().split("\r\n")
    headers = {name.lower(): value for name, value in (line.split(": ", 1) for line in header_lines)}
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return Answer(int(status_line.split(" ")[1]), headers, json.loads(body) if body else None)


async def _exchange(host: Host, request: bytes) -> Answer:
    """Sends `request` on a new connection; the answer, once the host has closed it."""
    reader, writer = await asyncio.open_connection("127.0.0.1", _port(host))
    try:
        writer.write(request)
        await writer.drain()
        answer = await _read_answer(reader)
        assert await asyncio.wait_for(reader.read(), READ_LIMIT_S) == b"", "the host kept the connection open"
        return answer
    finally:
        writer.close()


def _assert_refused(answer: Answer, status: int, words: str) -> None:
    assert answer.status == status
    assert answer.headers["content-type"].startswith("application/json")
    assert words in answer.body["error"]


# --- sizes -----------------------------------------------------------------------------


async def test_a_request_line_over_8_kb_answers_414_in_json(limited: Host, caplog: pytest.LogCaptureFixture) -> None:
    answer = await _exchange(limited, _request("/api/inspect/" + "a" * REQUEST_LINE_BYTES, []))
    _assert_refused(answer, 414, f"at most {REQUEST_LINE_BYTES} bytes")
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], "the console got a refusal as an error"
    rest = "a" * (REQUEST_LINE_BYTES - 100)
    within = await _exchange(limited, _request(f"/api/inspect/{rest}", []))
    assert within.status == 200 and within.body["route_params"] == {"rest": rest}


_ONE_HUGE = [("X-Huge", "h" * REQUEST_HEADERS_BYTES)]
_TOO_MANY = [(f"X-Many-{n}", "m") for n in range(REQUEST_HEADER_COUNT)]  # with Host: one too many
_TOO_LARGE_IN_ALL = [(f"X-Large-{n}", "l" * 1024) for n in range(REQUEST_HEADERS_BYTES // 1024)]


# Host, Connection and 98 more: 100 headers, some 30 KB.
_NEAR_THE_LIMITS = [(f"X-Near-{n}", "n" * 300) for n in range(REQUEST_HEADER_COUNT - 2)]


@pytest.mark.parametrize(
    "headers", [_ONE_HUGE, _TOO_MANY, _TOO_LARGE_IN_ALL], ids=["one header", "count", "total size"]
)
async def test_headers_past_kestrels_limits_answer_431_in_json(
    limited: Host, headers: list[tuple[str, str]], caplog: pytest.LogCaptureFixture
) -> None:
    answer = await _exchange(limited, _request("/api/inspect/x", headers, close=False))
    _assert_refused(answer, 431, f"at most {REQUEST_HEADER_COUNT} headers")
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], "the console got a refusal as an error"
    within = await _exchange(limited, _request("/api/inspect/x", _NEAR_THE_LIMITS))
    assert within.status == 200 and within.body["headers"]["x-near-97"] == "n" * 300


async def test_a_malformed_request_answers_400_in_json(limited: Host, caplog: pytest.LogCaptureFixture) -> None:
    answer = await _exchange(limited, b"G(ET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
    _assert_refused(answer, 400, "Bad HTTP request")
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], "the console got a refusal as an error"


# --- time ------------------------------------------------------------------------------


async def _dribble_until_closed(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bytes:
    """A slowloris client: one more byte of a header value every DRIBBLE_EVERY_S, until
    the host closes the connection; what the host answered."""
    writer.write(b"GET /api/inspect/x HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")
    received = bytearray()
    for _ in range(DRIBBLE_LIMIT):
        try:
            chunk = await asyncio.wait_for(reader.read(65536), DRIBBLE_EVERY_S)
        except asyncio.TimeoutError:
            writer.write(b"s")
            continue
        except ConnectionResetError:  # a byte sent as the host closed
            return bytes(received)
        if not chunk:
            return bytes(received)
        received += chunk
    raise AssertionError(f"the host still waits for headers after {DRIBBLE_LIMIT} dribbled bytes")


async def test_a_client_dribbling_its_headers_is_answered_408_and_cut_off(limited: Host) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", _port(limited))
    try:
        received = await _dribble_until_closed(reader, writer)
    finally:
        writer.close()
    head, _, body = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408 ")
    assert "Request headers took longer than" in json.loads(body)["error"]


async def test_an_idle_keep_alive_connection_outlives_the_header_timeout(limited: Host) -> None:
    """Waiting between requests is not sending one slowly: a connection kept alive, idle
    all the while a slow client is cut off, still serves its next request."""
    reader, writer = await asyncio.open_connection("127.0.0.1", _port(limited))
    slow_reader, slow_writer = await asyncio.open_connection("127.0.0.1", _port(limited))
    try:
        writer.write(_request("/api/inspect/first", [], close=False))
        assert (await _read_answer(reader)).status == 200
        slow_writer.write(b"GET /api/inspect/slow HTTP/1.1\r\nHost: loc")
        assert (await _read_answer(slow_reader)).status == 408  # the timeout has passed
        writer.write(_request("/api/inspect/second", [], close=False))
        second = await _read_answer(reader)
        assert second.status == 200 and second.body["route_params"] == {"rest": "second"}
    finally:
        writer.close()
        slow_writer.close()
