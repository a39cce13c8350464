"""Activities of `summarize_blobs`: list a container, analyze one blob, write the report.

Blobs are streamed in chunks, never loaded whole, so one activity copes with large files;
`TextStats` keeps lines and words right where a chunk splits a word or a UTF-8 character.
"""

import codecs
import hashlib
import json
import logging
from typing import Any, Optional

import azure.durable_functions as df
from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob import ContentSettings

from .storage import blob_service, write_creating_container

bp = df.Blueprint()
logger = logging.getLogger(__name__)

REPORTS_CONTAINER = "blob-reports"
# Bytes per download request: bounds an activity's memory whatever the blob's size.
DOWNLOAD_CHUNK_BYTES = 4 * 1024 * 1024


class TextStats:
    """Counts bytes, lines, words and the SHA-256 of content fed in arbitrary chunks.

    Content is read as UTF-8 with undecodable bytes replaced. Lines are newline
    characters plus one for a last line without one (so "a\\nb" has 2, "a\\n" has 1);
    words are runs of non-whitespace, as `str.split()` finds them.
    """

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._sha256 = hashlib.sha256()
        self.size = 0
        self.lines = 0
        self.words = 0
        self._in_word = False
        self._last_char: Optional[str] = None

    def feed(self, chunk: bytes) -> None:
        self._sha256.update(chunk)
        self.size += len(chunk)
        self._count(self._decoder.decode(chunk))

    def finish(self) -> dict[str, Any]:
        """The figures, once every chunk is fed."""
        self._count(self._decoder.decode(b"", final=True))
        unterminated = self._last_char is not None and self._last_char != "\n"
        return {
            "size": self.size,
            "lines": self.lines + (1 if unterminated else 0),
            "words": self.words,
            "sha256": self._sha256.hexdigest(),
        }

    def _count(self, text: str) -> None:
        if not text:
            return
        self.lines += text.count("\n")
        words = text.split()
        # A word cut by the chunk boundary was counted with the previous chunk.
        continues_word = self._in_word and not text[0].isspace()
        self.words += len(words) - (1 if continues_word and words else 0)
        self._in_word = not text[-1].isspace()
        self._last_char = text[-1]


@bp.activity_trigger(input_name="listing")
async def list_blobs(listing: dict[str, Any]) -> dict[str, Any]:
    """Names and sizes under a prefix; a missing container is `{"exists": false}`, not an error."""
    async with blob_service() as service:
        container = service.get_container_client(listing["container"])
        try:
            blobs = [
                {"name": blob.name, "size": blob.size}
                async for blob in container.list_blobs(name_starts_with=listing["prefix"] or None)
            ]
        except ResourceNotFoundError:
            return {"exists": False, "blobs": []}
    return {"exists": True, "blobs": blobs}


@bp.activity_trigger(input_name="blob")
async def analyze_blob(blob: dict[str, Any]) -> dict[str, Any]:
    """Size, lines, words and SHA-256 of one blob, streamed.

    A blob deleted since it was listed counts as empty and is flagged `missing`, so one
    vanished file does not fail the whole summary.
    """
    stats = TextStats()
    missing = False
    chunking = {
        "max_single_get_size": DOWNLOAD_CHUNK_BYTES,
        "max_chunk_get_size": DOWNLOAD_CHUNK_BYTES,
    }
    async with blob_service(**chunking) as service:
        client = service.get_blob_client(blob["container"], blob["name"])
        try:
            download = await client.download_blob()
            async for chunk in download.chunks():
                stats.feed(chunk)
        except ResourceNotFoundError:
            missing = True
    return {"name": blob["name"], **stats.finish(), "missing": missing}


@bp.activity_trigger(input_name="report")
async def write_blob_report(report: dict[str, Any]) -> str:
    """Writes the JSON report to `blob-reports/<container>/<instance_id>.json`; returns that path.

    Written with overwrite, so a retried run replaces the same blob with the same content.
    """
    name = f"{report['container']}/{report['instance_id']}.json"
    content = json.dumps(report, indent=2).encode("utf-8")
    async with blob_service() as service:
        await write_creating_container(
            service,
            REPORTS_CONTAINER,
            lambda container: container.upload_blob(
                name,
                content,
                overwrite=True,
                content_settings=ContentSettings(content_type="application/json"),
            ),
        )
    logger.info("wrote blob report %s/%s", REPORTS_CONTAINER, name)
    return f"{REPORTS_CONTAINER}/{name}"
