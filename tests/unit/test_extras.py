"""Without the `azure` extra, each part that needs the Azure Storage SDKs stops the start
with one line naming itself and the extra to install.

Here the SDKs are hidden from import (a `None` in `sys.modules` is what the import system
reads as "not installed"); tests/package/test_wheel.py runs an environment that really
lacks them, through the `devhost` command.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from devhost.errors import StartupError
from devhost.extras import require_azure_storage
from devhost.testing import DurableHost
from tests.support.apps import PROTOCOL_APP

HINT = "pip install 'durable-devhost[azure]'."

BLOB_INPUT_APP = '''
import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="docs/{name}")
@app.blob_input(arg_name="doc", path="docs/{name}", connection="AzureWebJobsStorage")
def read_doc(req: func.HttpRequest, doc: str) -> str:
    return doc
'''


@pytest.fixture
def without_blob_sdk(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "azure.storage.blob", None)


def test_the_message_names_what_needs_the_sdks_what_is_missing_and_the_extra(without_blob_sdk: None) -> None:
    with pytest.raises(StartupError) as raised:
        require_azure_storage("The thing")
    assert raised.value.message == f"The thing needs the Azure Storage SDKs, and azure.storage.blob is not installed: {HINT}"


async def test_the_azure_store_needs_the_extra(without_blob_sdk: None) -> None:
    host = DurableHost(PROTOCOL_APP, storage="azurite", connection="UseDevelopmentStorage=true")
    with pytest.raises(StartupError, match=r"^The Azure Storage store \(--storage azurite\) needs the Azure Storage SDKs"):
        async with host:
            pass


async def test_a_storage_binding_needs_the_extra_and_names_its_function(tmp_path: Path, without_blob_sdk: None) -> None:
    (tmp_path / "function_app.py").write_text(BLOB_INPUT_APP, encoding="utf-8")
    with pytest.raises(StartupError, match=r"^Function 'read_doc' \(blob binding\) needs the Azure Storage SDKs"):
        async with DurableHost(tmp_path):
            pass
