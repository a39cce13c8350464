"""The `Counter` entity: an integer that orchestrations and HTTP callers add to and read.

Operations on one key run one at a time, so concurrent `add`s never lose an update,
which is what makes an entity a safe aggregator (Durable entities, "aggregator" pattern).
"""

from typing import Any

import azure.durable_functions as df

bp = df.Blueprint()

OPERATIONS = ("add", "reset", "get", "delete")


def counter_id(key: str) -> df.EntityId:
    """The id of counter `key`; the entity's name is its function's name."""
    return df.EntityId("Counter", key)


def unknown_operation_message(operation: str) -> str:
    """Why `operation` is refused: one wording for the entity and the HTTP route that
    rejects it before signalling."""
    return f"unknown operation '{operation}'; expected one of {', '.join(OPERATIONS)}"


def is_json_int(value: Any) -> bool:
    """Whether `value` is a JSON integer: bool is an int in Python but not a number in JSON."""
    return isinstance(value, int) and not isinstance(value, bool)


# The counters process_order keeps and generate_report reads.
ORDERS_COMPLETED = counter_id("orders_completed")
REVENUE_CENTS = counter_id("revenue_cents")


@bp.entity_trigger(context_name="context")
def Counter(context: df.DurableEntityContext) -> None:  # noqa: N802 (the entity's name)
    """`add` n (an integer), `reset` to 0, `get` the value, `delete` the entity."""
    operation = context.operation_name
    if operation not in OPERATIONS:
        raise ValueError(unknown_operation_message(operation))
    value: int = context.get_state(lambda: 0)
    if operation == "add":
        value += _amount(context)
    elif operation == "reset":
        value = 0
    elif operation == "delete":
        context.set_result(None)
        context.destruct_on_exit()  # Last: set_result() marks the entity existing again.
        return
    context.set_state(value)  # Also for `get`: reading a new counter creates it with 0.
    # Set for every operation: the SDK keeps the previous one's result within a batch
    # (docs/protocol.md I.3).
    context.set_result(value if operation == "get" else None)


def _amount(context: df.DurableEntityContext) -> int:
    # The SDK's get_input() decodes the operation input twice, so it raises TypeError both
    # for an operation without input (clients drop falsy inputs) and for one sent as bare
    # JSON, as the durable HTTP API forwards a JSON body (README, "Aggregator").
    try:
        amount: Any = context.get_input()
    except TypeError as error:
        raise ValueError(f"add needs an integer input the SDK can decode: {error}") from None
    if not is_json_int(amount):
        raise ValueError(f"add needs an integer input, got {amount!r}")
    return amount
