"""The benchmark app: no-op work, so the figures measure the host and the SDK replay,
and activities that only wait, so they show whether the host runs activities side by side.
`bench/peer.py` holds the same orchestrations for the peer."""

import asyncio
import time

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.activity_trigger(input_name="value")
def noop(value: int) -> int:
    return value


@app.activity_trigger(input_name="seconds")
async def nap(seconds: float) -> float:
    """I/O-bound work: waits without holding a thread."""
    await asyncio.sleep(seconds)
    return seconds


@app.activity_trigger(input_name="seconds")
def doze(seconds: float) -> float:
    """Blocking work: holds its thread for the whole time."""
    time.sleep(seconds)
    return seconds


@app.orchestration_trigger(context_name="context")
def sleeps(context: df.DurableOrchestrationContext):
    """A fan-out of `count` calls of `activity` (nap or doze) that each wait `seconds`."""
    job = context.get_input()
    tasks = [context.call_activity(job["activity"], job["seconds"]) for _ in range(job["count"])]
    results = yield context.task_all(tasks)
    return len(results)


@app.orchestration_trigger(context_name="context")
def chain(context: df.DurableOrchestrationContext):
    count = context.get_input()
    for step in range(count):
        yield context.call_activity(noop, step)
    return count


@app.orchestration_trigger(context_name="context")
def fan_out(context: df.DurableOrchestrationContext):
    count = context.get_input()
    results = yield context.task_all([context.call_activity(noop, n) for n in range(count)])
    return len(results)


@app.orchestration_trigger(context_name="context")
def collect_events(context: df.DurableOrchestrationContext):
    count = context.get_input()
    for _ in range(count):
        yield context.wait_for_external_event("tick")
    return count


@app.entity_trigger(context_name="context")
def Tally(context: df.DurableEntityContext) -> None:
    value = context.get_state(lambda: 0)
    if context.operation_name == "add":
        value += context.get_input()
    context.set_state(value)


@app.orchestration_trigger(context_name="context")
def finish(context: df.DurableOrchestrationContext):
    """Ends at once: the dashboard benchmark's Completed instances."""
    return context.get_input()


@app.orchestration_trigger(context_name="context")
def give_up(context: df.DurableOrchestrationContext):
    """Fails at once: the dashboard benchmark's Failed instances."""
    raise ValueError("the order was declined")
