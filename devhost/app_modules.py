"""An app's own modules in `sys.modules`, and its folder on `sys.path`, for as long as its
host runs.

The worker imports `function_app` with the app folder first on `sys.path`, in a process
of the app's own. Hosts in one process take turns instead: a host imports its app with
its folder first on the path and no other running app's modules in `sys.modules`, so
two apps that both have a `function_app` (and, say, a `helpers` package) each get their
own, and the same app started again gets fresh module state. The app's modules are the
ones that import brought in from the app folder itself (its top-level modules and
packages, and their submodules); installed packages, even in a `.venv` inside the app
folder, and packages imported before (devhost itself, where the app folder holds it)
stay as they are. A module the test imported itself before the host started (an app
module it patches, say) is shared with the host as it is.

When a host stops its modules leave `sys.modules` and its folder leaves `sys.path`;
the modules of another running app of the same names come back. Code that imports
lazily, inside a function, while two apps run side by side finds the modules of the
one that started (or came back) last: one process has one `sys.modules`.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

_LOCK = threading.Lock()
# Apps whose hosts run, in the order they started.
_RUNNING: list[AppModules] = []


class AppModules:
    """One host's import of its app."""

    def __init__(self, app_dir: Path) -> None:
        self.app_dir = app_dir.resolve()
        self.modules: dict[str, ModuleType] = {}
        self._on_path = False

    def load(self, run_import: Callable[[], ModuleType]) -> ModuleType:
        """Runs the app's import as described above (`run_import` returns the script's
        module, whatever name it got) and keeps what it brought in."""
        with _LOCK:
            hidden = {
                name: sys.modules.pop(name)
                for other in _RUNNING
                for name, module in other.modules.items()
                if sys.modules.get(name) is module
            }
            before = set(sys.modules)
            sys.path.insert(0, str(self.app_dir))  # first, even if a later entry has it too
            self._on_path = True
            _RUNNING.append(self)
            script: ModuleType | None = None
            try:
                script = run_import()
                return script
            finally:
                self.modules = {
                    name: module
                    for name, module in list(sys.modules.items())
                    if name not in before and self._owns(name, module, before)
                }
                if script is not None and script.__name__ not in before:
                    self.modules[script.__name__] = script
                mine = {_top(name) for name in self.modules}
                for name, module in hidden.items():
                    if _top(name) not in mine:
                        sys.modules.setdefault(name, module)

    def release(self) -> None:
        """Takes the app's modules and folder back out; idempotent."""
        with _LOCK:
            if self in _RUNNING:
                _RUNNING.remove(self)
            freed = [name for name, module in self.modules.items() if sys.modules.get(name) is module]
            for name in freed:
                del sys.modules[name]
            for other in _RUNNING:  # the latest started wins a name, as at its start
                for name in freed:
                    module = other.modules.get(name)
                    if module is not None:
                        sys.modules[name] = module
            self.modules = {}
            if self._on_path:
                self._on_path = False
                if str(self.app_dir) in sys.path:
                    sys.path.remove(str(self.app_dir))

    def _owns(self, name: str, module: ModuleType, before: set[str]) -> bool:
        if _top(name) in before:
            return False
        location = _location(module)
        if location is None:
            return False
        top = _top(name)
        if location.parent == self.app_dir:  # `top.py` (or an extension module), a namespace folder
            return location.name.partition(".")[0] == top
        return self.app_dir / top in location.parents


def _top(name: str) -> str:
    return name.partition(".")[0]


def _location(module: ModuleType) -> Path | None:
    """The module's file, or a namespace package's first folder."""
    spec = getattr(module, "__spec__", None)
    origin = getattr(spec, "origin", None) or getattr(module, "__file__", None)
    if origin and origin not in ("built-in", "frozen"):
        return Path(origin).resolve()
    locations: Iterator[str] = iter(getattr(module, "__path__", None) or ())
    first = next(locations, None)
    return Path(first).resolve() if first else None
