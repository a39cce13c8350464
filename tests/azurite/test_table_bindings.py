"""Table input and output bindings on a real Azurite, through real HTTP and a real
orchestration: what the function gets and what lands in the table are what the
Functions host's Tables extension gives a Python app (see devhost/bindings/tables.py)."""

from __future__ import annotations

import textwrap
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest
import pytest_asyncio
from azure.data.tables import EdmType, EntityProperty
from azure.data.tables.aio import TableServiceClient

from devhost.errors import StartupError
from devhost.testing import DurableHost
from tests.support.apps import TABLE_APP
from tests.support.http import call


@pytest_asyncio.fixture
async def host(storage_connection: str) -> AsyncIterator[DurableHost]:
    async with DurableHost(TABLE_APP, storage="memory") as durable_host:
        yield durable_host


@pytest_asyncio.fixture
async def tables(storage_connection: str) -> AsyncIterator[TableServiceClient]:
    """The official SDK on the same account, to seed and inspect what the app wrote."""
    async with TableServiceClient.from_connection_string(storage_connection) as service:
        yield service


def _key() -> str:
    """A partition of its own for each test: the tables are shared by the session."""
    return f"p{uuid.uuid4().hex[:10]}"


async def _rows(tables: TableServiceClient, table: str, partition: str) -> dict[str, dict[str, Any]]:
    found = tables.get_table_client(table).query_entities("PartitionKey eq @pk", parameters={"pk": partition})
    return {entity["RowKey"]: dict(entity) async for entity in found}


def _failure(caplog: pytest.LogCaptureFixture, function: str) -> str:
    """What the console says of the function's last failed execution."""
    failed = [r for r in caplog.records if f"'Functions.{function}' (Failed" in r.getMessage()]
    assert failed, f"{function} did not fail"
    return str(getattr(failed[-1], "user_traceback", ""))


async def test_a_note_written_under_the_routes_keys_reads_back_over_http(
    host: DurableHost, http: aiohttp.ClientSession, tables: TableServiceClient
) -> None:
    category = _key()
    note = {"Text": "first", "Pages": 3, "Ratio": 0.5, "Tags": ["a", "b"], "Draft": False}

    status, _, _ = await call(http, "POST", f"{host.base_url}/api/notes/{category}/a", json=note)
    _, read, _ = await call(http, "GET", f"{host.base_url}/api/notes/{category}/a")

    assert status == 201
    # Integers are stored as Int64 and nested JSON as its indented text, as Json.NET gives
    # them to Azure.Data.Tables; the input leaves out Timestamp and ETag.
    assert read == [
        {"PartitionKey": category, "RowKey": "a", "Text": "first", "Pages": 3, "Ratio": 0.5,
         "Tags": '[\n  "a",\n  "b"\n]', "Draft": False}
    ]  # fmt: skip
    stored = (await _rows(tables, "Notes", category))["a"]
    assert stored["Pages"] == EntityProperty(3, EdmType.INT64)


async def test_reading_by_row_key_gives_the_whole_partition_as_the_host_does(
    host: DurableHost, http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    # The Tables extension binds a worker's input to its JArray rule, which queries the
    # partition and never uses rowKey (azure-functions-python-worker#1231, #1725).
    category = _key()
    for row in ("a", "b"):
        await call(http, "POST", f"{host.base_url}/api/notes/{category}/{row}", json={"Text": row})

    _, read, _ = await call(http, "GET", f"{host.base_url}/api/notes/{category}/a")
    _, missing, _ = await call(http, "GET", f"{host.base_url}/api/notes/{_key()}/a")

    assert [entity["RowKey"] for entity in read] == ["a", "b"]
    assert missing == []
    said_at_start = [r.getMessage() for r in caplog.get_records("setup")]
    assert any("table input 'notes' sets rowKey, which the Functions host ignores" in line for line in said_at_start)


async def test_values_of_every_storage_type_reach_the_function_as_jsonnet_writes_them(
    host: DurableHost, http: aiohttp.ClientSession, tables: TableServiceClient
) -> None:
    category = _key()
    notes = await tables.create_table_if_not_exists("Notes")
    await notes.create_entity(
        {
            "PartitionKey": category,
            "RowKey": "typed",
            "When": EntityProperty("2024-05-01T10:00:00.1234567Z", EdmType.DATETIME),
            "Id": uuid.UUID("8d7f4c1e-51b6-4c59-9d0c-6a2b1f3e9a10"),
            "Blob": b"\x00\xffdata",
            "Count": 7,
            "Big": EntityProperty(2**40, EdmType.INT64),
        }
    )

    _, read, _ = await call(http, "GET", f"{host.base_url}/api/notes/{category}/typed")

    assert read == [
        {"PartitionKey": category, "RowKey": "typed", "When": "2024-05-01T10:00:00.1234567+00:00",
         "Id": "8d7f4c1e-51b6-4c59-9d0c-6a2b1f3e9a10", "Blob": "AP9kYXRh", "Count": 7, "Big": 2**40}
    ]  # fmt: skip


async def test_an_entity_with_existing_keys_fails_the_call_unless_its_etag_is_a_star(
    host: DurableHost, http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"{host.base_url}/api/notes/{_key()}/a"
    await call(http, "POST", url, json={"Text": "first"})

    again, _, _ = await call(http, "POST", url, json={"Text": "second"})
    _, kept, _ = await call(http, "GET", url)
    upsert, _, _ = await call(http, "POST", url, json={"Text": "third", "ETag": "*"})
    _, replaced, _ = await call(http, "GET", url)

    assert again == 500
    assert "The specified entity already exists" in _failure(caplog, "save_note")
    assert [entity["Text"] for entity in kept] == ["first"]
    assert upsert == 201
    assert [entity["Text"] for entity in replaced] == ["third"]


async def test_a_list_lands_in_each_entitys_partition_the_binding_supplying_missing_keys(
    host: DurableHost, http: aiohttp.ClientSession, tables: TableServiceClient
) -> None:
    category, other = _key(), _key()
    entities = [{"RowKey": "1", "Text": "one"}, {"RowKey": "2"}, {"PartitionKey": other, "RowKey": "3"}]

    status, _, _ = await call(http, "POST", f"{host.base_url}/api/batches/{category}", json=entities)

    assert status == 201
    assert sorted(await _rows(tables, "Notes", category)) == ["1", "2"]
    assert sorted(await _rows(tables, "Notes", other)) == ["3"]


async def test_an_entity_without_a_row_key_fails_the_call_with_the_hosts_message(
    host: DurableHost, http: aiohttp.ClientSession, tables: TableServiceClient, caplog: pytest.LogCaptureFixture
) -> None:
    category = _key()

    status, _, _ = await call(http, "POST", f"{host.base_url}/api/batches/{category}", json=[{"Text": "no key"}])

    assert status == 500
    assert (
        "'' is not a valid value for a partition key or row key. Ensure that the table entity "
        "contains valid 'PartitionKey' and 'RowKey' values."
    ) in _failure(caplog, "save_batch")
    assert await _rows(tables, "Notes", category) == {}


async def test_a_filter_and_take_pick_the_entities_and_values_cannot_change_the_query(
    host: DurableHost, http: aiohttp.ClientSession, tables: TableServiceClient, caplog: pytest.LogCaptureFixture
) -> None:
    league, name = _key(), f"O'Brien {uuid.uuid4().hex[:6]}"
    scores = tables.get_table_client("Scores")
    await tables.create_table_if_not_exists("Scores")
    for row, score in enumerate((10, 20, 30, 40)):
        await scores.create_entity({"PartitionKey": league, "RowKey": str(row), "Score": score, "Name": name})

    _, top, _ = await call(http, "GET", f"{host.base_url}/api/scores/{league}/15")
    _, player, _ = await call(http, "GET", f"{host.base_url}/api/players/{quote(name)}")
    injected, _, _ = await call(http, "GET", f"{host.base_url}/api/scores/{league}/{quote('0 or true')}")

    assert [entity["Score"] for entity in top] == [20, 30]  # take: 2
    assert [entity["RowKey"] for entity in player] == ["0", "1", "2", "3"]  # the quote doubled
    assert injected == 500
    assert "An invalid parameter value was specified for filter parameter 'minimum'." in _failure(
        caplog, "top_scores"
    )


async def test_reading_a_table_that_does_not_exist_or_is_misnamed_fails_the_call(
    host: DurableHost, http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    missing, _, _ = await call(http, "GET", f"{host.base_url}/api/tables/Missing{uuid.uuid4().hex[:8]}")
    said_missing = _failure(caplog, "read_table")
    misnamed, _, _ = await call(http, "GET", f"{host.base_url}/api/tables/bad-name")

    assert (missing, misnamed) == (500, 500)
    assert "The table specified does not exist." in said_missing
    assert "Validation failed for property 'TableName', value 'bad-name'." in _failure(caplog, "read_table")


async def test_an_activitys_table_output_writes_a_row_per_step_of_the_orchestration(
    host: DurableHost, tables: TableServiceClient
) -> None:
    order = _key()

    status = await host.wait(await host.start("record_order", order))

    assert status.output == ["reserved", "paid", "shipped"]
    rows = await _rows(tables, "Steps", order)
    assert {row: entity["Position"].value for row, entity in rows.items()} == {"reserved": 0, "paid": 1, "shipped": 2}


async def test_an_invalid_table_name_stops_the_start_naming_the_function_and_the_property(
    tmp_path: Path, storage_connection: str
) -> None:
    (tmp_path / "host.json").write_text('{"version": "2.0"}', encoding="utf-8")
    (tmp_path / "function_app.py").write_text(
        textwrap.dedent(
            """
            import azure.functions as func

            app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)

            @app.route(route="rows")
            @app.table_input(arg_name="rows", connection="AzureWebJobsStorage", table_name="order_rows")
            def list_rows(req: func.HttpRequest, rows: str) -> func.HttpResponse:
                return func.HttpResponse(rows)
            """
        ),
        encoding="utf-8",
    )

    with pytest.raises(StartupError) as raised:
        async with DurableHost(tmp_path):
            pass

    assert str(raised.value) == (
        "Error indexing method 'Functions.list_rows': Validation failed for property 'TableName', "
        "value 'order_rows'. The field TableName must match the regular expression "
        "'^[A-Za-z][A-Za-z0-9]{2,62}$'."
    )
