"""Values as the SDK's `DurableOrchestrationClient` sends them (docs/protocol.md I.1)."""

from __future__ import annotations

import json
from typing import Any

from azure.functions._durable_functions import df_dumps


def client_encoded(value: Any) -> str | None:
    """The SDK client posts `df_dumps(value)` as a JSON string: the only form in which
    an orchestrator's or entity's `get_input()` (SDK 1.7 decodes twice) gets `value`
    back, a plain string included."""
    return None if value is None else json.dumps(df_dumps(value))
