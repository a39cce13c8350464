"""Call the app's functions the way the Python worker does.

Inputs and outputs go through the `azure.functions` converters (docs/protocol.md A):
orchestrators and entities get `OrchestrationContext`/`EntityContext` around the JSON
text, activities get `ActivityTriggerConverter.decode` of their input, durable-client
parameters get the binding JSON as a string, an unbound `context` parameter gets an
`azure.functions.Context`. Sync functions run in a thread pool, coroutines on the loop.
Each execution is logged once; `console.py` renders it like `func start`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

import azure.functions as func
from azure.functions import meta
from azure.functions.durable_functions import ActivityTriggerConverter

from .bindings.expressions import BindingData
from .bindings.handlers import Bindings
from .bindings.plan import Plan, plan_function
from .clock import Clock
from .context import InvocationContext
from .executions import Failure, executed, executing, traced
from .ids import new_guid
from .loader import FunctionIndex, FunctionInfo

logger = logging.getLogger(__name__)

T = TypeVar("T")

_DURABLE_REASON = "(null)"

# The durable client binding JSON for a connection name and a task hub (None: the
# defaults, the host's own hub).
ClientBinding = Callable[[str | None, str | None], str]
_HTTP_REASON = "This function was programmatically called via the host APIs."


# What `encode` gets when an HTTP function left its `Out` response unset (the host then
# answers 204, `HttpBinding.SetResponse(request, null)`).
UNSET_RESPONSE = object()


class Out(func.Out[Any]):
    """The value the worker passes for an output binding (worker `bindings/out.py`)."""

    def __init__(self) -> None:
        self._value: Any = None

    def set(self, val: Any) -> None:
        self._value = val

    def get(self) -> Any:
        return self._value


class UnboundBinding(Exception):
    """Raised when a function declares a binding devhost does not fill in."""

    def __init__(self, info: FunctionInfo, binding: Mapping[str, Any]) -> None:
        super().__init__(
            f"devhost does not bind '{binding.get('type')}' bindings: parameter "
            f"'{binding.get('name')}' of function '{info.name}' has no value."
        )


@dataclass(frozen=True)
class Triggered:
    """One call of a function by its trigger (or by hand): the trigger's value and
    metadata as the host sends them to the worker, the data the other bindings'
    `{...}` expressions read (plus the properties of `payload`, a JSON object's text),
    and the reason the console's `Executing` line gives."""

    datum: meta.Datum
    reason: str
    metadata: Mapping[str, meta.Datum] = field(default_factory=dict)
    data: Mapping[str, Any] = field(default_factory=dict)
    payload: str | None = None
    # The host could not bind the trigger's value (a queue message that is not UTF-8 for
    # a string parameter): the call fails with this, logged like any failed execution.
    unbound: Exception | None = None
    # What the host's `Trigger Details: ...` line after `Executing` says (WebJobs
    # `TriggeredFunctionData.TriggerDetails`), in order.
    details: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ActivityOutcome:
    """`result` is the encoded output (JSON text) when `failure` is None."""

    result: str | None = None
    failure: Failure | None = None


class Invoker:
    """Runs user functions; one per host, owning the thread pool for sync code."""

    def __init__(
        self,
        app_dir: str,
        max_threads: int,
        client_binding: ClientBinding,
        *,
        bindings: Bindings,
        settings: Mapping[str, str],
        clock: Clock,
    ) -> None:
        self._app_dir = app_dir
        self._client_binding = client_binding
        self._bindings = bindings
        self._settings = settings
        self._clock = clock
        self._plans: dict[FunctionInfo, Plan] = {}
        self._pool = ThreadPoolExecutor(max_workers=max_threads, thread_name_prefix="devhost-fn")

    def prepare(self, index: FunctionIndex, checked_types: frozenset[str]) -> None:
        """Plans every function's parameters; raises StartupError for a configuration the
        host would refuse to index (see bindings/plan.py)."""
        for info in index.functions:
            self._plans[info] = plan_function(
                info.name,
                info.user_function,
                info.trigger,
                info.bindings,
                self._settings,
                self._bindings,
                checked_types=checked_types,
            )

    def plan(self, info: FunctionInfo) -> Plan:
        return self._plans[info]

    def arguments(self, info: FunctionInfo, trigger_value: Any, invocation_id: str) -> dict[str, Any]:
        """The keyword arguments that need no storage call: the trigger's value, durable
        clients (bound for any trigger kind, as the host binds `durableClient` wherever
        it is declared), the HTTP response's `Out`, and `context` if the function takes
        it. Made on the function's thread: the context's `invocation_id` is thread-local."""
        plan = self._plans[info]
        if plan.unbound:
            raise UnboundBinding(info, plan.unbound[0].binding)
        kwargs: dict[str, Any] = {info.trigger_parameter: trigger_value}
        for client in plan.clients:
            connection, hub = client.binding.get("connectionName"), client.binding.get("taskHub")
            kwargs[client.name] = self._client_binding(
                None if connection is None else str(connection), None if hub is None else str(hub)
            )
        if info.http_output_parameter is not None:
            kwargs[info.http_output_parameter] = Out()
        if info.wants_context:
            kwargs["context"] = InvocationContext(invocation_id, info.name, info.user_function, self._app_dir)
        return kwargs

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    # --- any trigger -------------------------------------------------------------------

    async def invoke(self, info: FunctionInfo, trigger: Triggered) -> None:
        """Runs a function for its trigger as the worker does, then writes its outputs as
        the host does; raises what the function raised (logged with the host's lines)."""
        plan = self._plans[info]
        data = BindingData(trigger.data, self._clock.now(), trigger.payload)

        def bind() -> Any:
            if trigger.unbound is not None:
                raise trigger.unbound
            return plan.trigger.decode(trigger.datum, trigger.metadata)

        await self._call(info, trigger.reason, bind, data, _no_return(info, plan), details=trigger.details)

    async def _call(
        self,
        info: FunctionInfo,
        reason: str,
        bind: Callable[[], Any],
        data: BindingData,
        encode: Callable[[Any], T],
        *,
        details: Mapping[str, str] | None = None,
    ) -> T:
        """One invocation: the trigger's value bound, storage inputs read, the function
        called (a sync one on the pool), what it returned `encode`d (worker side), its
        outputs written (host side, only after it succeeded); any of these failing fails
        the invocation, as a binding error fails the host's."""
        plan = self._plans[info]
        invocation_id = new_guid()
        started = executing(info, reason, invocation_id)
        if details and logger.isEnabledFor(logging.INFO):
            logger.info(
                "Trigger Details: %s",
                ", ".join(f"{key}: {value}" for key, value in details.items()),
                extra={"function": info.name, "invocation_id": invocation_id},
            )
        kwargs: dict[str, Any] = {}
        try:
            trigger_value = bind()
            for parameter in plan.inputs:
                assert parameter.handler is not None
                kwargs[parameter.name] = parameter.decode(await parameter.handler.read(parameter.binding, data), None)
            outputs = {parameter.name: Out() for parameter in plan.outputs}
            kwargs.update(outputs)

            def call() -> Any:
                kwargs.update(self.arguments(info, trigger_value, invocation_id))
                return info.user_function(**kwargs)

            if info.is_async:
                result = await call()
            else:  # a coroutine a sync function returns is not awaited (worker `dispatcher.py`)
                result = await asyncio.get_running_loop().run_in_executor(self._pool, call)
            encoded = encode(self._http_result(info, result, kwargs))
            for parameter in plan.outputs:
                value = outputs[parameter.name].get()
                if value is not None:
                    assert parameter.handler is not None
                    await parameter.handler.write(parameter.binding, parameter.encode(value), data)
            if plan.returns is not None and plan.returns.handler is not None and result is not None:
                await plan.returns.handler.write(plan.returns.binding, plan.returns.encode(result), data)
        except Exception as error:
            executed(info, invocation_id, started, error)
            raise
        executed(info, invocation_id, started, None)
        return encoded

    @staticmethod
    def _http_result(info: FunctionInfo, result: Any, kwargs: Mapping[str, Any]) -> Any:
        """An HTTP function's response: what it returned, or what it set on its `Out`."""
        output = info.http_output_parameter
        if output is None:
            return result
        if result is not None:
            raise RuntimeError(f"function {info.name!r} without a $return binding returned a non-None value")
        value = kwargs[output].get()
        return UNSET_RESPONSE if value is None else value

    # --- durable triggers ------------------------------------------------------------

    def run_orchestrator(self, info: FunctionInfo, context_json: str) -> str:
        """Returns the state JSON; raises what the SDK raised (its message carries the
        `$OutOfProcData$` state on orchestrator failures). Called from a worker thread."""
        return traced(info, _DURABLE_REASON, lambda: info.user_function(func.OrchestrationContext(context_json)))

    def run_entity(self, info: FunctionInfo, batch_json: str) -> str:
        return traced(info, _DURABLE_REASON, lambda: info.user_function(func.EntityContext(batch_json)))

    async def run_activities(self, batch: list[tuple[FunctionInfo, str | None]]) -> list[ActivityOutcome]:
        """Runs activities in order: coroutines on the loop, synchronous ones together in
        one thread-pool call (one hand-off to a thread instead of one per activity);
        an activity with storage bindings takes the general path, which reads and writes
        them around its call."""
        outcomes: list[ActivityOutcome | None] = [None] * len(batch)
        threaded = [n for n, (info, _) in enumerate(batch) if not info.is_async and not self._plans[info].uses_storage]
        if threaded:
            loop = asyncio.get_running_loop()
            results = await loop.run_in_executor(
                self._pool, lambda: [self._activity_in_thread(*batch[n]) for n in threaded]
            )
            for n, outcome in zip(threaded, results, strict=False):
                outcomes[n] = outcome
        for n, (info, raw_input) in enumerate(batch):
            if outcomes[n] is None:
                outcomes[n] = await self._activity_called(info, raw_input)
        return [outcome for outcome in outcomes if outcome is not None]

    def _activity_in_thread(self, info: FunctionInfo, raw_input: str | None) -> ActivityOutcome:
        invocation = _ActivityInvocation(info, self)
        try:
            return invocation.succeeded(info.user_function(**invocation.arguments(raw_input)))
        except Exception as error:  # the user's failure travels to the orchestrator
            return invocation.failed(error)

    async def _activity_called(self, info: FunctionInfo, raw_input: str | None) -> ActivityOutcome:
        value = ActivityTriggerConverter.decode(meta.Datum(raw_input, "string"), trigger_metadata=None)
        data = BindingData({}, self._clock.now(), raw_input)
        try:
            encoded = await self._call(info, _DURABLE_REASON, lambda: value, data, _activity_result)
        except Exception as error:  # logged by `_call`; the failure travels to the orchestrator
            return ActivityOutcome(failure=Failure.of(error))
        return ActivityOutcome(result=encoded)

    # --- HTTP triggers ---------------------------------------------------------------

    async def run_http(self, info: FunctionInfo, request: func.HttpRequest, encode: Callable[[Any], T]) -> T:
        """Runs an HTTP function and `encode`s what it returned, both inside the one
        invocation, as the worker does: a return value it cannot encode fails the
        invocation like an exception. Raises what either raised (logged here). Binding
        expressions read the route values, `{query.x}`, `{headers.x}` and the properties
        of a JSON body (WebJobs `HttpTriggerAttributeBindingProvider`)."""
        plan = self._plans[info]
        data = self._http_binding_data(request) if plan.uses_storage else BindingData({}, self._clock.now())
        return await self._call(info, _HTTP_REASON, lambda: request, data, encode)

    def _http_binding_data(self, request: func.HttpRequest) -> BindingData:
        """What the expressions of an HTTP function's storage bindings read; made only
        for a function that has such bindings, not on every request."""
        values: dict[str, Any] = {
            **request.route_params,
            "query": dict(request.params),
            "headers": {key.lower(): value for key, value in request.headers.items()},
        }
        body = request.get_body()
        return BindingData(values, self._clock.now(), body.decode("utf-8", "replace") if body else None)


def _activity_result(result: Any) -> str:
    return str(ActivityTriggerConverter.encode(result, expected_type=None).value)


def _no_return(info: FunctionInfo, plan: Plan) -> Callable[[Any], None]:
    """A function without a `$return` binding must return None (worker `dispatcher.py`)."""

    def check(result: Any) -> None:
        if result is not None and plan.returns is None:
            raise RuntimeError(f"function {info.name!r} without a $return binding returned a non-None value")

    return check


class _ActivityInvocation:
    """One activity execution: input decoded and outcome encoded by the worker's converter,
    logged once, whether the function runs on a thread or on the loop."""

    def __init__(self, info: FunctionInfo, invoker: Invoker) -> None:
        self._info = info
        self._invoker = invoker
        self._id = new_guid()
        self._started = executing(info, _DURABLE_REASON, self._id)

    def arguments(self, raw_input: str | None) -> dict[str, Any]:
        value = ActivityTriggerConverter.decode(meta.Datum(raw_input, "string"), trigger_metadata=None)
        return self._invoker.arguments(self._info, value, self._id)

    def succeeded(self, result: Any) -> ActivityOutcome:
        try:
            encoded = ActivityTriggerConverter.encode(result, expected_type=None).value
        except Exception as error:
            return self.failed(error)
        executed(self._info, self._id, self._started, None)
        return ActivityOutcome(result=encoded)

    def failed(self, error: Exception) -> ActivityOutcome:
        executed(self._info, self._id, self._started, error)
        return ActivityOutcome(failure=Failure.of(error))
