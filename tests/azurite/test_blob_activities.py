"""Blob summary activities against a real Azurite: list, analyze (streamed), report."""

import hashlib
import json
import uuid
from collections.abc import AsyncIterator

import pytest
from azure.storage.blob.aio import BlobServiceClient

from activities import analyze_blob, blobs, list_blobs, write_blob_report
from tests.unit.function_invoker import run_activity


@pytest.fixture
async def container(storage_connection: str) -> AsyncIterator[str]:
    """A fresh container, deleted afterwards."""
    name = f"test-{uuid.uuid4().hex[:12]}"
    async with BlobServiceClient.from_connection_string(storage_connection) as service:
        await service.create_container(name)
        try:
            yield name
        finally:
            await service.delete_container(name)


async def upload(connection: str, container: str, files: dict[str, bytes]) -> None:
    async with BlobServiceClient.from_connection_string(connection) as service:
        for name, content in files.items():
            await service.get_blob_client(container, name).upload_blob(content)


async def test_listing_gives_names_and_sizes_under_the_prefix(
    storage_connection: str, container: str
) -> None:
    await upload(
        storage_connection,
        container,
        {"logs/a.txt": b"abc", "logs/b.txt": b"hello", "other.txt": b"x"},
    )

    everything = await run_activity(list_blobs, {"container": container, "prefix": ""})
    logs = await run_activity(list_blobs, {"container": container, "prefix": "logs/"})

    assert everything["exists"] is True
    assert {blob["name"] for blob in everything["blobs"]} == {
        "logs/a.txt",
        "logs/b.txt",
        "other.txt",
    }
    assert logs == {
        "exists": True,
        "blobs": [{"name": "logs/a.txt", "size": 3}, {"name": "logs/b.txt", "size": 5}],
    }


async def test_missing_container_lists_as_not_existing(storage_connection: str) -> None:
    result = await run_activity(
        list_blobs, {"container": f"absent-{uuid.uuid4().hex[:8]}", "prefix": ""}
    )

    assert result == {"exists": False, "blobs": []}


async def test_empty_container_lists_no_blobs(storage_connection: str, container: str) -> None:
    assert await run_activity(list_blobs, {"container": container, "prefix": ""}) == {
        "exists": True,
        "blobs": [],
    }


async def test_analysis_counts_lines_words_and_hash(
    storage_connection: str, container: str
) -> None:
    content = "first line\nsecond  line here\nno newline at end".encode()
    await upload(storage_connection, container, {"doc.txt": content})

    stats = await run_activity(analyze_blob, {"container": container, "name": "doc.txt"})

    assert stats == {
        "name": "doc.txt",
        "size": len(content),
        "lines": 3,
        "words": 9,
        "sha256": hashlib.sha256(content).hexdigest(),
        "missing": False,
    }


async def test_analysis_is_the_same_when_streamed_in_tiny_chunks(
    storage_connection: str, container: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 7-byte downloads split words and multi-byte characters on purpose.
    content = "ünïcode wörds\nspan chunk borders ✓✓✓\n".encode() * 20
    await upload(storage_connection, container, {"big.txt": content})
    whole = await run_activity(analyze_blob, {"container": container, "name": "big.txt"})

    monkeypatch.setattr(blobs, "DOWNLOAD_CHUNK_BYTES", 7)
    chunked = await run_activity(analyze_blob, {"container": container, "name": "big.txt"})

    assert chunked == whole
    assert (chunked["lines"], chunked["words"], chunked["size"]) == (40, 120, len(content))


async def test_undecodable_bytes_are_counted_not_fatal(
    storage_connection: str, container: str
) -> None:
    content = b"\xff\xfe\x00 word\n"
    await upload(storage_connection, container, {"bin.dat": content})

    stats = await run_activity(analyze_blob, {"container": container, "name": "bin.dat"})

    assert (stats["lines"], stats["words"], stats["size"]) == (1, 2, len(content))


async def test_blob_deleted_after_listing_counts_as_missing(
    storage_connection: str, container: str
) -> None:
    stats = await run_activity(analyze_blob, {"container": container, "name": "gone.txt"})

    assert stats["missing"] is True
    assert (stats["size"], stats["lines"], stats["words"]) == (0, 0, 0)


async def test_report_is_written_under_the_container_and_instance(storage_connection: str) -> None:
    container = f"src-{uuid.uuid4().hex[:8]}"
    report = {
        "container": container,
        "prefix": "",
        "instance_id": "abc123",
        "generated_at": "2024-05-01T10:00:00Z",
        "batches": 1,
        "totals": {"blobs": 1, "bytes": 3, "lines": 1, "words": 1},
        "blobs": [
            {"name": "a.txt", "size": 3, "lines": 1, "words": 1, "sha256": "x", "missing": False}
        ],
    }

    path = await run_activity(write_blob_report, report)
    again = await run_activity(write_blob_report, report)

    assert path == again == f"blob-reports/{container}/abc123.json"
    async with BlobServiceClient.from_connection_string(storage_connection) as service:
        stored = await service.get_blob_client(
            "blob-reports", f"{container}/abc123.json"
        ).download_blob()
        assert json.loads(await stored.readall()) == report
