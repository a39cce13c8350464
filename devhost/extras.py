"""The optional parts of devhost's dependencies, and the one error when one is missing.

`pip install durable-devhost` runs an app on the memory store; the Azure Storage store
(`--storage azurite`) and the storage triggers and bindings need the Azure SDKs of the
`azure` extra. Each of those is imported only where it is used, and checked at start,
so a missing SDK stops the start with a line saying what to install rather than an
ImportError in the middle of a run.
"""

from __future__ import annotations

from importlib.util import find_spec

from .errors import StartupError

__all__ = ["require_azure_identity", "require_azure_storage"]

DISTRIBUTION = "durable-devhost"
# What the `azure` extra installs, by import name (pyproject.toml).
_AZURE_STORAGE = ("azure.core", "azure.data.tables", "azure.storage.blob", "azure.storage.queue")
_AZURE_IDENTITY = ("azure.identity",)


def require_azure_storage(needed_by: str) -> None:
    """Raises StartupError naming `needed_by` unless every Azure Storage SDK is installed.

    Looks the modules up without importing them: the start pays for an SDK only once
    something uses it."""
    _require(_AZURE_STORAGE, "the Azure Storage SDKs", needed_by)


def require_azure_identity(needed_by: str) -> None:
    """Raises StartupError naming `needed_by` unless azure-identity (the token credentials
    of identity-based connections) is installed."""
    _require(_AZURE_IDENTITY, "azure-identity", needed_by)


def _require(modules: tuple[str, ...], what: str, needed_by: str) -> None:
    missing = [name for name in modules if not _installed(name)]
    if missing:
        raise StartupError(
            f"{needed_by} needs {what}, and {', '.join(missing)} "
            f"{'is' if len(missing) == 1 else 'are'} not installed: "
            f"pip install '{DISTRIBUTION}[azure]'."
        )


def _installed(module: str) -> bool:
    try:
        return find_spec(module) is not None
    except ModuleNotFoundError:  # a parent package is missing (`azure.storage`)
        return False
