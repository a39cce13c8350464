"""The JSON the Functions host and the Durable extension exchange with the Python SDK.

Everything here is pure data shaping, shared by the engine, the stores and test builders,
so that each wire shape is written once (docs/protocol.md B, C, E).
"""

from . import events
from .entities import (
    OPERATION_EVENT_NAME,
    EntityBatchResult,
    EntityRequest,
    OperationOutcome,
    entity_batch,
    entity_instance_id,
    parse_entity_result,
    response_message,
    split_entity_instance_id,
    wire_input_from_action,
)
from .events import (
    COMPLETION_ID_FIELDS,
    Event,
    EventType,
    OrchestrationStatus,
    event_type_from_name,
    event_type_name,
    format_timestamp,
    parse_timestamp,
)
from .orchestrations import (
    OUT_OF_PROC_MARKER,
    OrchestratorState,
    context_input,
    orchestration_context,
    parse_orchestrator_failure,
    parse_orchestrator_state,
)

__all__ = [
    "COMPLETION_ID_FIELDS",
    "OPERATION_EVENT_NAME",
    "OUT_OF_PROC_MARKER",
    "EntityBatchResult",
    "EntityRequest",
    "Event",
    "EventType",
    "OperationOutcome",
    "OrchestrationStatus",
    "OrchestratorState",
    "context_input",
    "entity_batch",
    "entity_instance_id",
    "event_type_from_name",
    "event_type_name",
    "events",
    "format_timestamp",
    "orchestration_context",
    "parse_entity_result",
    "parse_orchestrator_failure",
    "parse_orchestrator_state",
    "parse_timestamp",
    "response_message",
    "split_entity_instance_id",
    "wire_input_from_action",
]
