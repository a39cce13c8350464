"""devhost's pytest plugin, registered through the `pytest11` entry point: the
`durable_host` fixture and its options (see `devhost.testing`)."""

from .testing import durable_host, pytest_addoption

__all__ = ["durable_host", "pytest_addoption"]
