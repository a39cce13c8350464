"""What an instance id must be for the Azure Storage provider to keep it: a table
`PartitionKey` (after DTFx's escaping of `^ / \\ # ?`) of at most 1 KiB in UTF-16, with
no control characters, and a usable blob name prefix (not `.` or `..`). The API refuses
other ids on both stores alike, since the same app would fail on Azure."""

from __future__ import annotations

_TABLE_KEY_BYTES = 1024
_ESCAPED = frozenset("^/\\#?")


def is_control(character: str) -> bool:
    """.NET `char.IsControl`: C0, DEL and C1."""
    return ord(character) < 32 or 127 <= ord(character) < 160


def storage_key_problem(instance_id: str) -> str | None:
    """Why Azure Storage cannot hold this instance id, or None."""
    if instance_id in (".", ".."):
        return f"'{instance_id}' cannot name an instance: Azure Storage blob paths cannot hold it."
    if any(is_control(c) for c in instance_id):
        return "Instance and entity ids must not contain control characters."
    size = sum((4 if ord(c) > 0xFFFF else 2) * (2 if c in _ESCAPED else 1) for c in instance_id)
    if size > _TABLE_KEY_BYTES:
        return (
            f"The id is too long for an Azure Storage table key ({size} bytes as stored, at most {_TABLE_KEY_BYTES})."
        )
    return None
