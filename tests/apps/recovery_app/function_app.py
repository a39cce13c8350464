"""A fixture app for recovery tests: every activity run leaves a line in a log file, so
a test can count runs across a host's crash and restart; and a crash can be placed at a
known point of the work. The mixed workload of tests/support/workload.py (chains,
fan-outs, a Counter entity) runs here too, its activities logged the same way.

The crash is the host killing itself with SIGKILL from inside an activity, once (a
marker file remembers it): to the host that is the same as `kill -9` from outside, but it
lands exactly where the test needs it, after the checkpoint that scheduled the activity
and before the rest of the work, with no timing involved.
"""

import os
import signal
import socket
from datetime import timedelta
from typing import Any, Optional

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


def _crash_once(marker: str) -> None:
    try:
        open(marker, "x").close()
    except FileExistsError:
        return  # already crashed once: this run is the redelivery after the restart
    os.kill(os.getpid(), signal.SIGKILL)


@app.activity_trigger(input_name="item")
def logged_work(item: dict[str, Any]) -> int:
    if item["n"] == item.get("crash_at"):
        _crash_once(item["marker"])
    with open(item["log"], "a", encoding="utf-8") as log:
        log.write(f"{item['n']}\n")
    return int(item["n"])


@app.activity_trigger(input_name="spec")
def held_work(spec: dict[str, Any]) -> str:
    """Logs its start, then holds until the test's listener on `port` answers or hangs
    up (a minute at most), then logs its end: a run that outlasts its queue message's
    visibility, released by the test when it has seen enough."""
    with open(spec["log"], "a", encoding="utf-8") as log:
        log.write("started\n")
    with socket.create_connection(("127.0.0.1", spec["port"]), timeout=60) as held:
        held.recv(1)
    with open(spec["log"], "a", encoding="utf-8") as log:
        log.write("done\n")
    return "released"


@app.orchestration_trigger(context_name="context")
def one_held_work(context: df.DurableOrchestrationContext):
    return (yield context.call_activity(held_work, context.get_input()))


@app.activity_trigger(input_name="marker")
def crash(marker: str) -> None:
    _crash_once(marker)


@app.orchestration_trigger(context_name="context")
def logged_fan_out(context: df.DurableOrchestrationContext):
    spec = context.get_input()
    crash_at: Optional[int] = spec.get("crash_at")
    work = [
        {"n": n, "log": spec["log"], "crash_at": crash_at, "marker": spec.get("marker")} for n in range(spec["count"])
    ]
    results = yield context.task_all([context.call_activity(logged_work, item) for item in work])
    return sum(results)


@app.orchestration_trigger(context_name="context")
def sleeper(context: df.DurableOrchestrationContext):
    """A timer, and in the same episode an activity that crashes the host: the timer is
    committed before the crash and not yet due."""
    spec = context.get_input()
    timer = context.create_timer(context.current_utc_datetime + timedelta(seconds=spec["seconds"]))
    yield context.task_all([timer, context.call_activity(crash, spec["marker"])])
    return "woke"


@app.entity_trigger(context_name="context")
def Tally(context: df.DurableEntityContext) -> None:
    value = context.get_state(lambda: 0)
    if context.operation_name == "add":
        value += context.get_input()
    context.set_state(value)


# --- the mixed workload (tests/support/workload.py) -------------------------------------


@app.activity_trigger(input_name="step")
def recorded_step(step: dict[str, Any]) -> int:
    """Logs its key before answering, so every execution is counted, redeliveries too."""
    with open(step["log"], "a", encoding="utf-8") as log:
        log.write(f"{step['key']}\n")
    return int(step["value"]) + int(step["add"])


@app.orchestration_trigger(context_name="context")
def logged_chain(context: df.DurableOrchestrationContext):
    """Steps one after another, each adding to the last one's result; then one call to
    the Counter, so entity calls (and their answers) cross the faults too."""
    spec = context.get_input()
    value = int(spec["start"])
    for n, add in enumerate(spec["adds"]):
        step = {"key": f"{spec['id']}/{n}", "value": value, "add": add, "log": spec["log"]}
        value = yield context.call_activity(recorded_step, step)
    yield context.call_entity(df.EntityId("Counter", spec["counter"]), "add", len(spec["adds"]))
    return value


@app.orchestration_trigger(context_name="context")
def logged_sum(context: df.DurableOrchestrationContext):
    """A fan-out whose results are summed; then a signal to the Counter."""
    spec = context.get_input()
    steps = [{"key": f"{spec['id']}/{n}", "value": n, "add": 0, "log": spec["log"]} for n in range(spec["count"])]
    results = yield context.task_all([context.call_activity(recorded_step, step) for step in steps])
    context.signal_entity(df.EntityId("Counter", spec["counter"]), "add", spec["count"])
    return sum(results)


@app.entity_trigger(context_name="context")
def Counter(context: df.DurableEntityContext) -> None:  # noqa: N802 (the entity's name)
    """`add` n; the SDK drops a falsy input (0), which adds nothing."""
    value = context.get_state(lambda: 0)
    if context.operation_name == "add":
        value += int(context.get_input() or 0)
    context.set_state(value)
