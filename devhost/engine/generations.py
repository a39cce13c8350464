"""The executions an instance left behind by continuing as new, as this host ran them.

At continue-as-new the provider writes the new execution's history over the old one
(DTFx `AzureTableTrackingStore.UpdateStateAsync` reuses the row keys from 0), so storage
cannot show what an eternal orchestration did before its current execution. The host
sees each execution end, though: it keeps the last few per instance in memory, for the
dashboard to show while it runs. Nothing here is durable or shared between hosts, and it
is bounded, so an eternal orchestration that runs for days costs a fixed amount.
"""

from __future__ import annotations

from collections import OrderedDict

from ..stores.base import EndedExecution

# Executions kept per instance, and instances kept (the least recently ended go first).
PER_INSTANCE = 5
INSTANCES = 200


class EarlierExecutions:
    def __init__(self, *, per_instance: int = PER_INSTANCE, instances: int = INSTANCES) -> None:
        self._per_instance = per_instance
        self._instances = instances
        self._kept: OrderedDict[str, list[EndedExecution]] = OrderedDict()

    def keep(self, instance_id: str, ended: list[EndedExecution]) -> None:
        """Called after the commit of an episode that ended `ended`, oldest first."""
        if not ended:
            return
        executions = self._kept.pop(instance_id, [])
        executions = (executions + ended)[-self._per_instance :]
        self._kept[instance_id] = executions
        while len(self._kept) > self._instances:
            self._kept.popitem(last=False)

    def of(self, instance_id: str) -> list[EndedExecution]:
        """The kept executions of an instance, the most recent first."""
        return list(reversed(self._kept.get(instance_id, [])))

    def find(self, instance_id: str, execution_id: str) -> EndedExecution | None:
        return next((e for e in self._kept.get(instance_id, []) if e.execution_id == execution_id), None)

    def forget(self, instance_id: str) -> None:
        """A purged instance's executions go with it."""
        self._kept.pop(instance_id, None)
