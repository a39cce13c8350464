"""A blob trigger or binding configured wrong stops the start with one line that names
the function and what is wrong, as the host refuses to index it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from devhost.errors import StartupError
from devhost.testing import DurableHost
from tests.support.apps import BLOB_CONFIG_APP

_GOOD = {
    "WATCHED_PATH": "watched/{name}",
    "WATCHED_CONNECTION": "",  # set to the Azurite connection by the fixture
    "EXTRA_PATH": "extras/{name}",
}


@pytest.fixture
def settings(storage_connection: str, monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """Every setting the app reads, set right."""
    for name, value in {**_GOOD, "WATCHED_CONNECTION": storage_connection}.items():
        monkeypatch.setenv(name, value)
    return monkeypatch


async def _refusal(app_dir: Path = BLOB_CONFIG_APP) -> str:
    with pytest.raises(StartupError) as refused:
        async with DurableHost(app_dir):
            pass
    line = refused.value.message
    assert "\n" not in line, line
    return line


async def test_the_app_starts_when_every_setting_is_right(settings: pytest.MonkeyPatch) -> None:
    async with DurableHost(BLOB_CONFIG_APP):
        pass


@pytest.mark.parametrize(
    ("path", "said"),
    [
        ("/{name}", "Invalid blob trigger path '/{name}'. Paths must be in the format 'container/blob'."),
        ("{box}/{name}", "Invalid blob trigger path '{box}/{name}'. Container paths cannot contain {resolve} tokens."),
        ("Watched_Box/{name}", "Invalid container name: Watched_Box (blob trigger path 'Watched_Box/{name}')"),
        ("watched/{name", "Invalid template 'watched/{name'. Missing closing bracket at position 9."),
    ],
)
async def test_a_trigger_path_the_extension_refuses(settings: pytest.MonkeyPatch, path: str, said: str) -> None:
    settings.setenv("WATCHED_PATH", path)

    assert await _refusal() == f"Error indexing method 'Functions.watch': {said}"


async def test_a_trigger_connection_setting_that_is_missing(settings: pytest.MonkeyPatch) -> None:
    settings.delenv("WATCHED_CONNECTION")

    assert await _refusal() == (
        "Error indexing method 'Functions.watch': Storage account connection string 'WATCHED_CONNECTION' "
        "does not exist. Make sure that it is a defined App Setting."
    )


async def test_an_input_path_that_names_no_blob(settings: pytest.MonkeyPatch) -> None:
    settings.setenv("EXTRA_PATH", "extras")

    assert await _refusal() == (
        "Error indexing method 'Functions.watch': Validation failed for property 'BlobPath', value 'extras'. "
        "Invalid blob path specified : 'extras'. Blob identifiers must be in the format 'container/blob'."
    )


async def test_a_blobs_setting_out_of_range_in_host_json(settings: pytest.MonkeyPatch, tmp_path: Path) -> None:
    app_dir = tmp_path / "app"
    app_dir.mkdir()
    shutil.copy(BLOB_CONFIG_APP / "function_app.py", app_dir / "function_app.py")
    host_json = {"version": "2.0", "extensions": {"blobs": {"poisonBlobThreshold": 0}}}
    (app_dir / "host.json").write_text(json.dumps(host_json), encoding="utf-8")

    assert await _refusal(app_dir) == (
        "host.json extensions.blobs.poisonBlobThreshold must be a whole number of at least 1, not 0."
    )
