"""Resource names and keys of a task hub, as the Azure Storage provider lays them out
(docs/protocol.md H): `<Hub>Instances` and `<Hub>History` tables, `<hub>-control-NN`
and `<hub>-workitems` queues, `<hub>-largemessages` and `<hub>-leases` containers."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ...errors import StartupError

_HUB = re.compile(r"^[A-Za-z][A-Za-z0-9]{2,44}$")
_ESCAPES = (("^", "^^"), ("/", "^0"), ("\\", "^1"), ("#", "^2"), ("?", "^3"))


def validate_hub(hub: str) -> None:
    """DTFx's rule; anything else is rejected by tables or queues with a vaguer error."""
    if not _HUB.match(hub):
        raise StartupError(
            f"Task hub name '{hub}' is not valid for Azure Storage: use 3 to 45 letters and "
            "digits, starting with a letter (set --hub or host.json extensions.durableTask.hubName)."
        )


def escape_key(instance_id: str) -> str:
    """Instance ids as table keys: the characters tables forbid, escaped as DTFx does."""
    for raw, escaped in _ESCAPES:
        instance_id = instance_id.replace(raw, escaped)
    return instance_id


def unescape_key(key: str) -> str:
    out, index = [], 0
    reverse = {escaped[1]: raw for raw, escaped in _ESCAPES}
    while index < len(key):
        if key[index] == "^" and index + 1 < len(key):
            out.append(reverse.get(key[index + 1], key[index + 1]))
            index += 2
        else:
            out.append(key[index])
            index += 1
    return "".join(out)


def partition_of(instance_id: str, partitions: int) -> int:
    """FNV-1a over the id's UTF-8 bytes, as DTFx routes instances to control queues."""
    value = 0x811C9DC5
    for byte in instance_id.encode("utf-8"):
        value = ((value ^ byte) * 0x01000193) & 0xFFFFFFFF
    return value % partitions


@dataclass(frozen=True)
class HubNames:
    hub: str
    partitions: int

    @property
    def instances_table(self) -> str:
        return f"{self.hub}Instances"

    @property
    def history_table(self) -> str:
        return f"{self.hub}History"

    def control_queue(self, partition: int) -> str:
        return f"{self.hub.lower()}-control-{partition:02d}"

    @property
    def work_item_queue(self) -> str:
        return f"{self.hub.lower()}-workitems"

    @property
    def large_messages_container(self) -> str:
        return f"{self.hub.lower()}-largemessages"

    @property
    def leases_container(self) -> str:
        return f"{self.hub.lower()}-leases"
