"""local.settings.json `Values` in the process environment, for as long as a host runs.

`func start` puts the `Values` not already set into the environment of the worker, a
process of the app's own; devhost's hosts share the test's process, so they take turns
by this rule. A host adds each value whose variable is unset when it starts; one that
another running host added counts as set (one process, one value: the app sees the
first host's). The variable stays while any running host's settings name it; the last
of them to stop removes it, unless something else changed it meanwhile (then it is left
as it is). Variables a host did not add are never touched.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass

logger = logging.getLogger(__name__)


@dataclass
class _Added:
    value: str
    holders: int


class SharedEnvironment:
    """The variables running hosts added to one environment (`os.environ`: `PROCESS`)."""

    def __init__(self, environ: MutableMapping[str, str]) -> None:
        self._environ = environ
        self._added: dict[str, _Added] = {}
        self._lock = threading.Lock()  # hosts may run on loops of other threads

    def apply(self, values: Mapping[str, str]) -> AppliedSettings:
        """Adds the unset `values`; the result's `release` takes back this host's part."""
        held: list[str] = []
        with self._lock:
            for name, value in values.items():
                added = self._added.get(name)
                if added is not None:
                    added.holders += 1
                    held.append(name)
                    if added.value != value:
                        logger.warning(
                            "App setting %s is '%s', as another running host set it; this "
                            "app's local.settings.json says '%s'.", name, added.value, value,
                        )  # fmt: skip
                elif name not in self._environ:
                    self._environ[name] = value
                    self._added[name] = _Added(value, holders=1)
                    held.append(name)
        return AppliedSettings(self, held)

    def _release(self, names: list[str]) -> None:
        with self._lock:
            for name in names:
                added = self._added[name]
                added.holders -= 1
                if added.holders:
                    continue
                del self._added[name]
                if self._environ.get(name) == added.value:
                    del self._environ[name]


class AppliedSettings:
    """One host's part in the environment, from its start to its stop."""

    def __init__(self, environment: SharedEnvironment, names: list[str]) -> None:
        self._environment = environment
        self._names = names

    def release(self) -> None:
        """Idempotent: a host's stop may run after a failed start's."""
        names, self._names = self._names, []
        self._environment._release(names)


PROCESS = SharedEnvironment(os.environ)
