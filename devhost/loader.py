"""Import a v2-model function app and index its functions, as the Python worker does.

The worker imports `function_app.py` with the app directory on `sys.path` (here: first on
it, and apart from other apps' hosts in this process, app_modules.py), finds the one
`FunctionRegister` (a `func.FunctionApp` or `df.DFApp`) and asks it for its functions
(docs/protocol.md A). Durable names follow the trigger's `orchestration`/`activity`/
`entityName` property, else the function name; lookups are case-insensitive.
"""

from __future__ import annotations

import functools
import importlib.util
import inspect
import json
import logging
import sys
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import azure.functions as func

from .app_modules import AppModules
from .engine.actions import KnownFunctions
from .errors import StartupError

logger = logging.getLogger(__name__)

ORCHESTRATION_TRIGGER = "orchestrationTrigger"
ACTIVITY_TRIGGER = "activityTrigger"
ENTITY_TRIGGER = "entityTrigger"
HTTP_TRIGGER = "httpTrigger"
DURABLE_CLIENT = "durableClient"
HTTP_OUTPUT = "http"
ALL_HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")


@dataclass(frozen=True, eq=False)
class FunctionInfo:
    """One indexed function: its trigger, bindings and the callable the worker invokes."""

    name: str
    trigger_type: str
    trigger: dict[str, Any]
    bindings: tuple[dict[str, Any], ...]
    user_function: Callable[..., Any]

    @property
    def durable_name(self) -> str:
        key = {ORCHESTRATION_TRIGGER: "orchestration", ACTIVITY_TRIGGER: "activity"}.get(
            self.trigger_type, "entityName"
        )
        return str(self.trigger.get(key) or self.name)

    @property
    def trigger_parameter(self) -> str:
        return str(self.trigger["name"])

    @property
    def input_bindings(self) -> tuple[dict[str, Any], ...]:
        """The bindings besides the trigger that the host fills in for each call."""
        return tuple(
            binding
            for binding in self.bindings
            if binding is not self.trigger and str(binding.get("direction", "")).upper() == "IN"
        )

    @functools.cached_property
    def http_output_parameter(self) -> str | None:
        """The parameter an HTTP function sets its response on (`binding_arg_name`), if
        the response is not its return value."""
        for binding in self.bindings:
            if binding.get("type") == HTTP_OUTPUT and binding.get("name") != "$return":
                return str(binding["name"])
        return None

    @property
    def route(self) -> str:
        return str(self.trigger.get("route") or self.name)

    @property
    def methods(self) -> tuple[str, ...]:
        methods = self.trigger.get("methods")
        return tuple(m.upper() for m in methods) if methods else ALL_HTTP_METHODS

    @property
    def any_method(self) -> bool:
        """A route that names no methods takes every method, custom verbs too (the host
        adds no method constraint)."""
        return not self.trigger.get("methods")

    @property
    def is_async(self) -> bool:
        return inspect.iscoroutinefunction(self.user_function)

    @functools.cached_property
    def wants_context(self) -> bool:
        """The worker passes `azure.functions.Context` to an unbound parameter `context`."""
        bound = {binding.get("name") for binding in self.bindings}
        try:
            parameters = inspect.signature(self.user_function).parameters
        except (TypeError, ValueError):
            return False
        return "context" in parameters and "context" not in bound


@dataclass
class FunctionIndex:
    """The app's functions by kind; durable lookups are case-insensitive."""

    app_dir: Path
    functions: list[FunctionInfo]
    module: Any = None
    orchestrators: dict[str, FunctionInfo] = field(default_factory=dict)
    activities: dict[str, FunctionInfo] = field(default_factory=dict)
    entities: dict[str, FunctionInfo] = field(default_factory=dict)
    http: list[FunctionInfo] = field(default_factory=list)
    # Every other trigger: the ones devhost runs (triggers/runner.py) and the rest.
    others: list[FunctionInfo] = field(default_factory=list)

    def __post_init__(self) -> None:
        tables = {
            ORCHESTRATION_TRIGGER: self.orchestrators,
            ACTIVITY_TRIGGER: self.activities,
            ENTITY_TRIGGER: self.entities,
        }
        for info in self.functions:
            if info.trigger_type in tables:
                tables[info.trigger_type][info.durable_name.lower()] = info
            elif info.trigger_type == HTTP_TRIGGER:
                self.http.append(info)
            else:
                self.others.append(info)

    def orchestrator(self, name: str) -> FunctionInfo | None:
        return self.orchestrators.get(name.lower())

    def activity(self, name: str) -> FunctionInfo | None:
        return self.activities.get(name.lower())

    def entity(self, name: str) -> FunctionInfo | None:
        return self.entities.get(name.lower())

    def known(self) -> KnownFunctions:
        return KnownFunctions.of(
            (f.durable_name for f in self.activities.values()),
            (f.durable_name for f in self.orchestrators.values()),
            (f.durable_name for f in self.entities.values()),
        )


# `get_functions()` may be called once per app object: a script module hosts reuse (one
# the test imported itself, see app_modules.py) is indexed once, its index shared.
_INDEXED: weakref.WeakKeyDictionary[ModuleType, FunctionIndex] = weakref.WeakKeyDictionary()


def load_app(app_dir: Path, modules: AppModules) -> FunctionIndex:
    """Imports `app_dir/function_app.py` (its modules kept in `modules`, which the host
    releases when it stops) and indexes it; raises StartupError with the cause."""
    app_dir = app_dir.resolve()
    script = app_dir / "function_app.py"
    if not app_dir.is_dir():
        raise StartupError(f"App directory '{app_dir}' does not exist.")
    if not script.is_file():
        raise StartupError(f"'{script}' not found: a v2-model app needs a function_app.py.")
    module = modules.load(lambda: _import_script(script))
    if module in _INDEXED:
        return _INDEXED[module]
    registers = [value for value in vars(module).values() if isinstance(value, func.FunctionRegister)]
    if len(registers) != 1:
        raise StartupError(
            f"'{script}' must define exactly one FunctionApp (func.FunctionApp or df.DFApp); found {len(registers)}."
        )
    try:
        functions = [describe(function) for function in registers[0].get_functions()]
    except ValueError as error:
        raise StartupError(f"Indexing '{script}' failed: {error}") from error
    index = FunctionIndex(app_dir=app_dir, functions=functions, module=module)
    _INDEXED[module] = index
    return index


def _import_script(script: Path) -> ModuleType:
    """Imports the script as `function_app`, or a unique name if a module the host does
    not own holds that name (the test's import of another app); the test's own import
    of this very script is used as it is."""
    module_name = "function_app"
    existing = sys.modules.get(module_name)
    if existing is not None and Path(getattr(existing, "__file__", "")).resolve() != script:
        module_name = f"function_app_{abs(hash(str(script)))}"
    elif existing is not None:
        return existing
    spec = importlib.util.spec_from_file_location(module_name, script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as error:
        del sys.modules[module_name]
        raise StartupError(f"Importing '{script}' failed: {type(error).__name__}: {error}", cause=error) from error
    return module


def describe(function: Any) -> FunctionInfo:
    """Bindings as the worker reports them to the host: the function's JSON metadata."""
    bindings = tuple(json.loads(function.get_function_json())["bindings"])
    trigger = function.get_trigger()
    trigger_json = next(b for b in bindings if b.get("type") == trigger.type)
    return FunctionInfo(
        name=function.get_function_name(),
        trigger_type=trigger.type,
        trigger=trigger_json,
        bindings=bindings,
        user_function=function.get_user_function(),
    )
