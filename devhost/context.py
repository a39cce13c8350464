"""The invocation context the Python worker gives a function's `context` parameter.

Shaped like the worker's `bindings/context.py`: the invocation id the console shows, the
function's indexed name, the folder of the file that defines it, one thread-local store
with the current `invocation_id`, a W3C trace context and a retry context, so code that
reads `context.trace_context.Traceparent` runs on devhost as in Azure.
"""

from __future__ import annotations

import inspect
import os
import secrets
import threading
from collections.abc import Callable
from typing import Any

import azure.functions as func
from azure.functions import _abc

# One for the process, as the worker keeps it; each invocation sets its id on the thread
# it runs on (contexts are made there).
_THREAD_LOCAL = threading.local()


class TraceContext(_abc.TraceContext):
    """A W3C trace context as the host starts one per invocation (`00-<trace>-<span>-00`)."""

    def __init__(self) -> None:
        self._trace_parent = f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-00"

    @property
    def trace_parent(self) -> str:
        return self._trace_parent

    @property
    def trace_state(self) -> str:
        return ""

    @property
    def attributes(self) -> dict[str, str]:
        return {}

    # The worker's deprecated spellings, which samples still use.
    Traceparent = trace_parent
    Tracestate = trace_state
    Attributes = attributes


class RpcException(_abc.RpcException):
    @property
    def source(self) -> str:
        return ""

    @property
    def stack_trace(self) -> str:
        return ""

    @property
    def message(self) -> str:
        return ""


class RetryContext(_abc.RetryContext):
    """No retry policy runs here: the first attempt of none, as the worker reports it."""

    @property
    def retry_count(self) -> int:
        return 0

    @property
    def max_retry_count(self) -> int:
        return 0

    @property
    def exception(self) -> RpcException:
        return RpcException()


class InvocationContext(func.Context):
    def __init__(self, invocation_id: str, function_name: str, user_function: Callable[..., Any], app_dir: str) -> None:
        self._invocation_id = invocation_id
        self._function_name = function_name
        self._function_directory = _defining_folder(user_function, app_dir)
        self._trace_context = TraceContext()
        self._retry_context = RetryContext()
        _THREAD_LOCAL.invocation_id = invocation_id

    @property
    def invocation_id(self) -> str:
        return self._invocation_id

    @property
    def thread_local_storage(self) -> Any:
        return _THREAD_LOCAL

    @property
    def function_name(self) -> str:
        return self._function_name

    @property
    def function_directory(self) -> str:
        return self._function_directory

    @property
    def trace_context(self) -> TraceContext:
        return self._trace_context

    @property
    def retry_context(self) -> RetryContext:
        return self._retry_context


def _defining_folder(user_function: Callable[..., Any], app_dir: str) -> str:
    """The folder of the file that defines the function (worker: `inspect.getfile`)."""
    try:
        return os.path.dirname(inspect.getfile(inspect.unwrap(user_function)))
    except (TypeError, OSError):
        return app_dir
