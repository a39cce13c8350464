"""Instance ids as the Azure Storage provider keys and routes them (docs/protocol.md H).

The escaped id is every table key of an instance, its blob prefix and the range the list
API's prefix filter scans, so an escaping that loses or merges ids loses instances. The
partition hash picks the control queue: a host that hashes differently from DTFx reads
the wrong queue of a task hub that `func start` also serves.
"""

from __future__ import annotations

import pytest

from devhost.protocol.keys import is_control, storage_key_problem
from devhost.stores.azure.names import escape_key, partition_of, unescape_key

# DTFx's own round-trip rows (KeySanitationTests.cs), then ids apps really use.
DTFX_ROWS = [
    "\r", "", "hello", "\uffff", "\u0000", "#", "%", "/", "\\", "?", "^", "^^", "^^^",
    "!@#$%^&*()_+=-0987654321d", "'\"\\\r\n\t", "\u001f\u007f\u009f",
]  # fmt: skip
APP_IDS = [
    "orders/2024/42", "a\\b", "#tag", "what?", "100%", "%2F", "^0", "^1/^2#^3?", "a^",
    "@counter@orders_completed", "@counter@a/b#c?d", "日本語/キー", "café", "emoji😀/🎉",
    "x" * 500,
]  # fmt: skip
ALL_IDS = DTFX_ROWS + APP_IDS
# What a table key may not hold (Understanding the Table Service Data Model).
KEY_FORBIDDEN = set("/\\#?")


@pytest.mark.parametrize("instance_id", ALL_IDS)
def test_an_escaped_id_comes_back_identical(instance_id: str) -> None:
    """Status and list read the id back from the row's key; it must be the one started."""
    assert unescape_key(escape_key(instance_id)) == instance_id


@pytest.mark.parametrize("instance_id", [i for i in ALL_IDS if storage_key_problem(i) is None])
def test_an_id_the_api_accepts_escapes_to_a_valid_table_key(instance_id: str) -> None:
    """Every id the API lets through must be storable, or its commits fail forever."""
    key = escape_key(instance_id)
    assert not KEY_FORBIDDEN & set(key)
    assert not any(is_control(c) for c in key)


@pytest.mark.parametrize("instance_id", [i for i in ALL_IDS if any(is_control(c) for c in i)])
def test_an_id_with_control_characters_is_refused_before_it_is_keyed(instance_id: str) -> None:
    """`escape_key` leaves control characters as they are (DTFx shifts them instead), so
    the API must refuse such ids up front, for both stores alike (README departures)."""
    assert storage_key_problem(instance_id) == "Instance and entity ids must not contain control characters."


def test_different_ids_never_share_a_key() -> None:
    """Two ids on one key would be one instance: each would overwrite the other's state."""
    tricky = ["a/b", "a^0b", "a^b", "a^^b", "a^^0b", "a\\b", "a^1b", "a#b", "a^2b", "a?b", "a^3b"]
    ids = ALL_IDS + tricky
    assert len({escape_key(i) for i in ids}) == len(set(ids))


@pytest.mark.parametrize(
    ("prefix", "instance_id"),
    [
        ("orders/", "orders/2024/42"), ("a^", "a^0b"),
        ("@counter@a/", "@counter@a/b#c?d"), ("日本", "日本語/キー"),
    ],  # fmt: skip
)
def test_the_prefix_filter_finds_ids_with_escaped_characters(prefix: str, instance_id: str) -> None:
    """The list API scans keys from escape_key(prefix): an id starting with the prefix
    must have a key starting with the escaped prefix, or listing by prefix misses it."""
    assert escape_key(instance_id).startswith(escape_key(prefix))


# --- partitions ----------------------------------------------------------------------


def fnv1a_32(data: bytes) -> int:
    """FNV-1a, 32 bits, written from the spec: offset basis 2166136261, prime 16777619,
    XOR each byte in then multiply, modulo 2**32."""
    value = 2166136261
    for byte in data:
        value = ((value ^ byte) * 16777619) % 2**32
    return value


def dtfx_partition(instance_id: str, partitions: int) -> int:
    """DTFx AzureStorage `GetControlQueueAsync`: `Fnv1aHashHelper.ComputeHash(instanceId)
    % PartitionCount`, over the whole id (entities' `@name@key` too) in UTF-8, the
    helper's encoding when none is given."""
    return fnv1a_32(instance_id.encode("utf-8")) % partitions


@pytest.mark.parametrize(("text", "expected"), [("", 0x811C9DC5), ("a", 0xE40C292C), ("foobar", 0xBF9CF968)])
def test_the_reference_hash_matches_the_published_fnv1a_vectors(text: str, expected: int) -> None:
    """The test's own FNV-1a must be right before devhost is judged against it."""
    assert fnv1a_32(text.encode()) == expected


# Partitions DTFx gives these ids (FNV-1a of the UTF-8 bytes, then modulo), worked out
# with the reference hash above; literal so that a change of devhost's hash, its
# encoding (UTF-16 would move "café" and "日本") or its modulus is caught.
KNOWN = [
    ("abc", 4, 3), ("abc", 16, 11),
    ("@counter@a", 4, 2), ("@counter@a", 16, 6),
    ("@counter@orders_completed", 4, 0),
    ("instance-1", 4, 0), ("instance-1", 32, 20),
    ("café", 4, 1), ("café", 16, 9),
    ("日本", 4, 1), ("日本", 32, 17),
]  # fmt: skip


@pytest.mark.parametrize(("instance_id", "partitions", "expected"), KNOWN)
def test_known_ids_land_on_the_partition_dtfx_gives_them(instance_id: str, partitions: int, expected: int) -> None:
    """devhost and `func start` on one task hub must read one instance from one queue."""
    assert dtfx_partition(instance_id, partitions) == expected
    assert partition_of(instance_id, partitions) == expected


@pytest.mark.parametrize("partitions", [1, 4, 7, 16])
@pytest.mark.parametrize("instance_id", ALL_IDS + ["@counter@k!1", "parent:3", "0" * 64])
def test_every_id_lands_where_dtfx_puts_it(instance_id: str, partitions: int) -> None:
    """The same over many shapes of id, and over partition counts host.json allows."""
    assert partition_of(instance_id, partitions) == dtfx_partition(instance_id, partitions)
