"""The queue output binding (`@app.queue_output`), as the Functions host writes what the
worker returns for it.

The host binds an out-of-process queue output as `IAsyncCollector<byte[]>` (WebJobs
`AsyncCollectorBindingProvider` picks byte[] first) and feeds it through
`FunctionBinding.BindAsyncCollectorAsync`: the worker's value becomes a .NET object
(`string`, `byte[]`, a parsed JSON token for `json`), a JSON array (or a string that
looks like one) is one message per item, anything else one message; bytes go as they
are, everything else as its .NET `ToString()` in UTF-8 (so an object is indented JSON,
`JToken.ToString()`). Each message is sent per `messageEncoding`, creating the queue if
it is missing (WebJobs `QueueAsyncCollector`); the queue name's `{...}` expressions are
resolved from the trigger's data, then lower-cased and checked.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from azure.functions import meta

from ..errors import StartupError
from .accounts import StorageAccounts, connection_setting
from .expressions import BindingData
from .queue_options import QueuesOptions
from .queue_storage import encode_body, indexed_queue_name, queue_client, queue_name_error, send_creating, watcher


class QueueOutput:
    """The handler of `queue` bindings (output only: the host binds no queue input for
    an out-of-process function)."""

    def __init__(self, accounts: StorageAccounts) -> None:
        self._accounts = accounts
        self._encoding: str | None = None

    def check(self, function: str, binding: Mapping[str, Any]) -> None:
        if str(binding.get("direction", "")).lower() != "out":
            raise StartupError(
                f"Error indexing method 'Functions.{function}': Can't bind Queue to type 'System.String'."
            )
        name = str(binding.get("queueName") or "")
        if "{" not in name:  # a name with expressions is checked when they are resolved
            indexed_queue_name(name, function)
        self._accounts.connection(connection_setting(binding), function=function)
        self._options()

    async def read(self, binding: Mapping[str, Any], data: BindingData) -> meta.Datum | None:
        raise AssertionError("queue bindings are outputs only; `check` refuses an input")

    async def write(self, binding: Mapping[str, Any], datum: meta.Datum, data: BindingData) -> None:
        name = data.resolve(str(binding.get("queueName") or "")).lower()
        error = queue_name_error(name)
        if error is not None:
            raise ValueError(f"{error} (Parameter 'name')")
        connection = self._accounts.connection(connection_setting(binding), function=str(binding.get("name")))
        queue = queue_client(self._accounts, connection, name)
        encoding = self._options()
        for body in host_messages(datum):
            await send_creating(queue, encode_body(body, encoding))
            watcher(self._accounts).notify(queue.url)

    def _options(self) -> str:
        if self._encoding is None:
            self._encoding = QueuesOptions.of(
                self._accounts.extension("queues"), self._accounts.settings
            ).message_encoding
        return self._encoding


def host_messages(datum: meta.Datum) -> list[bytes]:
    """The message bodies the host makes of the worker's value for an output."""
    value = _host_object(datum)
    if value is None:
        return []
    return [item if isinstance(item, bytes) else _dotnet_text(item).encode("utf-8") for item in _items(value)]


def _host_object(datum: meta.Datum) -> Any:
    """The worker's TypedData as the host's `ToObject` sees it (`json`, and the dicts and
    lists the worker sends as json, parsed; bools arrive as ints)."""
    kind, value = datum.type, datum.value
    if kind in ("json", "dict", "list"):
        return json.loads(value if kind == "json" else json.dumps(value))
    if kind == "bool":
        return int(value)
    return value


def _items(value: Any) -> list[Any]:
    """`FunctionBinding.ReadAsEnumerable`: an array's items; a string that looks like
    JSON (`Utility.IsJson`) parsed, an array of it its items; else the value alone."""
    if isinstance(value, list):
        return value
    if isinstance(value, str):
        trimmed = value.strip()
        if (trimmed.startswith("{") and trimmed.endswith("}")) or (trimmed.startswith("[") and trimmed.endswith("]")):
            try:
                parsed = json.loads(trimmed)
            except ValueError as error:  # the host's JToken.Parse fails the call too
                raise ValueError(f"The queue output is not valid JSON: {error}") from None
            return parsed if isinstance(parsed, list) else [parsed]
    return [value]


def _dotnet_text(value: Any) -> str:
    """`ToString()` of the .NET value: JSON objects and arrays indented (`JToken`), JSON
    null empty, booleans `True`/`False`, numbers as .NET prints them."""
    if isinstance(value, str):
        return value
    if isinstance(value, (dict, list)):
        return json.dumps(value, indent=2, ensure_ascii=False)
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value)
