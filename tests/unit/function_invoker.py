"""Calls an activity the way the Python worker does (docs/protocol.md A).

The input goes through the activity trigger's converter and the result comes back
through it, so a test also proves the activity's output survives JSON.
"""

import inspect
import json
from typing import Any

from azure.functions import meta
from azure.functions.decorators.function_app import FunctionBuilder
from azure.functions.durable_functions import ActivityTriggerConverter


async def run_activity(activity: FunctionBuilder, value: Any) -> Any:
    """The activity's result for input `value`, as the orchestrator would receive it."""
    function = activity._function
    decoded = ActivityTriggerConverter.decode(
        meta.Datum(json.dumps(value), "string"), trigger_metadata=None
    )
    result = function.get_user_function()(**{function.get_trigger().name: decoded})
    if inspect.isawaitable(result):
        result = await result
    return json.loads(ActivityTriggerConverter.encode(result, expected_type=None).value)
