"""A function's parameters as the Python worker binds them, and their conversions.

The worker (`functions.py` `validate_function_params`, `dispatcher.py`
`_handle__invocation_request`) picks a converter per parameter: the `azure.functions`
converter registered for the binding type, except that a parameter annotated `str` or
`bytes` on a binding without implicit output takes the generic binding (the value as it
came); the trigger's converter alone sees the trigger metadata; an output parameter is
an `Out` whose value, if set, is encoded after the call; a `$return` binding encodes the
return value. devhost plans this once per function and checks the annotations as the
worker does when it loads the function.
"""

from __future__ import annotations

import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import azure.functions as func
from azure.functions import meta

from ..errors import StartupError
from ..loader import DURABLE_CLIENT, HTTP_OUTPUT
from .expressions import SettingError, resolve_binding_settings
from .handlers import BindingHandler, Bindings

# In the worker's order: a bool is an int, so it goes as "int" there too.
_GENERIC_KINDS: tuple[tuple[type, str], ...] = (
    (str, "string"), (dict, "dict"), (list, "list"), (int, "int"), (float, "double"), (bool, "bool"),
)  # fmt: skip


class GenericConverter:
    """The worker's `GenericBinding` (worker `bindings/generic.py`): values pass as they
    are; what a parameter annotated `str`/`bytes` and an unregistered binding type get."""

    @classmethod
    def has_trigger_support(cls) -> bool:
        return False

    @classmethod
    def check_input_type_annotation(cls, pytype: type) -> bool:
        return issubclass(pytype, (str, bytes))

    @classmethod
    def check_output_type_annotation(cls, pytype: type) -> bool:
        return issubclass(pytype, (str, bytes, bytearray))

    @classmethod
    def encode(cls, obj: Any, *, expected_type: type | None) -> meta.Datum:
        if obj is None:
            return meta.Datum(type=None, value=None)
        if isinstance(obj, (bytes, bytearray)):
            return meta.Datum(type="bytes", value=bytes(obj))
        for kind, name in _GENERIC_KINDS:
            if isinstance(obj, kind):
                return meta.Datum(type=name, value=obj)
        raise NotImplementedError

    @classmethod
    def decode(cls, data: meta.Datum | None, *, trigger_metadata: Any) -> Any:
        if data is None or data.type is None:
            return None
        if data.type in ("string", "bytes", "json"):
            return data.value
        raise ValueError(f'unexpected type of data received for the "generic" binding : {data.type!r}')


def converter_for(binding_type: str) -> Any:
    registry: Any = func.get_binding_registry()  # type: ignore[no-untyped-call]  # untyped in azure-functions
    return registry.get(binding_type) or GenericConverter


def has_implicit_output(binding_type: str) -> bool:
    """Worker `bindings/meta.py` `has_implicit_output`."""
    converter = converter_for(binding_type)
    if converter is GenericConverter:
        return binding_type != DURABLE_CLIENT
    return bool(getattr(converter, "has_implicit_output", lambda: False)())


@dataclass(frozen=True)
class Parameter:
    """One bound parameter: its binding (settings resolved), annotation and converter;
    `handler` is the host side of a storage binding, None for the others."""

    name: str
    binding: Mapping[str, Any]
    pytype: type | None
    converter: Any
    handler: BindingHandler | None

    @property
    def type(self) -> str:
        return str(self.binding.get("type"))

    def decode(self, datum: meta.Datum | None, metadata: Mapping[str, meta.Datum] | None) -> Any:
        if datum is None:
            return None
        supported = self.converter.has_trigger_support()
        return self.converter.decode(datum, trigger_metadata=dict(metadata or {}) if supported else None)

    def encode(self, value: Any) -> meta.Datum:
        try:
            encoded: meta.Datum = self.converter.encode(value, expected_type=self.pytype)
            return encoded
        except NotImplementedError:
            raise TypeError(
                f'unable to encode outgoing TypedData: unsupported type "{self.type}" for '
                f'Python type "{type(value).__name__}"'
            ) from None


@dataclass(frozen=True)
class Plan:
    trigger: Parameter
    inputs: tuple[Parameter, ...]  # storage inputs, read before each call
    clients: tuple[Parameter, ...]  # durable clients
    outputs: tuple[Parameter, ...]  # `Out` parameters of storage bindings
    returns: Parameter | None  # a `$return` storage binding
    unbound: tuple[Parameter, ...]  # bindings devhost has no handler for

    @property
    def uses_storage(self) -> bool:
        return bool(self.inputs or self.outputs or self.returns)


def plan_function(
    name: str,
    user_function: Any,
    trigger: Mapping[str, Any],
    bindings: tuple[Mapping[str, Any], ...],
    settings: Mapping[str, str],
    handlers: Bindings,
    *,
    checked_types: frozenset[str],
) -> Plan:
    """Raises StartupError as the host and worker refuse to index: an unresolved
    `%Setting%`, a binding the handler rejects, an annotation the converter refuses.
    Settings and annotations are checked for the binding types in `checked_types` (the
    storage bindings and triggers devhost serves; the durable SDK wraps its own
    functions, and an HTTP route may hold a literal `%`)."""
    annotations = _annotations(user_function)
    inputs, clients, outputs, unbound = [], [], [], []
    returns = trigger_parameter = None
    for raw in bindings:
        kind = str(raw.get("type"))
        try:  # only the bindings devhost serves: their properties are the host's AutoResolve ones
            binding = resolve_binding_settings(raw, settings) if kind in checked_types else dict(raw)
        except SettingError as error:
            raise StartupError(f"Error indexing method 'Functions.{name}': {error}") from None
        handler = handlers.handler(kind, function=name)
        if handler is not None:
            handler.check(name, binding)
        parameter = _parameter(name, binding, annotations, handler, check=kind in checked_types)
        direction = str(binding.get("direction", "")).lower()
        if raw is trigger:
            trigger_parameter = parameter
        elif kind == DURABLE_CLIENT:
            clients.append(parameter)
        elif kind == HTTP_OUTPUT:
            continue  # the HTTP response: `conversion.py`
        elif handler is None:
            unbound.append(parameter)
        elif binding.get("name") == "$return":
            returns = parameter
        elif direction == "out":
            outputs.append(parameter)
        else:
            inputs.append(parameter)
    assert trigger_parameter is not None, "indexing found the trigger among the bindings"
    return Plan(trigger_parameter, tuple(inputs), tuple(clients), tuple(outputs), returns, tuple(unbound))


def _parameter(
    function: str,
    binding: Mapping[str, Any],
    annotations: Mapping[str, Any],
    handler: BindingHandler | None,
    *,
    check: bool,
) -> Parameter:
    name = str(binding.get("name"))
    kind = str(binding.get("type"))
    out = str(binding.get("direction", "")).lower() == "out"
    annotation = annotations.get("return" if name == "$return" else name)
    pytype = _inner_out_type(annotation) if out and name != "$return" else annotation
    generic = pytype in (str, bytes) and not has_implicit_output(kind)
    converter = GenericConverter if generic else converter_for(kind)
    if check and isinstance(pytype, type):
        accepts = converter.check_output_type_annotation if out else converter.check_input_type_annotation
        if not accepts(pytype):
            raise StartupError(
                f"Function '{function}': type of {name} binding in function.json \"{kind}\" does not "
                f'match its Python annotation "{pytype.__name__}".'
            )
    return Parameter(name, binding, pytype if isinstance(pytype, type) else None, converter, handler)


def _inner_out_type(annotation: Any) -> Any:
    """`func.Out[str]` -> `str` (the worker's `typing_inspect.get_args`)."""
    arguments = typing.get_args(annotation)
    return arguments[0] if len(arguments) == 1 else None


def _annotations(user_function: Any) -> Mapping[str, Any]:
    try:
        return typing.get_type_hints(user_function)
    except Exception:  # a forward reference the module cannot resolve: as unannotated
        return dict(getattr(user_function, "__annotations__", {}) or {})
