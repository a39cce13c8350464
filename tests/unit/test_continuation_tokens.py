"""Continuation tokens of the list APIs (`x-ms-continuation-token`, docs/protocol.md G).

A token comes back from the caller, so it is untrusted input: whatever a caller sends,
the answer must be 400 (`BadRequest`), never a 500 or a storage call made with garbage.
A token this host issued must lead to the next page exactly.
"""

from __future__ import annotations

import base64
import json
from typing import Any, Optional

import pytest

from devhost.errors import BadRequest
from devhost.stores.azure.tables import _decode_token, _encode_token
from devhost.stores.base import decode_continuation, encode_continuation

MEMORY_FIELDS = frozenset({"after"})


def _token_of(raw: bytes) -> str:
    """Any bytes, wrapped the way this host wraps its tokens."""
    return base64.urlsafe_b64encode(raw).decode()


def _json_token(value: Any) -> str:
    return _token_of(json.dumps(value).encode())


# What azure-data-tables puts in `continuation_token` (its next keys, either may be None).
TABLE_POSITIONS: list[dict[str, Optional[str]]] = [
    {"PartitionKey": "orders^042", "RowKey": ""},
    {"PartitionKey": "@counter@k", "RowKey": None},
    {"PartitionKey": None, "RowKey": "sentinel"},
    {"PartitionKey": "日本語^0キー😀", "RowKey": "0001000000000000"},
]


@pytest.mark.parametrize("position", TABLE_POSITIONS)
def test_a_table_page_position_survives_the_round_trip(position: dict[str, Optional[str]]) -> None:
    """The next page starts exactly where the last one stopped."""
    token = _encode_token(position)
    assert token is not None and token.isascii()  # it travels in an HTTP header
    assert _decode_token(token) == position


@pytest.mark.parametrize("position", [{"after": "i-9"}, {"after": "@counter@é/😀"}, {"after": None}])
def test_a_memory_page_position_survives_the_round_trip(position: dict[str, Optional[str]]) -> None:
    assert decode_continuation(encode_continuation(position), MEMORY_FIELDS) == position


def test_the_last_page_has_no_token_and_no_token_means_the_first_page() -> None:
    """azure-data-tables reports the end as an empty position; callers stop on no header."""
    assert _encode_token(None) is None and _encode_token({}) is None
    assert _decode_token(None) is None and _decode_token("") is None


_DEEP = 100_000
CRAFTED: dict[str, str] = {
    "not base64": "%%%not-base64%%%",
    "bad padding": "abc",
    "non-ASCII text": "jeton-é",
    "a lone surrogate": "\ud800",
    "base64 of invalid UTF-8": _token_of(b"\xff\xfe\xfa"),
    "base64 of not JSON": _token_of(b"{PartitionKey: x}"),
    "blank JSON": _token_of(b"   "),
    "a JSON list": _json_token(["PartitionKey", "x"]),
    "a JSON string": _json_token("PartitionKey"),
    "a JSON number": _json_token(7),
    "JSON null": _json_token(None),
    "an empty object": _json_token({}),
    "an unknown field": _json_token({"PartitionKey": "a", "Table": "Other"}),
    "only an unknown field": _json_token({"NextTableName": "x"}),
    "a number value": _json_token({"PartitionKey": 1}),
    "a boolean value": _json_token({"PartitionKey": True}),
    "a list value": _json_token({"PartitionKey": ["a"]}),
    "an object value": _json_token({"PartitionKey": {"$ne": ""}}),
    "NaN": _token_of(b'{"PartitionKey": NaN}'),
    "a number too long for Python": _token_of(b'{"PartitionKey": ' + b"9" * 5000 + b"}"),
    "lists 1000 deep": _token_of(b"[" * 1000 + b"]" * 1000),
    "objects 1000 deep": _token_of(b'{"PartitionKey": ' * 1000 + b"null" + b"}" * 1000),
    f"lists {_DEEP} deep": _token_of(b"[" * _DEEP + b"]" * _DEEP),
    "a memory token": encode_continuation({"after": "i-1"}),
}


@pytest.mark.parametrize("token", CRAFTED.values(), ids=CRAFTED.keys())
def test_a_token_this_host_did_not_issue_is_the_callers_error(token: str) -> None:
    """`BadRequest` is what the HTTP layer turns into 400; anything else is a 500."""
    with pytest.raises(BadRequest, match="not one this host issued"):
        _decode_token(token)


@pytest.mark.parametrize(
    "token",
    [
        CRAFTED["a JSON list"], CRAFTED["objects 1000 deep"],
        _json_token({"after": 3}), _json_token(TABLE_POSITIONS[0]),
    ],  # fmt: skip
    ids=["list", "deep", "number", "table token"],
)
def test_the_memory_store_refuses_crafted_tokens_alike(token: str) -> None:
    with pytest.raises(BadRequest):
        decode_continuation(token, MEMORY_FIELDS)
