"""Parameters planned as the Python worker binds them: converters, annotations, settings."""

from typing import Any

import azure.durable_functions as df
import azure.functions as func
import pytest

from devhost.bindings.accounts import StorageAccounts
from devhost.bindings.handlers import Bindings
from devhost.bindings.plan import GenericConverter, Plan, plan_function
from devhost.errors import StartupError
from devhost.loader import FunctionInfo, describe

CHECKED = frozenset({"blob", "queue", "queueTrigger"})
_INDEXED: dict[func.FunctionRegister, FunctionInfo] = {}


def plan_of(app: func.FunctionRegister, settings: dict[str, str] | None = None) -> Plan:
    # An app indexes once (`get_functions` refuses a second call), as the worker does.
    if app not in _INDEXED:
        (function,) = app.get_functions()
        _INDEXED[app] = describe(function)
    info = _INDEXED[app]
    return plan_function(
        info.name,
        info.user_function,
        info.trigger,
        info.bindings,
        settings or {},
        Bindings(StorageAccounts(settings or {})),
        checked_types=CHECKED,
    )


def test_str_and_bytes_annotations_take_the_generic_binding_others_their_converter() -> None:
    app = func.FunctionApp()

    @app.queue_trigger(arg_name="message", queue_name="in", connection="C")
    @app.blob_input(arg_name="text", path="c/{queueTrigger}", connection="C")
    @app.blob_input(arg_name="stream", path="c/other", connection="C")
    def handle(message: func.QueueMessage, text: str, stream: func.InputStream) -> None: ...

    plan = plan_of(app)
    converters = {p.name: p.converter for p in (plan.trigger, *plan.unbound)}
    assert converters["message"] is func.get_binding_registry().get("queueTrigger")
    assert converters["text"] is GenericConverter
    assert converters["stream"] is func.get_binding_registry().get("blob")


def test_an_annotation_the_converter_refuses_stops_the_start() -> None:
    app = func.FunctionApp()

    @app.queue_trigger(arg_name="message", queue_name="in", connection="C")
    def handle(message: int) -> None: ...

    with pytest.raises(StartupError, match=r'type of message binding in function.json "queueTrigger" does not match its Python annotation "int"'):
        plan_of(app)


def test_an_unset_setting_stops_the_start_in_the_hosts_words() -> None:
    app = func.FunctionApp()

    @app.queue_trigger(arg_name="message", queue_name="%OrdersQueue%", connection="C")
    def handle(message: func.QueueMessage) -> None: ...

    with pytest.raises(StartupError) as error:
        plan_of(app)
    assert error.value.message == "Error indexing method 'Functions.handle': '%OrdersQueue%' does not resolve to a value."
    assert plan_of(app, {"OrdersQueue": "orders"}).trigger.binding["queueName"] == "orders"


def test_durable_clients_and_outputs_are_told_apart() -> None:
    app = df.DFApp()

    @app.route(route="r")
    @app.queue_output(arg_name="out", queue_name="out-queue", connection="C")
    @app.durable_client_input(client_name="client")
    def handle(req: func.HttpRequest, out: func.Out[str], client: Any) -> func.HttpResponse: ...

    plan = plan_of(app, {"C": "UseDevelopmentStorage=true"})
    assert [p.name for p in plan.clients] == ["client"]
    assert [p.name for p in plan.outputs] == ["out"]
    assert plan.unbound == ()
