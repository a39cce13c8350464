"""Entity group transactions (`$batch`) on one table: the multipart request written and
its answer read here, sent through the table client's own pipeline.

azure-data-tables' `submit_transaction` frames every operation as an HTTP request of
its own, runs it through a pipeline, and builds and parses the multipart body with the
standard library's email package: a checkpoint of 80 history rows cost the host 25 ms of
CPU that way, three times what Azurite spent applying it, and the largest single share
of the host's time in the event workloads on Azurite (bench/). The format is the one the
Table service documents ("Performing entity group transactions"): a batch holding one
changeset of operations, the answer one part per operation, or only the part of the
operation that failed. The request goes through the client's pipeline
(`send_request` of the generated client the SDK wraps: its credential, retries,
transport), so authentication and retries are the SDK's. Entities are typed as the SDK
types them (`_add_entity_properties`): a datetime is an `Edm.DateTime` in UTC, an int an
`Edm.Int32`, a float an `Edm.Double`; strings and booleans need no type.
"""

from __future__ import annotations

import json
import math
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import quote, urlsplit

from azure.core.exceptions import HttpResponseError
from azure.core.rest import HttpRequest
from azure.data.tables.aio import TableClient

_TRANSACTION_OPS = 99  # a transaction holds 100 operations; one is kept for the sentinel
# and 4 MiB of request, where strings go as JSON text in ASCII (6 or 12 bytes for each
# other character); the rest is left for the sentinel, property names and framing.
_TRANSACTION_BYTES = 2_500_000
_INT32 = range(-(2**31), 2**31)
_BLANK_LINE = re.compile(rb"\r?\n\r?\n")
_STATUS_LINE = re.compile(rb"HTTP/1\.[01] (\d{3})")


@dataclass(frozen=True)
class Write:
    """One operation: `put` an entity (replacing any row with its keys; with `etag`, only
    the row at that version), `insert` one whose keys must be new, or `delete` one (with
    `etag`, only at that version)."""

    kind: Literal["put", "insert", "delete"]
    entity: Mapping[str, Any]
    etag: str | None = None


class TableRefused(HttpResponseError):
    """The table refused the request (too large, say), or storage is in trouble: its
    status, and the code and message the service gave."""

    def __init__(self, status: int, content: bytes) -> None:
        code, message = _service_error(content)
        super().__init__(message=f"{status} {code or ''}: {message}")
        self.status_code = status
        self.error_code = code


class TransactionRefused(TableRefused):
    """The table refused one of the operations, so none of them applied."""


def entity_json(entity: Mapping[str, Any]) -> str:
    """The entity's properties as the service reads them, with their OData types."""
    properties: dict[str, Any] = {}
    for name, value in entity.items():
        if value is None:
            continue
        if isinstance(value, datetime):
            properties[name] = value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            properties[f"{name}@odata.type"] = "Edm.DateTime"
        elif isinstance(value, float):
            properties[name] = value if math.isfinite(value) else _non_finite(value)
            properties[f"{name}@odata.type"] = "Edm.Double"
        elif isinstance(value, bool | str):
            properties[name] = value
        elif isinstance(value, int):
            if value not in _INT32:
                raise TypeError(f"Property {name!r}: {value} is too large for an Edm.Int32.")
            properties[name] = value
        else:
            raise TypeError(f"Property {name!r}: a {type(value).__name__} cannot be stored in a table.")
    return json.dumps(properties)


def _non_finite(value: float) -> str:
    return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")


def in_transactions(operations: list[Write]) -> list[list[Write]]:
    """`operations` in order, in transactions within the service's limits of count and
    size, each with room left for one more operation (a checkpoint's sentinel)."""
    batches: list[list[Write]] = [[]]
    size = 0
    for operation in operations:
        weight = sum(len(json.dumps(v)) for v in operation.entity.values() if isinstance(v, str))
        if len(batches[-1]) >= _TRANSACTION_OPS or size + weight > _TRANSACTION_BYTES:
            batches.append([])
            size = 0
        batches[-1].append(operation)
        size += weight
    return batches


async def submit(table: TableClient, writes: Sequence[Write]) -> list[str | None]:
    """Applies `writes` (all in one partition) together or not at all; each one's new
    ETag (None for a delete). TransactionRefused if the table refused one of them."""
    scheme, netloc, path, _, _ = urlsplit(table.url)  # the account's endpoint (a SAS the pipeline adds)
    account = f"{scheme}://{netloc}{path.removesuffix(f'/{table.table_name}').rstrip('/')}"
    batch, changeset = f"batch_{uuid.uuid4()}", f"changeset_{uuid.uuid4()}"
    parts = [_operation(f"{account}/{table.table_name}", write, changeset, n) for n, write in enumerate(writes)]
    body = (
        f"--{batch}\r\nContent-Type: multipart/mixed; boundary={changeset}\r\n\r\n"
        + "".join(parts)
        + f"--{changeset}--\r\n\r\n--{batch}--\r\n"
    ).encode()
    request = HttpRequest(
        "POST",
        f"{account}/$batch",
        headers={
            "x-ms-version": table.api_version,
            "DataServiceVersion": "3.0",
            "MaxDataServiceVersion": "3.0;NetFx",
            "Content-Type": f"multipart/mixed; boundary={batch}",
            "Accept": "application/json",
        },
        content=body,
    )
    # The SDK's own pipeline; streamed, as its content decoder cannot read a multipart.
    response = await table._client.send_request(request, stream=True)
    await response.read()
    if response.status_code != 202:
        raise TableRefused(response.status_code, response.content)
    answers = _parts(response.content, response.headers.get("Content-Type", ""))
    for status, _, content in answers:
        if not 200 <= status < 300:
            raise TransactionRefused(status, content)
    if len(answers) != len(writes):
        raise HttpResponseError(message=f"The table answered {len(answers)} of {len(writes)} operations.")
    return [headers.get("etag") for _, headers, _ in answers]


def _operation(table_url: str, write: Write, changeset: str, n: int) -> str:
    keys = ",".join(f"{key}='{_key(write.entity[key])}'" for key in ("PartitionKey", "RowKey"))
    headers = ["DataServiceVersion: 3.0", "Accept: application/json;odata=minimalmetadata"]
    if write.kind == "insert":
        line, content = f"POST {table_url} HTTP/1.1", entity_json(write.entity)
        headers.append("Prefer: return-no-content")
    elif write.kind == "put":
        line, content = f"PUT {table_url}({keys}) HTTP/1.1", entity_json(write.entity)
        if write.etag is not None:  # without, a put inserts or replaces
            headers.append(f"If-Match: {write.etag}")
    else:
        line, content = f"DELETE {table_url}({keys}) HTTP/1.1", ""
        headers.append(f"If-Match: {write.etag or '*'}")
    if content:
        headers += ["Content-Type: application/json", f"Content-Length: {len(content.encode())}"]
    return (
        f"--{changeset}\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n"
        f"Content-ID: {n}\r\n\r\n{line}\r\n" + "".join(f"{h}\r\n" for h in headers) + f"\r\n{content}\r\n"
    )


def _key(value: str) -> str:
    """A key in an entity's URL: quotes doubled (OData), then percent-encoded."""
    return quote(value.replace("'", "''"), safe="")


def _parts(body: bytes, content_type: str) -> list[tuple[int, dict[str, str], bytes]]:
    """Each operation's answer in a multipart body: status, headers (lower-case names),
    content; nested multiparts (the changeset) read in place."""
    found = re.search(r'boundary="?([^";]+)"?', content_type)
    if found is None:
        raise HttpResponseError(message=f"The table's answer is not multipart ({content_type!r}).")
    answers: list[tuple[int, dict[str, str], bytes]] = []
    for part in body.split(b"--" + found.group(1).encode())[1:]:
        if part.startswith(b"--"):
            break  # the closing boundary
        head, content = _split(part.strip(b"\r\n"))
        inner = _headers(head).get("content-type", "")
        if inner.startswith("multipart/"):
            answers += _parts(content, inner)
            continue
        http_head, http_content = _split(content)
        status = _STATUS_LINE.match(http_head)
        if status is None:
            raise HttpResponseError(message="The table's answer holds a part without a status line.")
        answers.append((int(status.group(1)), _headers(http_head.split(b"\n", 1)[-1]), http_content))
    return answers


def _split(part: bytes) -> tuple[bytes, bytes]:
    """A part's headers and its content."""
    pieces = _BLANK_LINE.split(part, maxsplit=1)
    return pieces[0], pieces[1] if len(pieces) > 1 else b""


def _headers(head: bytes) -> dict[str, str]:
    lines = head.decode("utf-8", "replace").splitlines()
    return {name.strip().lower(): value.strip() for name, sep, value in (line.partition(":") for line in lines) if sep}


def _service_error(content: bytes) -> tuple[str | None, str]:
    """The error's code and message as the service reports it (`odata.error`), or
    the start of what it said."""
    try:
        error = json.loads(content)["odata.error"]
        return error.get("code"), str(error.get("message", {}).get("value", ""))
    except (ValueError, KeyError, TypeError, AttributeError):
        return None, content.decode("utf-8", "replace")[:200]
