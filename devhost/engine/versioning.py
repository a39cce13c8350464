"""Orchestration versioning: which version a new instance gets, and whether this host
may run an instance of a given version.

The Durable extension passes host.json's `defaultVersion`, `versionMatchStrategy` and
`versionFailureStrategy` to DTFx's `VersioningSettings`; DTFx's
`TaskOrchestrationDispatcher.OnProcessWorkItemAsync` checks every orchestration work
item against them before running user code. `Strict` compares with `!=` (case-sensitive,
null differs from ""), `CurrentOrOlder` with `VersioningSettings.CompareVersions`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

# FailureDetails DTFx records when `Fail` stops an instance; the Instances table's
# output is their `ToString()`, "<ErrorType>: <ErrorMessage>".
MISMATCH_ERROR_TYPE = "VersionMismatch"
MISMATCH_MESSAGE = "Orchestration version did not comply with Worker Versioning"
MISMATCH_OUTPUT = f"{MISMATCH_ERROR_TYPE}: {MISMATCH_MESSAGE}"


def mismatch_failure_details() -> dict[str, object]:
    """`ExecutionCompleted.FailureDetails` (and the parent's SubOrchestrationInstanceFailed)."""
    return {
        "ErrorType": MISMATCH_ERROR_TYPE,
        "ErrorMessage": MISMATCH_MESSAGE,
        "StackTrace": None,
        "InnerFailure": None,
        "IsNonRetriable": True,
    }


_DOTNET_VERSION = re.compile(r"^\d+(\.\d+){1,3}$")


class MatchStrategy(Enum):
    """DTFx `VersionMatchStrategy`; the values are its numbers, which host.json may use."""

    NONE = 0
    STRICT = 1
    CURRENT_OR_OLDER = 2


class FailureStrategy(Enum):
    """DTFx `VersionFailureStrategy`."""

    REJECT = 0
    FAIL = 1


def parse_strategy(value: object, kind: type[Enum]) -> Enum:
    """A host.json enum value as .NET's configuration binder reads it: the member name in
    any case (`currentOrOlder`), or its number. Raises ValueError otherwise."""
    text = str(value).strip()
    for member in kind:
        if text.replace("_", "").lower() in (member.name.replace("_", "").lower(), str(member.value)):
            return member
    raise ValueError(text)


def compare_versions(source: str | None, other: str | None) -> int:
    """DTFx `VersioningSettings.CompareVersions`: empty is older than anything; two
    `System.Version`s compare by their parts (a missing part is older than 0, so
    "1.0" < "1.0.0"); anything else compares as text, ignoring case."""
    source_empty, other_empty = not (source or "").strip(), not (other or "").strip()
    if source_empty and other_empty:
        return 0
    if source_empty:
        return -1
    if other_empty:
        return 1
    assert source is not None and other is not None
    if _DOTNET_VERSION.match(source) and _DOTNET_VERSION.match(other):
        left = [int(part) for part in source.split(".")]
        right = [int(part) for part in other.split(".")]
        width = max(len(left), len(right))
        left += [-1] * (width - len(left))
        right += [-1] * (width - len(right))
        return (left > right) - (left < right)
    a, b = source.upper(), other.upper()
    return (a > b) - (a < b)


@dataclass(frozen=True)
class Versioning:
    """The host's versioning settings; the extension's defaults when host.json is silent."""

    default_version: str | None = None
    match: MatchStrategy = MatchStrategy.CURRENT_OR_OLDER
    failure: FailureStrategy = FailureStrategy.REJECT

    def version_for(self, requested: str | None) -> str | None:
        """What a new orchestration is stamped with: the version asked for, else the
        host's current `defaultVersion` (also for sub-orchestrations and restarts)."""
        return requested if requested is not None else self.default_version

    def accepts(self, version: str | None) -> bool:
        if self.match is MatchStrategy.STRICT:
            return version == self.default_version
        if self.match is MatchStrategy.CURRENT_OR_OLDER:
            return compare_versions(version, self.default_version) <= 0
        return True

    def describe_mismatch(self, instance_id: str, version: str | None) -> str:
        """The console line for a work item this host may not run."""
        outcome = (
            "failed the instance"
            if self.failure is FailureStrategy.FAIL
            else "left its messages queued for a host that may run it"
        )
        return (
            f"{instance_id}: Orchestration version {version!r} is not processed by this host "
            f"(defaultVersion {self.default_version!r}, versionMatchStrategy "
            f"{_pascal(self.match)}); versionFailureStrategy {_pascal(self.failure)} {outcome}."
        )


def _pascal(member: Enum) -> str:
    return "".join(part.capitalize() for part in member.name.split("_"))
