"""History rows are written in entity group transactions, which Azure Table storage
caps at 100 operations and 4 MiB of request payload ("Performing entity group
transactions"). A commit over either limit is refused by Azure (Azurite does not check
the size, Azurite issue 1467), the episode is retried and refused again, and the
instance is stuck. Splitting must also write every row exactly once and front to back:
a lost row is a hole in the history the SDK replays.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import pytest

from devhost.protocol import OrchestrationStatus, events
from devhost.stores.azure.payloads import PROPERTY_LIMIT_UNITS
from devhost.stores.azure.tables import SENTINEL_ROW_KEY, HubTables, _row_key
from devhost.stores.azure.transactions import Write, entity_json, in_transactions
from devhost.stores.base import InstanceRecord

T0 = datetime(2024, 5, 1, 10, tzinfo=timezone.utc)
KEY = "orders^042"
MAX_OPERATIONS = 100
MAX_PAYLOAD_BYTES = 4 * 1024 * 1024
# Per operation, the multipart framing around its JSON (boundary, request line with the
# keys in the URL, headers): DTFx budgets 1 KiB per entity for it.
FRAMING_BYTES = 1024
# Without clients: building rows and columns from values under the property limit calls no storage.
TABLES = HubTables(None, None, None, "Hub")  # type: ignore[arg-type]

def _wire_bytes(entity: dict[str, Any]) -> int:
    """The entity as a transaction sends it (transactions.py): its properties with their
    OData types, as `json.dumps` writes them (ASCII: other characters as `\\uXXXX`), plus framing."""
    return len(entity_json(entity).encode()) + FRAMING_BYTES


def _largest_sentinel() -> dict[str, Any]:
    """The sentinel `commit_checkpoint` adds to the last transaction, as large as it gets:
    input, output and custom status each just small enough to stay in the row, in
    characters JSON escapes to six bytes."""
    value = "日" * PROPERTY_LIMIT_UNITS
    record = InstanceRecord(
        "orders/42", "process_order", "e" * 32, OrchestrationStatus.RUNNING, T0, T0,
        input=value, output=value, custom_status=value, version="1.0", parent_instance_id="p" * 100,
    )  # fmt: skip
    columns, blobs = TABLES._record_columns(record)
    assert not blobs, "the sentinel's values must stay in the row for this to be the worst case"
    return {"PartitionKey": KEY, "RowKey": SENTINEL_ROW_KEY, **columns, "Generation": 1,
            "EventCount": 999, "IsCheckpointComplete": True, "CheckpointCompletedTimestamp": T0}  # fmt: skip


async def _history_rows(results: list[str]) -> list[Write]:
    """One TaskCompleted row per result, as `commit_checkpoint` builds and puts them."""
    return [
        Write("put", await TABLES._event_entity(KEY, _row_key(1, n), events.task_completed(T0, n, result), "e-1"))
        for n, result in enumerate(results)
    ]


def _near_limit(character: str) -> str:
    """A result as large as a row keeps it (UTF-16 units: astral characters count two)."""
    units = len(character.encode("utf-16-le")) // 2
    return character * ((PROPERTY_LIMIT_UNITS - 40) // units)


PAYLOADS = {
    "ASCII": [_near_limit("x")] * 250,
    "JSON-heavy (quotes escape to two bytes)": [_near_limit('"')] * 250,
    "CJK (six bytes each as JSON)": [_near_limit("日")] * 250,
    "emoji (twelve bytes each as JSON)": [_near_limit("😀")] * 250,
    "mixed sizes": [_near_limit("é")[: n * 997 % PROPERTY_LIMIT_UNITS] for n in range(400)],
    "many small": ["1"] * 1000,
}


@pytest.mark.parametrize("results", PAYLOADS.values(), ids=PAYLOADS.keys())
async def test_no_transaction_exceeds_the_service_limits(results: list[str]) -> None:
    """Each transaction, with the sentinel the last one also carries, fits Azure's caps."""
    batches = in_transactions(await _history_rows(results))
    sentinel = _wire_bytes(_largest_sentinel())
    for batch in batches:
        assert len(batch) + 1 <= MAX_OPERATIONS
        assert sum(_wire_bytes(operation.entity) for operation in batch) + sentinel <= MAX_PAYLOAD_BYTES


@pytest.mark.parametrize("results", PAYLOADS.values(), ids=PAYLOADS.keys())
async def test_rows_keep_their_order_and_none_is_lost_or_repeated(results: list[str]) -> None:
    operations = await _history_rows(results)
    batches = in_transactions(operations)
    assert all(batches)
    assert [operation for batch in batches for operation in batch] == operations


async def test_small_rows_fill_each_transaction() -> None:
    """A fan-out's hundreds of small rows cost a transaction per 99 rows, not one each."""
    batches = in_transactions(await _history_rows(["1"] * 1000))
    assert [len(batch) for batch in batches] == [99] * 10 + [10]


def test_a_commit_without_new_rows_still_gets_a_transaction_for_the_sentinel() -> None:
    """An episode that only moves the checkpoint (a dropped duplicate, say) writes the
    sentinel alone; `commit_checkpoint` appends it to the last transaction."""
    assert in_transactions([]) == [[]]
