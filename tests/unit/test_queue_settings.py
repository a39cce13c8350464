"""What the queue trigger and output read as the host does: host.json `extensions.queues`
(TimeSpans as .NET parses them, defaults, limits), queue names, message encodings, and
the messages the host makes of an output's value."""

from __future__ import annotations

import pytest
from azure.functions import meta

from devhost.bindings.queue_options import QueuesOptions
from devhost.bindings.queue_storage import UndecodableMessage, decode_body, encode_body, poison_queue_name, queue_name_error
from devhost.bindings.queues import host_messages
from devhost.errors import StartupError


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("00:00:02", 2.0), ("00:00:00.5", 0.5), (2, 2 * 86400.0), ("1.02:03:04.5", 93784.5)],  # a bare number is days
)
def test_timespans_read_as_the_hosts_configuration_binder_reads_them(value: object, seconds: float) -> None:
    options = QueuesOptions.of({"maxPollingInterval": value, "visibilityTimeout": value}, {})
    assert (options.max_polling_s, options.visibility_timeout_s) == (seconds, seconds)


def test_the_defaults_are_the_hosts() -> None:
    options = QueuesOptions.of({}, {"WEBSITE_SKU": "Dynamic"})
    assert options == QueuesOptions(
        batch_size=16, new_batch_threshold=8, max_polling_s=60.0, visibility_timeout_s=0.0,
        max_dequeue_count=5, message_encoding="base64",
    )  # fmt: skip


def test_the_new_batch_threshold_follows_the_batch_size_unless_set() -> None:
    assert QueuesOptions.of({"batchSize": 10}, {"WEBSITE_SKU": "Dynamic"}).new_batch_threshold == 5
    assert QueuesOptions.of({"BatchSize": "10", "newBatchThreshold": 0}, {}).new_batch_threshold == 0


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"batchSize": 33}, "'extensions.queues.batchSize' must be an integer from 1 to 32, not 33."),
        ({"batchSize": "many"}, "'extensions.queues.batchSize' must be an integer from 1 to 32, not 'many'."),
        ({"maxDequeueCount": 0}, "'extensions.queues.maxDequeueCount' must be an integer of at least 1, not 0."),
        ({"newBatchThreshold": -1}, "'extensions.queues.newBatchThreshold' must be an integer of at least 0, not -1."),
        ({"visibilityTimeout": "soon"}, "'extensions.queues.visibilityTimeout' must be a TimeSpan such as \"00:00:02\", not 'soon'."),
        ({"maxPollingInterval": "00:00:00.05"}, "'extensions.queues.maxPollingInterval' must be at least 00:00:00.1, not '00:00:00.05'."),
        ({"messageEncoding": "utf8"}, "'extensions.queues.messageEncoding' must be \"base64\" or \"none\", not 'utf8'."),
    ],
)
def test_a_value_the_host_refuses_names_the_setting(section: dict[str, object], message: str) -> None:
    with pytest.raises(StartupError) as refused:
        QueuesOptions.of(section, {})
    assert str(refused.value) == f"host.json: {message}"


def test_queue_names_follow_storages_rules() -> None:
    assert queue_name_error("orders-2024") is None
    assert queue_name_error("ab") == 'A queue name must be from 3 to 63 characters long - "ab"'
    assert queue_name_error("-orders") == 'The dash (-) character may not be the first or last letter - "-orders"'
    assert queue_name_error("or--ders") == "A queue name cannot contain consecutive dash(-) characters."
    assert poison_queue_name("orders") == "orders-poison"
    assert poison_queue_name("orders-poison") is None  # a poison queue has none
    assert poison_queue_name("x" * 60) is None  # the suffix would make the name too long


def test_base64_bodies_decode_as_dotnet_does() -> None:
    assert decode_body(" aGVs\nbG8= ", "base64") == b"hello"  # white space skipped
    with pytest.raises(UndecodableMessage):
        decode_body("aGVsbG8", "base64")  # unpadded
    assert encode_body(b"\xff", "base64") == "/w=="
    assert encode_body(b"ok \xff", "none") == "ok \ufffd"


@pytest.mark.parametrize(
    ("datum", "messages"),
    [
        (meta.Datum("plain text", "string"), [b"plain text"]),
        (meta.Datum('{"a": 1}', "string"), [b'{\n  "a": 1\n}']),  # looks like JSON: parsed, indented
        (meta.Datum('["a", {"b": true}]', "string"), [b"a", b'{\n  "b": true\n}']),  # a JSON array: each item
        (meta.Datum(b"\xff\x00", "bytes"), [b"\xff\x00"]),
        (meta.Datum('["x", "y"]', "json"), [b"x", b"y"]),  # a list the worker sends as JSON
        (meta.Datum({"n": 1.5}, "dict"), [b'{\n  "n": 1.5\n}']),
        (meta.Datum(7, "int"), [b"7"]),
        (meta.Datum(True, "bool"), [b"1"]),  # the worker sends bools as ints
        (meta.Datum(None, None), []),
    ],
)
def test_an_outputs_value_becomes_the_hosts_messages(datum: meta.Datum, messages: list[bytes]) -> None:
    assert host_messages(datum) == messages
