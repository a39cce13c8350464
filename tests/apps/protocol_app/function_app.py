"""A fixture app touching every feature of the host, for devhost's protocol tests.

Each function exists to pin down one behaviour of the real host; the tests name which.
It uses `func.FunctionApp` with a registered `df.Blueprint`, like the SDK's blueprint
sample, so the host's loading of that shape is covered too.
"""

from __future__ import annotations

import asyncio
import json
import threading
from datetime import timedelta
from typing import Any

import azure.durable_functions as df
import azure.functions as func

bp = df.Blueprint()

# Attempts per key for `flaky`; the tests reset it through `reset_attempts`.
ATTEMPTS: dict[str, int] = {}
# The meetings of `meet_async`/`meet_sync`, by name: each activity waits until all its
# fellow activities are running, so they finish only if the host runs them at once.
MEETINGS: dict[str, Any] = {}
_MEETINGS_LOCK = threading.Lock()
MEETING_TIMEOUT_S = 30.0
# Flipped by a test to change an orchestrator between episodes (non-determinism).
BEHAVIOUR = {"alternate": False}


# --- HTTP functions ---------------------------------------------------------------------


@bp.route(route="echo/{id:int}/{name?}", methods=["GET", "POST"], auth_level=func.AuthLevel.ANONYMOUS)
def echo_request(req: func.HttpRequest) -> func.HttpResponse:
    body = req.get_body().decode() if req.get_body() else None
    return func.HttpResponse(
        json.dumps(
            {
                "method": req.method,
                "route": dict(req.route_params),
                "query": dict(req.params),
                "header": req.headers.get("x-probe"),
                "body": body,
                "url": req.url,
            }
        ),
        status_code=201,
        headers={"X-Handled-By": "echo_request"},
        mimetype="application/json",
    )


@bp.route(route="async-text", methods=["GET"])
async def async_text(req: func.HttpRequest, context: func.Context) -> str:
    await asyncio.sleep(0)
    return f"invocation {context.function_name}"


@bp.route(route="broken", methods=["GET"])
def broken(req: func.HttpRequest) -> func.HttpResponse:
    raise RuntimeError("the handler broke")


@bp.route(route="start/{name}", methods=["POST"])
@bp.durable_client_input(client_name="client")
async def start(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    body = req.get_body()
    instance_id = await client.start_new(
        req.route_params["name"], None, json.loads(body) if body else None
    )
    return client.create_check_status_response(req, instance_id)


# --- activities ---------------------------------------------------------------------------


@bp.activity_trigger(input_name="value")
def echo(value: Any) -> Any:
    return value


@bp.activity_trigger(input_name="value")
async def add_one(value: int) -> int:
    await asyncio.sleep(0)
    return value + 1


@bp.activity_trigger(input_name="request")
def flaky(request: dict[str, Any]) -> str:
    """Fails `failures` times for `key`, then succeeds."""
    key = request["key"]
    ATTEMPTS[key] = ATTEMPTS.get(key, 0) + 1
    if ATTEMPTS[key] <= request["failures"]:
        raise ConnectionError(f"attempt {ATTEMPTS[key]} failed")
    return f"succeeded on attempt {ATTEMPTS[key]}"


@bp.activity_trigger(input_name="message")
def boom(message: str) -> None:
    raise ValueError(message)


@bp.activity_trigger(input_name="value", activity="renamed_activity")
def activity_with_other_name(value: str, context: func.Context) -> str:
    return f"{context.function_name}:{value}"


@bp.activity_trigger(input_name="text")
def reverse_text(text: str) -> str:
    return text[::-1]


@bp.activity_trigger(input_name="request")
@bp.durable_client_input(client_name="client")
async def signal_through_client(request: dict[str, Any], client: df.DurableOrchestrationClient) -> str:
    """An activity with a durable client: the host binds one for every trigger kind."""
    await client.raise_event(request["instance_id"], "Go", request["data"])
    return await client.start_new("sequence", None, request["start_with"])


# --- orchestrators --------------------------------------------------------------------


@bp.orchestration_trigger(context_name="context")
def sequence(context: df.DurableOrchestrationContext):
    value = context.get_input() or 0
    for _ in range(3):
        value = yield context.call_activity(add_one, value)
    return value


@bp.orchestration_trigger(context_name="context")
def reverses(context: df.DurableOrchestrationContext):
    """Its input reversed by an activity: a result that differs from what was sent."""
    return (yield context.call_activity(reverse_text, context.get_input()))


@bp.orchestration_trigger(context_name="context")
def echo_back(context: df.DurableOrchestrationContext):
    """Its input through an activity and back: a payload in every place state is kept."""
    return (yield context.call_activity(echo, context.get_input()))


@bp.activity_trigger(input_name="meeting")
async def meet_async(meeting: dict[str, Any]) -> int:
    """Returns once `parties` of these are running together (asyncio)."""
    with _MEETINGS_LOCK:
        gathered = MEETINGS.setdefault(meeting["name"], {"count": 0, "all": asyncio.Event()})
    gathered["count"] += 1
    if gathered["count"] == meeting["parties"]:
        gathered["all"].set()
    await asyncio.wait_for(gathered["all"].wait(), MEETING_TIMEOUT_S)
    return 1


@bp.activity_trigger(input_name="meeting")
def meet_sync(meeting: dict[str, Any]) -> int:
    """Returns once `parties` of these are running together (threads)."""
    with _MEETINGS_LOCK:
        barrier = MEETINGS.setdefault(meeting["name"], threading.Barrier(meeting["parties"], timeout=MEETING_TIMEOUT_S))
    barrier.wait()
    return 1


@bp.orchestration_trigger(context_name="context")
def meeting(context: df.DurableOrchestrationContext):
    """`parties` activities `kind` at once, all of which must be running together."""
    kind, parties = context.get_input()
    name = f"{context.instance_id}-{kind}"
    tasks = [context.call_activity(kind, {"name": name, "parties": parties}) for _ in range(parties)]
    return sum((yield context.task_all(tasks)))


@bp.orchestration_trigger(context_name="context")
def fan_out(context: df.DurableOrchestrationContext):
    count = context.get_input()
    results = yield context.task_all([context.call_activity(add_one, n) for n in range(count)])
    return sum(results)


@bp.orchestration_trigger(context_name="context")
def with_retry(context: df.DurableOrchestrationContext):
    request = context.get_input()
    options = df.RetryOptions(first_retry_interval_in_milliseconds=1000, max_number_of_attempts=3)
    try:
        return (yield context.call_activity_with_retry(flaky, options, request))
    except Exception as error:
        return f"gave up: {error}"


@bp.orchestration_trigger(context_name="context")
def fragile(context: df.DurableOrchestrationContext):
    """Fails with its activity, no retry: what rewind is for."""
    return (yield context.call_activity(flaky, context.get_input()))


@bp.orchestration_trigger(context_name="context")
def catches_failure(context: df.DurableOrchestrationContext):
    try:
        yield context.call_activity(boom, "no stock")
    except Exception as error:
        return {"caught": str(error)}
    return {"caught": None}


@bp.orchestration_trigger(context_name="context")
def fails(context: df.DurableOrchestrationContext):
    yield context.call_activity(echo, "before the failure")
    raise RuntimeError("orchestrator gave up")


@bp.orchestration_trigger(context_name="context")
def fails_in_activity(context: df.DurableOrchestrationContext):
    result = yield context.call_activity(boom, "activity exploded")
    return result


@bp.orchestration_trigger(context_name="context")
def calls_missing_activity(context: df.DurableOrchestrationContext):
    yield context.call_activity("no_such_activity", 1)
    return "unreachable"


@bp.orchestration_trigger(context_name="context")
def renamed_caller(context: df.DurableOrchestrationContext):
    return (yield context.call_activity("renamed_activity", "x"))


@bp.orchestration_trigger(context_name="context")
def parent(context: df.DurableOrchestrationContext):
    explicit = yield context.call_sub_orchestrator(sequence, 10, "child-of-" + context.instance_id)
    generated = yield context.call_sub_orchestrator(sequence, 20)
    options = df.RetryOptions(first_retry_interval_in_milliseconds=1000, max_number_of_attempts=2)
    try:
        yield context.call_sub_orchestrator_with_retry(fails, options, None)
    except Exception as error:
        failure = str(error)
    return {"explicit": explicit, "generated": generated, "failure": failure}


@bp.orchestration_trigger(context_name="context")
def sleeper(context: df.DurableOrchestrationContext):
    hours = context.get_input()
    fire_at = context.current_utc_datetime + timedelta(hours=hours)
    yield context.create_timer(fire_at)
    return context.current_utc_datetime.isoformat()


@bp.orchestration_trigger(context_name="context")
def waits_for_events(context: df.DurableOrchestrationContext):
    first = yield context.wait_for_external_event("Go")
    second = yield context.wait_for_external_event("Go")
    return [first, second]


@bp.orchestration_trigger(context_name="context")
def race(context: df.DurableOrchestrationContext):
    timer = context.create_timer(context.current_utc_datetime + timedelta(hours=1))
    answer = context.wait_for_external_event("Answer")
    winner = yield context.task_any([answer, timer])
    if winner == answer:
        timer.cancel()
        return {"answer": answer.result}
    return {"answer": None}


@bp.orchestration_trigger(context_name="context")
def collector(context: df.DurableOrchestrationContext):
    """Eternal: one event per execution, state carried through continue_as_new."""
    seen = context.get_input() or []
    item = yield context.wait_for_external_event("Item")
    seen = seen + [item]
    if item == "stop":
        return seen
    context.continue_as_new(seen)


@bp.orchestration_trigger(context_name="context")
def reports_progress(context: df.DurableOrchestrationContext):
    context.set_custom_status({"stage": "waiting"})
    value = yield context.wait_for_external_event("Continue")
    context.set_custom_status({"stage": "done", "value": value})
    return value


@bp.orchestration_trigger(context_name="context")
def uses_entity(context: df.DurableOrchestrationContext):
    tally = df.EntityId("Tally", context.get_input())
    context.signal_entity(tally, "add", 5)
    after_add = yield context.call_entity(tally, "add", 2)
    try:
        yield context.call_entity(tally, "fail")
    except Exception as error:
        failure = str(error)
    return {"after_add": after_add, "failure": failure}


@bp.orchestration_trigger(context_name="context")
def calls_http(context: df.DurableOrchestrationContext):
    url = context.get_input()
    response = yield context.call_http("POST", url, {"ping": 1})
    return {"status": response["statusCode"], "content": response["content"]}


@bp.orchestration_trigger(context_name="context")
def uses_client_activity(context: df.DurableOrchestrationContext):
    return (yield context.call_activity(signal_through_client, context.get_input()))


@bp.orchestration_trigger(context_name="context")
def reports_version(context: df.DurableOrchestrationContext):
    return {"version": context.version}


@bp.orchestration_trigger(context_name="context")
def shifty(context: df.DurableOrchestrationContext):
    """Schedules a different first activity once BEHAVIOUR['alternate'] is set."""
    first = yield context.call_activity(add_one if BEHAVIOUR["alternate"] else echo, 1)
    gate = yield context.wait_for_external_event("Gate")
    return [first, gate]


# --- entities -----------------------------------------------------------------------------


@bp.entity_trigger(context_name="context")
def Notebook(context: df.DurableEntityContext) -> None:
    """Keeps whatever it is given: a state as large as the caller makes it."""
    if context.operation_name == "write":
        context.set_state(context.get_input())


@bp.entity_trigger(context_name="context")
def Journal(context: df.DurableEntityContext) -> None:
    """Appends each input to a list: the order the entity applied its operations in."""
    entries = context.get_state(list)
    if context.operation_name == "append":
        entries.append(context.get_input())
    context.set_state(entries)


@bp.entity_trigger(context_name="context")
def Tally(context: df.DurableEntityContext) -> None:
    value = context.get_state(lambda: 0)
    operation = context.operation_name
    if operation == "add":
        value += context.get_input()
        context.set_result(value)
    elif operation == "get":
        context.set_result(value)
    elif operation == "delete":
        context.destruct_on_exit()
        return
    elif operation == "fail":
        raise ValueError("tally refuses")
    context.set_state(value)


app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)
app.register_functions(bp)
