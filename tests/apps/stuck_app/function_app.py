"""An activity that never returns, as user code that hangs on I/O does: what a stop
must not wait for."""

from __future__ import annotations

import threading

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.activity_trigger(input_name="value")
def hangs(value: int) -> int:
    threading.Event().wait()  # forever
    return value


@app.orchestration_trigger(context_name="context")
def waits_on_a_hung_activity(context: df.DurableOrchestrationContext):
    return (yield context.call_activity(hangs, 1))
