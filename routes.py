"""HTTP routes: start orchestrations, answer approvals, signal and read counters.

Each route checks its request before it touches the durable client, and every error
leaves through `error_response` as `{"error": "..."}`, the contract's one error shape.
"""

import functools
import json
import logging
from dataclasses import asdict
from typing import Any, Awaitable, Callable

import azure.durable_functions as df
import azure.functions as func

from entities import OPERATIONS, counter_id, is_json_int, unknown_operation_message
from orchestrators import APPROVAL_EVENT, STARTABLE, ApprovalDecision, InputError, parse

bp = df.Blueprint()
logger = logging.getLogger(__name__)

TERMINAL_STATUSES = {
    df.OrchestrationRuntimeStatus.Completed,
    df.OrchestrationRuntimeStatus.Failed,
    df.OrchestrationRuntimeStatus.Terminated,
    df.OrchestrationRuntimeStatus.Canceled,
}


def error_response(status_code: int, message: str) -> func.HttpResponse:
    """The body of every 4xx/5xx answer: `{"error": message}`."""
    return _json_response(status_code, {"error": message})


def _json_response(status_code: int, body: Any) -> func.HttpResponse:
    return func.HttpResponse(json.dumps(body), status_code=status_code, mimetype="application/json")


class _Rejected(Exception):
    """Raised inside a route to answer `status_code` with `message`."""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message


Handler = Callable[..., Awaitable[func.HttpResponse]]


def _errors_as_json(handler: Handler) -> Handler:
    """Turns rejections and bad inputs into 4xx, anything unexpected into a logged 500."""

    @functools.wraps(handler)
    async def guarded(*args: Any, **kwargs: Any) -> func.HttpResponse:
        try:
            return await handler(*args, **kwargs)
        except _Rejected as rejected:
            return error_response(rejected.status_code, rejected.message)
        except InputError as error:
            return error_response(400, str(error))
        except Exception:
            logger.exception("%s failed", handler.__name__)
            return error_response(500, f"{handler.__name__} failed; the function log has details")

    return guarded


def _json_body(req: func.HttpRequest) -> Any:
    """The body's JSON value, or None for an empty body."""
    body = req.get_body()
    if not body.strip():
        return None
    try:
        return json.loads(body)
    except ValueError as error:
        raise _Rejected(400, f"request body is not valid JSON: {error}") from None
    except RecursionError:
        raise _Rejected(400, "request body is not valid JSON: it is nested too deeply") from None


@bp.route(route="orchestrators/{functionName}", methods=["POST"])
@bp.durable_client_input(client_name="client")
@_errors_as_json
async def start_orchestration(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    """Starts `functionName` with the body as input; 202 with the check-status payload."""
    name = req.route_params["functionName"]
    if name not in STARTABLE:
        known = ", ".join(sorted(STARTABLE))
        raise _Rejected(404, f"no orchestrator named '{name}' can be started; known: {known}")
    body = _json_body(req)
    input_type = STARTABLE[name]
    if input_type is not None:
        parse(input_type, body)  # Rejects a bad input now rather than as a Failed instance.
    instance_id = await client.start_new(name, None, body)
    logger.info("started %s", name, extra={"instance_id": instance_id, "function": name})
    return client.create_check_status_response(req, instance_id)


@bp.route(route="approvals/{instanceId}", methods=["POST"])
@bp.durable_client_input(client_name="client")
@_errors_as_json
async def answer_approval(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    """Raises `ApprovalEvent` on a waiting `approval_workflow` instance."""
    instance_id = req.route_params["instanceId"]
    decision = parse(ApprovalDecision, _json_body(req))
    status = await client.get_status(instance_id)
    if not status or not status.name:
        raise _Rejected(404, f"no instance with id '{instance_id}'")
    if status.name.lower() != "approval_workflow":
        raise _Rejected(
            404, f"no approval workflow with id '{instance_id}' (it runs {status.name})"
        )
    if status.runtime_status in TERMINAL_STATUSES:
        state = status.runtime_status.value  # type: ignore[union-attr]
        raise _Rejected(410, f"approval workflow '{instance_id}' is already {state}")
    await client.raise_event(instance_id, APPROVAL_EVENT, asdict(decision))
    return _json_response(202, {"id": instance_id, "event": APPROVAL_EVENT})


@bp.route(route="counters/{key}/{operation}", methods=["POST"])
@bp.durable_client_input(client_name="client")
@_errors_as_json
async def signal_counter(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    """Signals `operation` to counter `key`; `add` takes an integer body."""
    key, operation = req.route_params["key"], req.route_params["operation"]
    if operation not in OPERATIONS:
        raise _Rejected(400, unknown_operation_message(operation))
    body = _json_body(req)
    amount = None
    if operation == "add":
        if not is_json_int(body):
            raise _Rejected(400, "add needs an integer JSON body, e.g. 5")
        if body == 0:
            # The SDK client drops falsy inputs (docs/protocol.md I.7), so the entity would
            # get `add` without input and fail it; adding 0 changes nothing, so don't signal.
            return _json_response(202, {"key": key, "operation": operation})
        amount = body
    await client.signal_entity(counter_id(key), operation, amount)
    return _json_response(202, {"key": key, "operation": operation})


@bp.route(route="counters/{key}", methods=["GET"])
@bp.durable_client_input(client_name="client")
@_errors_as_json
async def read_counter(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    """The value of counter `key`, 404 if it does not exist."""
    key = req.route_params["key"]
    state = await client.read_entity_state(counter_id(key))
    if not state.entity_exists:
        raise _Rejected(404, f"counter '{key}' does not exist")
    return _json_response(200, {"key": key, "value": state.entity_state})
