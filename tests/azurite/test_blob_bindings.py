"""Blob input and output bindings on a real Azurite, from HTTP functions and from an
activity on both durable stores, with values typed as the host sends them."""

from __future__ import annotations

import uuid
from typing import Any

import aiohttp
import pytest

from devhost.testing import DurableHost
from tests.support.apps import BLOB_APP
from tests.support.blobs import BlobTestbed


@pytest.fixture
def testbed(storage_connection: str, monkeypatch: pytest.MonkeyPatch) -> BlobTestbed:
    return BlobTestbed.create(storage_connection, monkeypatch)


async def test_an_http_function_writes_a_blob_that_others_read_as_str_bytes_and_stream(testbed: BlobTestbed) -> None:
    document = "héllo wörld".encode("utf-8")
    async with DurableHost(BLOB_APP) as host, aiohttp.ClientSession(base_url=host.base_url) as http:
        async with http.put("/api/documents/report.txt", data=document) as put:
            assert put.status == 201
        assert await testbed.read(testbed.data, "report.txt") == document  # the container was created
        async with http.get("/api/documents/report.txt/text") as text:
            assert await text.json() == {"type": "str", "value": "héllo wörld"}
        async with http.get("/api/documents/report.txt/binary") as binary:
            assert await binary.read() == document and binary.headers["x-python-type"] == "bytes"
        async with http.get("/api/documents/report.txt/stream") as stream:
            # An input binding's InputStream has no trigger metadata: no name.
            assert await stream.read() == document and stream.headers["x-name"] == "None"
        async with http.put("/api/documents/report.txt", data=b"second") as overwrite:
            assert overwrite.status == 201
        assert await testbed.read(testbed.data, "report.txt") == b"second"


async def test_a_blob_input_without_data_type_is_text_as_the_host_decodes_it(testbed: BlobTestbed) -> None:
    await testbed.put(testbed.data, "odd.bin", b"\xef\xbb\xbfbom \xff end")
    async with DurableHost(BLOB_APP) as host, aiohttp.ClientSession(base_url=host.base_url) as http:
        async with http.get("/api/documents/odd.bin/text") as text:
            # UTF-8 with its byte order mark dropped and the invalid byte replaced.
            assert await text.json() == {"type": "str", "value": "bom \ufffd end"}
        async with http.get("/api/documents/odd.bin/binary") as binary:
            assert await binary.read() == b"\xef\xbb\xbfbom \xff end"


async def test_a_missing_blob_is_none(testbed: BlobTestbed) -> None:
    async with DurableHost(BLOB_APP) as host, aiohttp.ClientSession(base_url=host.base_url) as http:
        async with http.get("/api/documents/absent.txt/text") as text:
            assert text.status == 404 and await text.text() == "no such document"


async def test_an_output_path_takes_its_name_from_the_json_body(testbed: BlobTestbed) -> None:
    async with DurableHost(BLOB_APP) as host, aiohttp.ClientSession(base_url=host.base_url) as http:
        async with http.post("/api/notes", json={"id": "n-7", "text": "remember"}) as posted:
            assert posted.status == 201
    assert await testbed.read(testbed.data, "notes/n-7.txt") == b"remember"


@pytest.mark.parametrize("store", ["memory", "azurite"])
async def test_an_activity_reads_and_writes_blobs_named_by_its_input(testbed: BlobTestbed, store: str) -> None:
    await testbed.put(testbed.data, "doc.txt", b"archive me")
    options: dict[str, Any] = (
        {"storage": "azurite", "connection": testbed.connection, "hub": f"Blobs{uuid.uuid4().hex[:10]}"}
        if store == "azurite"
        else {}
    )
    async with DurableHost(BLOB_APP, **options) as host:
        instance_id = await host.start("archive_document", {"name": "doc.txt"})
        status = await host.wait(instance_id)
    assert status.runtime_status == "Completed" and status.output == len("archive me")
    assert await testbed.read(testbed.data, "archive/doc.txt") == b"archive me"
