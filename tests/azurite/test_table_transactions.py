"""Entity group transactions as devhost writes them (devhost/stores/azure/transactions.py),
against Azurite: all of a transaction applies or none of it, a refusal says which status
and code, and the rows read back through azure-data-tables with the values and types
that were written, whatever the keys hold."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
import pytest_asyncio
from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables.aio import TableClient, TableServiceClient

from devhost.azurite import AzuriteProcess
from devhost.stores.azure.transactions import TransactionRefused, Write, submit

KEY = "o'neil^42 é&(x)"  # quotes, percent-encoded characters and parentheses in the URL
WHEN = datetime(2024, 5, 1, 10, 30, 15, 123456, tzinfo=UTC)


@pytest_asyncio.fixture
async def table(azurite: AzuriteProcess) -> AsyncIterator[TableClient]:
    async with TableServiceClient.from_connection_string(azurite.connection_string) as service:
        client = await service.create_table(f"Tx{uuid.uuid4().hex[:12]}")
        yield client


async def _row(table: TableClient, row_key: str) -> dict[str, object] | None:
    try:
        return dict(await table.get_entity(KEY, row_key))
    except ResourceNotFoundError:
        return None


async def test_the_rows_read_back_with_the_values_and_types_written(table: TableClient) -> None:
    values = {"Text": "日本 \"quoted\"", "Count": 2**31 - 1, "Done": True, "Ratio": 0.25, "At": WHEN, "Gone": None}
    etags = await submit(table, [Write("insert", {"PartitionKey": KEY, "RowKey": "a", **values}),
                                 Write("put", {"PartitionKey": KEY, "RowKey": "b", "Text": ""})])  # fmt: skip

    row = await table.get_entity(KEY, "a")
    assert {name: row[name] for name in ("Text", "Count", "Done", "Ratio")} == {
        "Text": "日本 \"quoted\"", "Count": 2**31 - 1, "Done": True, "Ratio": 0.25,
    }  # fmt: skip
    assert row["At"] == WHEN
    assert "Gone" not in row
    assert etags == [row.metadata["etag"], (await table.get_entity(KEY, "b")).metadata["etag"]]


async def test_a_put_on_a_stale_etag_is_refused_and_nothing_of_the_transaction_applies(table: TableClient) -> None:
    (etag,) = await submit(table, [Write("insert", {"PartitionKey": KEY, "RowKey": "sentinel", "Generation": 1})])
    await submit(table, [Write("put", {"PartitionKey": KEY, "RowKey": "sentinel", "Generation": 2}, etag)])

    with pytest.raises(TransactionRefused) as refused:
        await submit(table, [Write("put", {"PartitionKey": KEY, "RowKey": "row", "Value": "x"}),
                             Write("put", {"PartitionKey": KEY, "RowKey": "sentinel", "Generation": 3}, etag)])  # fmt: skip

    assert refused.value.status_code == 412
    assert refused.value.error_code == "UpdateConditionNotSatisfied"
    assert await _row(table, "row") is None
    assert (await _row(table, "sentinel") or {})["Generation"] == 2


async def test_an_insert_of_a_row_that_exists_is_refused_as_a_conflict(table: TableClient) -> None:
    await submit(table, [Write("insert", {"PartitionKey": KEY, "RowKey": "sentinel", "Generation": 1})])

    with pytest.raises(TransactionRefused) as refused:
        await submit(table, [Write("insert", {"PartitionKey": KEY, "RowKey": "sentinel", "Generation": 9})])

    assert refused.value.status_code == 409
    assert (await _row(table, "sentinel") or {})["Generation"] == 1


async def test_deletes_remove_the_rows_and_a_missing_row_refuses_the_transaction(table: TableClient) -> None:
    await submit(table, [Write("put", {"PartitionKey": KEY, "RowKey": name}) for name in ("a", "b")])

    assert await submit(table, [Write("delete", {"PartitionKey": KEY, "RowKey": "a"})]) == [None]
    with pytest.raises(TransactionRefused) as refused:
        await submit(table, [Write("delete", {"PartitionKey": KEY, "RowKey": name}) for name in ("a", "b")])

    assert refused.value.status_code == 404
    assert await _row(table, "a") is None
    assert await _row(table, "b") is not None


async def test_a_value_a_table_cannot_hold_is_refused_before_anything_is_sent(table: TableClient) -> None:
    with pytest.raises(TypeError, match="Edm.Int32"):
        await submit(table, [Write("put", {"PartitionKey": KEY, "RowKey": "a", "Big": 2**31})])
    assert await _row(table, "a") is None
