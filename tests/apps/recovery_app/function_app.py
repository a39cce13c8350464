"""A fixture app for recovery tests: every activity run leaves a line in a log file,
so a test can count runs across a host's crash and restart."""

import time
from datetime import timedelta
from typing import Any

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.activity_trigger(input_name="item")
def logged_work(item: dict[str, Any]) -> int:
    time.sleep(item.get("pause", 0))  # stands for real work, so a crash lands mid-way
    with open(item["log"], "a", encoding="utf-8") as log:
        log.write(f"{item['n']}\n")
    return int(item["n"])


@app.orchestration_trigger(context_name="context")
def logged_fan_out(context: df.DurableOrchestrationContext):
    spec = context.get_input()
    work = [{"n": n, "log": spec["log"], "pause": spec.get("pause", 0)} for n in range(spec["count"])]
    results = yield context.task_all([context.call_activity(logged_work, item) for item in work])
    return sum(results)


@app.orchestration_trigger(context_name="context")
def sleeper(context: df.DurableOrchestrationContext):
    yield context.create_timer(context.current_utc_datetime + timedelta(seconds=context.get_input()))
    return "woke"


@app.entity_trigger(context_name="context")
def Tally(context: df.DurableEntityContext) -> None:
    value = context.get_state(lambda: 0)
    if context.operation_name == "add":
        value += context.get_input()
    context.set_state(value)
