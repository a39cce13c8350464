"""The console lines of one execution, as the Functions host logs them: `Executing
'Functions.x' (Reason=..., Id=...)`, then `Executed ... (Succeeded|Failed, Id=...,
Duration=...ms)`, a failure with the host's lines built from what the worker reports
(`console.py` renders them like `func start`), and a failure as `TaskFailed` details."""

from __future__ import annotations

import json
import logging
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass

from .ids import new_guid
from .loader import FunctionInfo
from .protocol import OUT_OF_PROC_MARKER

logger = logging.getLogger(__name__)


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
    def of(cls, error: BaseException) -> Failure:
        return cls(
            type_name=type(error).__name__,
            message=str(error),
            stack="".join(traceback.format_exception(error)),
        )


def traced(info: FunctionInfo, reason: str, call: Callable[[], str]) -> str:
    invocation_id = new_guid()
    started = executing(info, reason, invocation_id)
    try:
        result = call()
    except Exception as error:
        executed(info, invocation_id, started, error)
        raise
    executed(info, invocation_id, started, None)
    return result


def executing(info: FunctionInfo, reason: str, invocation_id: str) -> float:
    if logger.isEnabledFor(logging.INFO):
        logger.info(
            "Executing 'Functions.%s' (Reason='%s', Id=%s)",
            info.name,
            reason,
            invocation_id,
            extra={"function": info.name, "invocation_id": invocation_id},
        )
    return time.perf_counter()


def executed(
    info: FunctionInfo,
    invocation_id: str,
    started: float,
    error: BaseException | None,
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
