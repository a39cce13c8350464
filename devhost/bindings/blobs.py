"""Blob input and output bindings (`@app.blob_input`, `@app.blob_output`), as the Functions
host binds them for an out-of-process worker, and the blob reads the blob trigger shares.

Input (WebJobs `BlobAttribute` bound to a `Stream`, host `FunctionBinding.BindStreamAsync`):
the blob's content goes to the worker as a string (UTF-8, or the encoding its byte order
mark names) unless the binding's `dataType` is `binary` (bytes); `stream` sends nothing; a
blob or container that does not exist is None. A `str` or `bytes` annotation takes the
value as it came (worker `GenericBinding`), `func.InputStream` wraps its bytes.

Output (host `FunctionBinding.ConvertValueToStream`): a string is written as UTF-8, bytes as
they are, JSON compact; the blob is overwritten, its container created when missing
(`BlobsExtensionConfigProvider.GetBlobAsync`). Paths resolve `{...}` from the trigger's data
per call and must then be `container/blob` or a blob URL (`BlobPath.ParseAndValidate`).
"""

from __future__ import annotations

import base64
import codecs
import contextlib
import json
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from azure.functions import meta

from ..connections import StorageConnection
from ..errors import StartupError
from .accounts import StorageAccounts, connection_setting
from .blob_paths import BlobPath, BlobPathError, parse_blob_path, template_parameters
from .expressions import BindingData

if TYPE_CHECKING:
    from azure.storage.blob import BlobProperties

# StreamReader's byte order marks, longest first (UTF-32 LE starts like UTF-16 LE).
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# .NET enum values, as Newtonsoft writes them (Azure.Storage.Blobs.Models).
_BLOB_TYPES = {"BlockBlob": 0, "PageBlob": 1, "AppendBlob": 2}
_COPY_STATUSES = {"pending": 0, "success": 1, "aborted": 2, "failed": 3}
_LEASE_STATES = {"available": 0, "leased": 1, "expired": 2, "breaking": 3, "broken": 4}
_NO_TIME = "0001-01-01T00:00:00+00:00"  # default(DateTimeOffset)


def dotnet_text(content: bytes) -> str:
    """Bytes as .NET's `StreamReader` reads them: UTF-8 unless a byte order mark says
    otherwise, invalid sequences replaced."""
    for bom, encoding in _BOMS:
        if content.startswith(bom):
            return content[len(bom) :].decode(encoding, "replace")
    return content.decode("utf-8", "replace")


@dataclass(frozen=True)
class DownloadedBlob:
    """One blob's content with the binding data the host derives from it."""

    path: BlobPath
    url: str
    content: bytes
    etag: str
    properties: dict[str, Any]  # BlobProperties as the host serializes them
    metadata: dict[str, str]


async def download(accounts: StorageAccounts, connection: StorageConnection, path: BlobPath) -> DownloadedBlob | None:
    """The blob, or None when it (or its container) does not exist."""
    from azure.core.exceptions import ResourceNotFoundError

    client = accounts.blobs(connection).get_blob_client(path.container, path.name)
    try:
        downloader = await client.download_blob()
        content = await downloader.readall()
    except ResourceNotFoundError:
        return None
    properties = downloader.properties
    return DownloadedBlob(
        path, client.url, content, str(properties.etag), host_properties(properties), dict(properties.metadata or {})
    )


def host_properties(properties: BlobProperties) -> dict[str, Any]:
    """`Azure.Storage.Blobs.Models.BlobProperties` as the host sends it in trigger metadata
    (Newtonsoft defaults: member order, enums as numbers, `ETag` a struct without public
    members, so `{}`); `func.InputStream.length` reads `ContentLength` from it."""
    settings = properties.content_settings
    copy = properties.copy
    lease = properties.lease
    policy = properties.immutability_policy
    md5 = settings.content_md5
    return {
        "LastModified": _time(properties.last_modified),
        "CreatedOn": _time(properties.creation_time),
        "Metadata": dict(properties.metadata or {}),
        "ObjectReplicationDestinationPolicyId": properties.object_replication_destination_policy,
        "ObjectReplicationSourceProperties": None,
        "BlobType": _BLOB_TYPES.get(blob_type_name(properties.blob_type), 0),
        "CopyCompletedOn": _time(copy.completion_time),
        "CopyStatusDescription": copy.status_description,
        "CopyId": copy.id,
        "CopyProgress": copy.progress,
        "CopySource": copy.source,
        "CopyStatus": _COPY_STATUSES.get(str(copy.status or "pending"), 0),
        "BlobCopyStatus": _COPY_STATUSES.get(str(copy.status)) if copy.status else None,
        "IsIncrementalCopy": bool(copy.incremental_copy),
        "DestinationSnapshot": copy.destination_snapshot,
        "LeaseDuration": 1 if lease.duration == "fixed" else 0,
        "LeaseState": _LEASE_STATES.get(str(lease.state or "available"), 0),
        "LeaseStatus": 0 if lease.status == "locked" else 1,
        "ContentLength": properties.size,
        "ContentType": settings.content_type,
        "ETag": {},
        "ContentHash": base64.b64encode(bytes(md5)).decode() if md5 else None,
        "ContentEncoding": settings.content_encoding,
        "ContentDisposition": settings.content_disposition,
        "ContentLanguage": settings.content_language,
        "CacheControl": settings.cache_control,
        "BlobSequenceNumber": properties.page_blob_sequence_number or 0,
        "AcceptRanges": "bytes",
        "BlobCommittedBlockCount": properties.append_blob_committed_block_count or 0,
        "IsServerEncrypted": bool(properties.server_encrypted),
        "EncryptionKeySha256": properties.encryption_key_sha256,
        "EncryptionScope": properties.encryption_scope,
        "AccessTier": properties.blob_tier,
        "AccessTierInferred": bool(properties.blob_tier_inferred),
        "ArchiveStatus": properties.archive_status,
        "AccessTierChangedOn": _time(properties.blob_tier_change_time),
        "VersionId": properties.version_id,
        "IsLatestVersion": bool(properties.is_current_version),
        "TagCount": properties.tag_count or 0,
        "ExpiresOn": _NO_TIME,
        "IsSealed": bool(properties.is_append_blob_sealed),
        "RehydratePriority": properties.rehydrate_priority,
        "LastAccessed": _time(properties.last_accessed_on),
        "ImmutabilityPolicy": {"ExpiresOn": _time(policy.expiry_time, None), "PolicyMode": policy.policy_mode},
        "HasLegalHold": bool(properties.has_legal_hold),
    }


def blob_type_name(blob_type: Any) -> str:
    """`BlockBlob`, `PageBlob` or `AppendBlob` (the SDK's enum, or its value)."""
    return str(getattr(blob_type, "value", blob_type))


def _time(moment: datetime | None, default: str | None = _NO_TIME) -> str | None:
    """A DateTimeOffset as Newtonsoft writes it: ISO 8601, fraction trimmed, `+00:00`."""
    if moment is None:
        return default
    text = moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f").rstrip("0").rstrip(".")
    return f"{text}+00:00"


def blob_content(datum: meta.Datum) -> bytes:
    """What the host writes for the value the worker set (`ConvertValueToStream` of the
    value as the host reads the worker's TypedData)."""
    value = datum.value
    if datum.type == "json":
        value = json.loads(value)
    elif datum.type == "bool":  # the worker sends a bool as an int
        value = int(value)
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, bool):  # Newtonsoft reads JSON `true` as a bool: one byte
        return struct.pack("<?", value)
    if isinstance(value, int):  # a long, cut to an int: four bytes
        return struct.pack("<i", (value + 2**31) % 2**32 - 2**31)
    if isinstance(value, float):
        return struct.pack("<d", value)
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    raise TypeError(f"A blob output cannot hold a value of type '{type(value).__name__}'.")


class BlobBinding:
    """The `blob` input/output handler (handlers.BindingHandler)."""

    def __init__(self, accounts: StorageAccounts) -> None:
        self._accounts = accounts

    def check(self, function: str, binding: Mapping[str, Any]) -> None:
        """The connection must resolve; a path must parse as a template, and one without
        `{...}` must be a valid blob path (WebJobs validates a fixed path at indexing)."""
        self._accounts.connection(connection_setting(binding), function=function)
        path = binding.get("path")
        if not isinstance(path, str) or not path:
            raise StartupError(
                f"Error indexing method 'Functions.{function}': the blob binding '{binding.get('name')}' "
                "has no 'path' ('container/blob')."
            )
        try:
            if not template_parameters(path):
                parse_blob_path(path)
        except BlobPathError as error:
            raise StartupError(
                f"Error indexing method 'Functions.{function}': Validation failed for property 'BlobPath', "
                f"value '{path}'. {error}"
            ) from None

    async def read(self, binding: Mapping[str, Any], data: BindingData) -> meta.Datum | None:
        blob = await download(self._accounts, self._connection(binding), _resolve(binding, data))
        if blob is None:
            return None
        data_type = str(binding.get("dataType") or "").lower()
        if data_type == "binary":
            return meta.Datum(blob.content, "bytes")
        if data_type == "stream":  # the host sends an empty TypedData for a stream
            return None
        return meta.Datum(dotnet_text(blob.content), "string")

    async def write(self, binding: Mapping[str, Any], datum: meta.Datum, data: BindingData) -> None:
        from azure.core.exceptions import ResourceExistsError

        content = blob_content(datum)
        path = _resolve(binding, data)
        container = self._accounts.blobs(self._connection(binding)).get_container_client(path.container)
        if not await container.exists():
            with contextlib.suppress(ResourceExistsError):  # created meanwhile by another call
                await container.create_container()
        await container.upload_blob(path.name, content, overwrite=True)

    def _connection(self, binding: Mapping[str, Any]) -> StorageConnection:
        """The binding's connection (`check` found it at start)."""
        return self._accounts.connection(connection_setting(binding), function=str(binding.get("name")))


def _resolve(binding: Mapping[str, Any], data: BindingData) -> BlobPath:
    """The binding's path for this call; a ValueError (the call fails) when it does not
    resolve to a blob."""
    resolved = data.resolve(str(binding["path"]))
    try:
        return parse_blob_path(resolved)
    except BlobPathError as error:
        raise ValueError(f"Blob binding '{binding.get('name')}': {error}") from None
