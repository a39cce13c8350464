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
import json
import logging
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable, Optional, TypeVar

import azure.functions as func
from azure.functions import meta
from azure.functions.durable_functions import ActivityTriggerConverter

from .context import InvocationContext
from .ids import new_guid
from .loader import FunctionInfo
from .protocol import OUT_OF_PROC_MARKER

logger = logging.getLogger(__name__)

T = TypeVar("T")

_DURABLE_REASON = "(null)"

# The durable client binding JSON for a connection name and a task hub (None: the
# defaults, the host's own hub).
ClientBinding = Callable[[Optional[str], Optional[str]], str]
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
    """Raised when a function declares an input binding devhost does not fill in."""

    def __init__(self, info: FunctionInfo, binding: dict[str, Any]) -> None:
        super().__init__(
            f"devhost does not bind '{binding.get('type')}' bindings yet: parameter "
            f"'{binding.get('name')}' of function '{info.name}' has no value."
        )


@dataclass(frozen=True)
class Failure:
    """A user function's exception, as the host reports it."""

    type_name: str
    message: str
    stack: str

    @property
    def summary(self) -> str:
        return f"{self.type_name}: {self.message}" if self.message else self.type_name

    @classmethod
    def of(cls, error: BaseException) -> "Failure":
        return cls(
            type_name=type(error).__name__,
            message=str(error),
            stack="".join(traceback.format_exception(error)),
        )


@dataclass(frozen=True)
class ActivityOutcome:
    """`result` is the encoded output (JSON text) when `failure` is None."""

    result: Optional[str] = None
    failure: Optional[Failure] = None


class Invoker:
    """Runs user functions; one per host, owning the thread pool for sync code."""

    def __init__(self, app_dir: str, max_threads: int, client_binding: ClientBinding) -> None:
        self._app_dir = app_dir
        self._client_binding = client_binding
        self._pool = ThreadPoolExecutor(max_workers=max_threads, thread_name_prefix="devhost-fn")

    def arguments(self, info: FunctionInfo, trigger_value: Any, invocation_id: str) -> dict[str, Any]:
        """The keyword arguments the worker passes: the trigger's value, every input
        binding the host fills (a durable client for any trigger kind, as the host binds
        `durableClient` wherever it is declared) and `context` if the function takes it."""
        kwargs: dict[str, Any] = {info.trigger_parameter: trigger_value}
        if info.unbound_bindings:
            raise UnboundBinding(info, info.unbound_bindings[0])
        for binding in info.input_bindings:  # only durable clients get past the check above
            connection, hub = binding.get("connectionName"), binding.get("taskHub")
            kwargs[str(binding["name"])] = self._client_binding(
                None if connection is None else str(connection), None if hub is None else str(hub)
            )
        if info.http_output_parameter is not None:
            kwargs[info.http_output_parameter] = Out()
        if info.wants_context:
            kwargs["context"] = InvocationContext(invocation_id, info.name, info.user_function, self._app_dir)
        return kwargs

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    # --- durable triggers ------------------------------------------------------------

    def run_orchestrator(self, info: FunctionInfo, context_json: str) -> str:
        """Returns the state JSON; raises what the SDK raised (its message carries the
        `$OutOfProcData$` state on orchestrator failures). Called from a worker thread."""
        return _traced(
            info, _DURABLE_REASON, lambda: info.user_function(func.OrchestrationContext(context_json))
        )

    def run_entity(self, info: FunctionInfo, batch_json: str) -> str:
        return _traced(
            info, _DURABLE_REASON, lambda: info.user_function(func.EntityContext(batch_json))
        )

    async def run_activities(
        self, batch: list[tuple[FunctionInfo, Optional[str]]]
    ) -> list[ActivityOutcome]:
        """Runs activities in order: coroutines on the loop, synchronous ones together in
        one thread-pool call (one hand-off to a thread instead of one per activity)."""
        outcomes: list[Optional[ActivityOutcome]] = [None] * len(batch)
        threaded = [n for n, (info, _) in enumerate(batch) if not info.is_async]
        if threaded:
            loop = asyncio.get_running_loop()
            results = await loop.run_in_executor(
                self._pool, lambda: [self._activity_in_thread(*batch[n]) for n in threaded]
            )
            for n, outcome in zip(threaded, results):
                outcomes[n] = outcome
        for n, (info, raw_input) in enumerate(batch):
            if info.is_async:
                outcomes[n] = await self._activity_on_loop(info, raw_input)
        return [outcome for outcome in outcomes if outcome is not None]

    def _activity_in_thread(self, info: FunctionInfo, raw_input: Optional[str]) -> ActivityOutcome:
        invocation = _ActivityInvocation(info, self)
        try:
            return invocation.succeeded(info.user_function(**invocation.arguments(raw_input)))
        except Exception as error:  # the user's failure travels to the orchestrator
            return invocation.failed(error)

    async def _activity_on_loop(self, info: FunctionInfo, raw_input: Optional[str]) -> ActivityOutcome:
        invocation = _ActivityInvocation(info, self)
        try:
            return invocation.succeeded(await info.user_function(**invocation.arguments(raw_input)))
        except Exception as error:
            return invocation.failed(error)

    # --- HTTP triggers ---------------------------------------------------------------

    async def run_http(
        self, info: FunctionInfo, request: func.HttpRequest, encode: Callable[[Any], T]
    ) -> T:
        """Runs an HTTP function and `encode`s what it returned, both inside the one
        invocation, as the worker does: a return value it cannot encode fails the
        invocation like an exception. Raises what either raised (logged here)."""
        invocation_id = new_guid()
        started = _executing(info, _HTTP_REASON, invocation_id)
        kwargs: dict[str, Any] = {}

        def call() -> Any:
            kwargs.update(self.arguments(info, request, invocation_id))
            return info.user_function(**kwargs)

        try:
            if info.is_async:
                result = await call()
            else:  # a coroutine a sync function returns is not awaited (worker `dispatcher.py`)
                # Arguments are made on the function's thread, whose thread-local storage
                # the context's `invocation_id` goes to.
                result = await asyncio.get_running_loop().run_in_executor(self._pool, call)
            output = info.http_output_parameter
            if output is not None:  # the response is what the function set on its `Out`
                if result is not None:
                    raise RuntimeError(
                        f"function {info.name!r} without a $return binding returned a non-None value"
                    )
                value = kwargs[output].get()
                result = UNSET_RESPONSE if value is None else value
            encoded = encode(result)
        except Exception as error:
            _executed(info, invocation_id, started, error)
            raise
        _executed(info, invocation_id, started, None)
        return encoded


def _traced(info: FunctionInfo, reason: str, call: Callable[[], str]) -> str:
    invocation_id = new_guid()
    started = _executing(info, reason, invocation_id)
    try:
        result = call()
    except Exception as error:
        _executed(info, invocation_id, started, error)
        raise
    _executed(info, invocation_id, started, None)
    return result

def _executing(info: FunctionInfo, reason: str, invocation_id: str) -> float:
    if logger.isEnabledFor(logging.INFO):
        logger.info(
            "Executing 'Functions.%s' (Reason='%s', Id=%s)",
            info.name,
            reason,
            invocation_id,
            extra={"function": info.name, "invocation_id": invocation_id},
        )
    return time.perf_counter()

def _executed(
    info: FunctionInfo,
    invocation_id: str,
    started: float,
    error: Optional[BaseException],
) -> None:
    duration = round((time.perf_counter() - started) * 1000)
    extra = {"function": info.name, "invocation_id": invocation_id, "duration_ms": duration}
    if error is None:
        if logger.isEnabledFor(logging.INFO):
            logger.info(
                "Executed 'Functions.%s' (Succeeded, Id=%s, Duration=%sms)",
                info.name, invocation_id, duration, extra=extra,
            )  # fmt: skip
        return
    logger.error(
        "Executed 'Functions.%s' (Failed, Id=%s, Duration=%sms)",
        info.name, invocation_id, duration,
        extra={**extra, "user_traceback": _user_traceback(info, error)},
    )  # fmt: skip


class _ActivityInvocation:
    """One activity execution: input decoded and outcome encoded by the worker's converter,
    logged once, whether the function runs on a thread or on the loop."""

    def __init__(self, info: FunctionInfo, invoker: Invoker) -> None:
        self._info = info
        self._invoker = invoker
        self._id = new_guid()
        self._started = _executing(info, _DURABLE_REASON, self._id)

    def arguments(self, raw_input: Optional[str]) -> dict[str, Any]:
        value = ActivityTriggerConverter.decode(meta.Datum(raw_input, "string"), trigger_metadata=None)
        return self._invoker.arguments(self._info, value, self._id)

    def succeeded(self, result: Any) -> ActivityOutcome:
        try:
            encoded = ActivityTriggerConverter.encode(result, expected_type=None).value
        except Exception as error:
            return self.failed(error)
        _executed(self._info, self._id, self._started, None)
        return ActivityOutcome(result=encoded)

    def failed(self, error: Exception) -> ActivityOutcome:
        _executed(self._info, self._id, self._started, error)
        return ActivityOutcome(failure=Failure.of(error))


def _user_traceback(info: FunctionInfo, error: BaseException) -> str:
    """The failure as the host prints it from what the worker reports (worker
    `_serialize_exception`: `<type>: <message>` and the traceback's frames); orchestrator
    failures without the state JSON the SDK appends to their message."""
    message = str(error).partition(OUT_OF_PROC_MARKER)[0]
    frames = "".join(traceback.extract_tb(error.__traceback__).format())
    return (
        f"Exception while executing function: Functions.{info.name}. Result: Failure\n"
        f"Exception: {type(error).__name__}: {message}\n"
        f"Stack: {frames}"
    )


def describe_failure(failure: Failure) -> str:
    """`TaskFailed.Details`: the host serializes the exception; we keep its message and stack."""
    return json.dumps({"Message": failure.summary, "StackTrace": failure.stack})
