"""Table input and output bindings (`type: table`) as the Functions host's Tables extension
serves them to an out-of-process worker (Microsoft.Azure.WebJobs.Extensions.Tables 1.x,
`TablesExtensionConfigProvider`).

For a worker the host picks the binding's script type from the extension's rules
(WebJobs `JobHostMetadataProvider.GetDefaultType`): an input binds to the `JArray` rule
(`CreateJArray`: a query on `PartitionKey eq '<partitionKey>' and <filter>`, at most
`take` entities, `rowKey` not used), sent as `json` typed data; an output binds to
`IAsyncCollector<byte[]>`, each JSON object becoming a `TableEntity`
(`CreateTableEntityFromJsonBytes`) that `TableEntityWriter` inserts in batches per
partition after the function returned.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from azure.functions import meta

from ..connections import StorageConnection
from ..errors import StartupError
from .accounts import StorageAccounts, connection_setting
from .expressions import BindingData, parameter_names, substitute

logger = logging.getLogger(__name__)

# TableAttribute.TableName's [RegularExpression]: letters and digits, 3 to 63, a letter first.
_TABLE_NAME_RULE = "^[A-Za-z][A-Za-z0-9]{2,62}$"
_TABLE_NAME = re.compile(_TABLE_NAME_RULE)
# TableClientHelpers.GetInvalidTableKeyValueCharacters.
_INVALID_KEY = re.compile("[/\\\\#?\x00-\x1f\x7f-\x9f]")
# TableEntityWriter.MaxBatchSize (the service's transaction limit) and MaxPartitionWidth.
_MAX_BATCH = 100
_MAX_PARTITIONS = 1000
# Expressions the host resolves without its binding data (BindingTemplate built-ins).
_BUILT_INS = frozenset({"rand-guid", "datetime"})
# The reserved names CreateTableEntityFromJObject normalizes, matched ignoring case.
_RESERVED = {"etag": "odata.etag", "partitionkey": "PartitionKey", "rowkey": "RowKey"}


class TableBindingError(ValueError):
    """Raised when a table binding's value or resolved property is one the host refuses:
    the invocation fails, as the host's InvalidOperationException fails it."""


class TableBinding:
    """The host side of `table` bindings: entities read as a JSON array, written in batches."""

    def __init__(self, accounts: StorageAccounts) -> None:
        self._accounts = accounts
        # connection setting -> the connection it names, as `check` found it at start.
        self._connections: dict[str, StorageConnection] = {}

    def check(self, function: str, binding: Mapping[str, Any]) -> None:
        """The connection must resolve; a table name without `{...}` must follow the
        rule now (one with them is checked once resolved, as WebJobs `AttributeCloner`
        does); `take` must be a number. An input's `rowKey` gets a warning: the host
        ignores it for workers, and an app written against devhost must not count on it."""
        setting = connection_setting(binding)
        self._connections[setting] = self._accounts.connection(setting, function=function)
        table = binding.get("tableName")
        if not isinstance(table, str) or not parameter_names(table):
            try:
                _checked_table_name(table)
            except TableBindingError as error:
                raise StartupError(f"Error indexing method 'Functions.{function}': {error}") from None
        take = binding.get("take")
        if take is not None and (isinstance(take, bool) or not isinstance(take, int)):
            raise StartupError(
                f"Error indexing method 'Functions.{function}': property 'take' of binding "
                f"'{binding.get('name')}' must be a whole number, not {json.dumps(take)}."
            )
        if str(binding.get("direction", "")).lower() == "in" and binding.get("rowKey"):
            logger.warning(
                "Function '%s': table input '%s' sets rowKey, which the Functions host ignores "
                "for Python: the function gets every entity of the partition (filter and take "
                "applied) as a JSON array, in devhost too.",
                function, binding.get("name"),
            )  # fmt: skip

    async def read(self, binding: Mapping[str, Any], data: BindingData) -> meta.Datum | None:
        """`CreateJArray`: the entities as the extension's `ConvertEntityToJObject` writes
        them (no Timestamp, no ETag), as one compact JSON array. A table that does not
        exist fails the call: this rule does not create it."""
        table = self._table(binding, data)
        query = _query_filter(binding, data)
        take = binding.get("take") or 0
        pages = {"results_per_page": take} if take > 0 else {}
        found = table.query_entities(query, **pages) if query else table.list_entities(**pages)
        entities: list[dict[str, Any]] = []
        async for entity in found:
            entities.append(_entity_json(entity))
            if len(entities) == take:
                break
        return meta.Datum(json.dumps(entities, ensure_ascii=False, separators=(",", ":")), "json")

    async def write(self, binding: Mapping[str, Any], datum: meta.Datum, data: BindingData) -> None:
        """Every JSON object of the value becomes an entity; keys missing from one come
        from the binding's `partitionKey`/`rowKey` (resolved for this call)."""
        from azure.core.exceptions import HttpResponseError

        defaults = {
            "PartitionKey": _resolved(binding, "partitionKey", data),
            "RowKey": _resolved(binding, "rowKey", data),
        }
        items = _objects(binding, datum)
        if not items:
            return
        writer = _Writer(self._table(binding, data))
        for item in items:  # each checked as it is added, as the collector does
            await writer.add(*_entity(item, defaults))
        try:
            await writer.flush()
        except HttpResponseError as error:
            # WebJobs `FunctionExecutor`: a collector failing its flush fails the call so.
            message = str(error).splitlines()[0] if str(error) else type(error).__name__
            raise TableBindingError(
                f"Error while handling parameter _binder after function returned:. {message}"
            ) from error

    def _table(self, binding: Mapping[str, Any], data: BindingData) -> Any:
        name = _checked_table_name(data.resolve(str(binding.get("tableName"))))
        return self._accounts.tables(self._connections[connection_setting(binding)]).get_table_client(name)


def _checked_table_name(name: Any) -> str:
    """The table name if it follows the rule; the host's validation message if not."""
    if isinstance(name, str) and _TABLE_NAME.fullmatch(name):
        return name
    raise TableBindingError(
        f"Validation failed for property 'TableName', value '{name if name is not None else ''}'. "
        f"The field TableName must match the regular expression '{_TABLE_NAME_RULE}'."
    )


def _resolved(binding: Mapping[str, Any], key: str, data: BindingData) -> str | None:
    """A property of the binding with its `{...}` resolved; None when unset."""
    value = binding.get(key)
    return None if value is None else data.resolve(str(value))


def _query_filter(binding: Mapping[str, Any], data: BindingData) -> str:
    """`CreateJArray`'s filter: the partition key as a quoted literal (`TableClient.
    CreateQueryFilter`), then the binding's filter, joined with `and` as they are."""
    partition = _resolved(binding, "partitionKey", data)
    template = binding.get("filter")
    query = _odata_filter(str(template), data) if template else ""
    if not partition:
        return query
    predicate = f"PartitionKey eq '{partition.replace(chr(39), chr(39) * 2)}'"
    return f"{predicate} and {query}" if query else predicate


def _odata_filter(template: str, data: BindingData) -> str:
    """WebJobs `TableFilterFormatter.Format`: a filter that is one `{p}` resolves as it is;
    otherwise a value the trigger's data holds is escaped when every use of it is quoted
    (`'{p}'`: quotes doubled), and must be a bool or a number when it is not, so a value
    cannot change the query. Dotted paths and built-ins resolve unchecked, as there."""
    names = parameter_names(template)
    if len(names) == 1 and template == "{" + names[0] + "}":
        return data.resolve(template)
    values: dict[str, str] = {}
    lowered = template.lower()
    for name in dict.fromkeys(names):
        key = name.lower()
        if "." in name or key in _BUILT_INS or key in values:
            continue
        value = data.resolve("{" + name + "}")
        if lowered.count("'{" + key + "}'") >= sum(1 for other in names if other.lower() == key):
            values[key] = value.replace("'", "''")
        elif _is_non_string_literal(value):
            values[key] = value
        else:
            raise TableBindingError(f"An invalid parameter value was specified for filter parameter '{name}'.")

    def bound(name: str) -> str:
        value = values.get(name.lower())
        return data.resolve("{" + name + "}") if value is None else value

    return substitute(template, bound)


def _is_non_string_literal(value: str) -> bool:
    """`TryValidateNonStringLiteral`: a bool, a long or a double."""
    text = value.strip()
    if text.lower() in ("true", "false"):
        return True
    for parse in (int, float):
        try:
            parse(text)
            return True
        except ValueError:
            continue
    return False


def _entity_json(entity: Mapping[str, Any]) -> dict[str, Any]:
    """`ConvertEntityToJObject`: every property but `odata.etag` and `timestamp` (any
    case), each value as Json.NET writes the .NET type Azure.Data.Tables gave it."""
    return {
        name: _json_value(value) for name, value in entity.items() if name.lower() not in ("odata.etag", "timestamp")
    }


def _json_value(value: Any) -> Any:
    from azure.data.tables import EntityProperty

    if isinstance(value, EntityProperty):  # Edm.Int64 and types without a Python match
        value = value.value
    if isinstance(value, datetime):  # a DateTimeOffset: ISO 8601, 7 digits at most, +00:00
        return _date_time_offset(value)
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, float) and not math.isfinite(value):  # FloatFormatHandling.String
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    return value


def _date_time_offset(value: datetime) -> str:
    """Json.NET's `yyyy-MM-ddTHH:mm:ss.FFFFFFFK` for a UTC DateTimeOffset; the service's
    own text keeps the seven digits Python's datetime cannot hold."""
    service = str(getattr(value, "tables_service_value", "") or "")
    matched = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?Z", service)
    if matched:
        seconds, fraction = matched.group(1), (matched.group(2) or "")[:7].rstrip("0")
    else:
        utc = value.astimezone(UTC) if value.tzinfo else value
        seconds, fraction = utc.strftime("%Y-%m-%dT%H:%M:%S"), f"{utc.microsecond:06d}".rstrip("0")
    return f"{seconds}{'.' + fraction if fraction else ''}+00:00"


def _objects(binding: Mapping[str, Any], datum: meta.Datum) -> list[Any]:
    """The items the host adds to the collector (host `FunctionBinding.ReadAsEnumerable`):
    a JSON array's elements, else the one value; bytes are one JSON object as they are."""
    value = datum.value
    if datum.type == "bytes":
        return [bytes(value).decode("utf-8")]
    if datum.type == "string":
        text = str(value)
        stripped = text.strip()
        if (stripped[:1], stripped[-1:]) in (("{", "}"), ("[", "]")):  # host `Utility.IsJson`
            try:
                value = json.loads(text)
            except ValueError as error:
                raise TableBindingError(f"Table output '{binding.get('name')}' is not valid JSON: {error}.") from None
    return list(value) if isinstance(value, list) else [value]


def _entity(item: Any, defaults: Mapping[str, str | None]) -> tuple[dict[str, Any], str | None]:
    """`CreateTableEntityFromJObject`, then `TableEntityWriter.AddAsync`'s key defaults and
    checks: the entity's properties and its ETag (none: insert; `*`: upsert; else replace
    if unchanged). Integers are Int64 and nested JSON is text, as Json.NET gives them."""
    from azure.data.tables import EdmType, EntityProperty

    if isinstance(item, str):  # JSON text (bytes, or a string in an array): parsed there too
        with contextlib.suppress(ValueError):
            item = json.loads(item)
    if not isinstance(item, dict):
        raise TableBindingError(
            f"A table entity must be a JSON object, not {json.dumps(item, ensure_ascii=False)[:80]}."
        )
    entity: dict[str, Any] = {}
    for given, value in item.items():
        name = _RESERVED.get(str(given).lower(), str(given))
        if isinstance(value, (dict, list)):
            value = json.dumps(value, indent=2, ensure_ascii=False)
        elif isinstance(value, int) and not isinstance(value, bool):
            value = EntityProperty(value, EdmType.INT64)
        entity[name] = value
    etag = entity.pop("odata.etag", None)
    # Azure.Data.Tables `ToOdataAnnotatedDictionary` does not send a Timestamp; the SDK skips nulls.
    entity.pop("Timestamp", None)
    for key in ("PartitionKey", "RowKey"):
        if entity.get(key) is None:
            entity[key] = defaults[key]
        _check_key(entity[key])
    return {name: value for name, value in entity.items() if value is not None}, (None if etag is None else str(etag))


def _check_key(value: Any) -> None:
    """`TableClientHelpers.ValidateAzureTableKeyValue`: null and the characters the
    service refuses are caught before the call, with the host's message."""
    if isinstance(value, str) and not _INVALID_KEY.search(value):
        return
    shown = value if isinstance(value, str) else ("" if value is None else json.dumps(value))
    raise TableBindingError(
        f"'{shown}' is not a valid value for a partition key or row key. "
        "Ensure that the table entity contains valid 'PartitionKey' and 'RowKey' values."
    )


class _Writer:
    """WebJobs `TableEntityWriter`: one transaction per partition, at most 100 entities;
    a row key already pending in its partition sends that partition first (a batch holds
    each entity once); more than 1000 pending partitions send them all. A batch to a
    table that does not exist creates it and is sent again."""

    def __init__(self, table: Any) -> None:
        self._table = table
        self._partitions: dict[str, dict[str, tuple[Any, ...]]] = {}

    async def add(self, entity: dict[str, Any], etag: str | None) -> None:
        partition_key, row_key = entity["PartitionKey"], entity["RowKey"]
        partition = self._partitions.get(partition_key)
        if partition is None:
            if len(self._partitions) >= _MAX_PARTITIONS:
                await self.flush()
            partition = self._partitions[partition_key] = {}
        elif row_key in partition:
            await self._submit(partition)
            partition = self._partitions[partition_key] = {}
        partition[row_key] = _operation(entity, etag)
        if len(partition) >= _MAX_BATCH:
            await self._submit(partition)
            del self._partitions[partition_key]

    async def flush(self) -> None:
        for partition in self._partitions.values():
            await self._submit(partition)
        self._partitions.clear()

    async def _submit(self, partition: Mapping[str, tuple[Any, ...]]) -> None:
        from azure.core.exceptions import HttpResponseError, ResourceExistsError

        operations = list(partition.values())
        try:
            await self._table.submit_transaction(operations)
            return
        except HttpResponseError as error:
            code = getattr(error, "error_code", None)
            if not (error.status_code == 404 and code in ("TableNotFound", "ResourceNotFound")):
                raise
        with contextlib.suppress(ResourceExistsError):
            await self._table.create_table()
        await self._table.submit_transaction(operations)


def _operation(entity: dict[str, Any], etag: str | None) -> tuple[Any, ...]:
    """The transaction action `TableEntityWriter` picks by the entity's ETag."""
    from azure.core import MatchConditions
    from azure.data.tables import UpdateMode

    if not etag:
        return ("create", entity)
    if etag == "*":
        return ("upsert", entity, {"mode": UpdateMode.REPLACE})
    conditions = {"etag": etag, "match_condition": MatchConditions.IfNotModified}
    return ("update", entity, {"mode": UpdateMode.REPLACE, **conditions})
