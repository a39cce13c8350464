"""The host id under which timer status, blob receipts and locks are kept."""

import socket

import pytest

from devhost.bindings.accounts import _stable_hash, host_id


def test_the_stable_hash_is_the_hosts() -> None:
    # Utility.GetStableHash: 23, then hash * 31 + each UTF-16 unit, in 32-bit arithmetic.
    assert _stable_hash("") == 23
    assert _stable_hash("a") == 23 * 31 + 97
    long_path = "/home/user/projects/durable-functions-app"
    expected = 23
    for unit in long_path:
        expected = (expected * 31 + ord(unit)) & 0xFFFFFFFF
    assert _stable_hash(long_path) == (expected - (1 << 32) if expected >= 1 << 31 else expected)
    assert -(1 << 31) <= _stable_hash("x" * 1000) < 1 << 31


def test_a_configured_host_id_is_used_lowercased_and_bounded() -> None:
    assert host_id({"AzureFunctionsWebHost__hostid": "MyApp"}, "/app") == "myapp"
    assert host_id({"AzureFunctionsWebHost__hostid": "A" * 31 + "-xyz"}, "/app") == "a" * 31


def test_the_default_is_machine_name_and_folder_hash(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket, "gethostname", lambda: "Dev-Box_1.example.com")
    assert host_id({}, "/app") == f"devbox1-{abs(_stable_hash('/app'))}"
    assert host_id({}, "/app") != host_id({}, "/other")
    virtual = host_id({}, "/app", virtual_clock=True, hub="Hub1")
    assert virtual.startswith("devbox1-") and virtual != host_id({}, "/app") and len(virtual) <= 32
    assert host_id({}, "/app", virtual_clock=True, hub="Hub2") != virtual  # each hub its own timeline
