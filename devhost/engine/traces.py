"""The Durable extension's tracking lines (its EndToEndTraceHelper), worded as `func start`
prints them, for the ends that matter to someone watching: an execution completed,
failed, was terminated or continued as new, and an entity operation completed or failed.

Episodes put them in their checkpoint and the engine logs them after the commit, so a
line on the console means the state it speaks of can already be read. Fields that
describe the extension's own deployment (AppName, SlotName, ExtensionVersion,
SequenceNumber) are left out; payloads are shown by size, as the extension does unless
`traceInputsAndOutputs` is set.
"""

from __future__ import annotations

import json
import logging

Trace = tuple[int, str]


def _size(payload: str | None) -> str:
    return f"({len(payload or '')} bytes)"


def execution_completed(instance_id: str, name: str, output: str | None, *, continued_as_new: bool) -> Trace:
    return logging.INFO, (
        f"{instance_id}: Function '{name} (Orchestrator)' completed. ContinuedAsNew: {continued_as_new}. "
        f"IsReplay: False. Output: {_size(output)}. State: Completed. RuntimeStatus: Completed."
    )


def execution_failed(instance_id: str, name: str, reason: str) -> Trace:
    return logging.ERROR, (
        f"{instance_id}: Function '{name} (Orchestrator)' failed with an error. Reason: {reason}. "
        "IsReplay: False. State: Failed. RuntimeStatus: Failed."
    )


def execution_terminated(instance_id: str, name: str, reason: str | None) -> Trace:
    return logging.WARNING, (
        f"{instance_id}: Function '{name} (Orchestrator)' was terminated. Reason: {reason or ''}. State: Terminated."
    )


def operation_ended(
    instance_id: str,
    name: str,
    operation: str,
    request_id: str,
    result: str | None,
    *,
    failed: bool,
    operation_input: str | None = None,
) -> Trace:
    subject = f"{instance_id}: Function '{name} (Entity)'"
    if failed:
        return logging.ERROR, (
            f"{subject} failed '{operation}' operation {request_id} with an error. Reason: {result}. "
            f"IsReplay: False. State: Failed.{_input_note(operation_input)}"
        )
    return logging.INFO, (
        f"{subject} completed '{operation}' operation {request_id}. IsReplay: False. "
        f"Output: {_size(result)}. State: Completed."
    )


_SHOWN_INPUT_CHARS = 200


def _input_note(operation_input: str | None) -> str:
    """What the failed operation was given, so a failure to decode it is visible: the
    Python SDK's `get_input()` decodes twice and takes only a JSON string holding JSON
    text, as the SDK client sends; the HTTP API forwards a JSON body as bare JSON text,
    which fails in the entity in Azure too."""
    if operation_input is None:
        return " Input: none."
    shown = (
        operation_input if len(operation_input) <= _SHOWN_INPUT_CHARS else operation_input[:_SHOWN_INPUT_CHARS] + "..."
    )
    if _sdk_decodes(operation_input):
        return f" Input: {shown}."
    return (
        f" Input: {shown} (the Python SDK's get_input() cannot decode it: it takes a JSON "
        'string holding JSON, such as "\\"5\\"", which is what the SDK client sends).'
    )


def _sdk_decodes(operation_input: str) -> bool:
    """Whether SDK 1.7's `DurableEntityContext.get_input()` decodes this input:
    `json.loads`, then (unless null) its JSON decoder again on the string that gives."""
    try:
        value = json.loads(operation_input)
        if value is not None:
            json.loads(value)
    except (TypeError, ValueError):
        return False
    return True
