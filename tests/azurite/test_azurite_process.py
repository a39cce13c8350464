"""The Azurite that devhost starts for local work keeps to the machine."""

from __future__ import annotations

from pathlib import Path

from devhost.azurite import AzuriteProcess


def test_the_azurite_devhost_starts_sends_no_usage_telemetry(tmp_path: Path) -> None:
    # Azurite's telemetry client, when on, stores the instance id it reports under in
    # `AzuriteConfig` in the data folder as it starts; with it off, no such file appears.
    with AzuriteProcess.on_free_ports(tmp_path) as azurite:
        assert azurite.pid is not None  # this test's own Azurite, not one already running
        assert not (tmp_path / "AzuriteConfig").exists()
