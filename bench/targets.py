"""Issue 13's targets, by workload and store, in one place; a store a workload has no
target on only informs (the peer runs in memory, so the targets that compare with it,
and the fan-out and chain ones the issue measured on memory, hold there)."""

from __future__ import annotations

from bench.table import Figures, Target

EVENTS_PER_S = {"memory": 1500.0, "azurite": 300.0}
SLEEPS_WITHIN_S = 1.2
ORCHESTRATIONS_PER_S = 30.0
SIGNALS_PER_S = 300.0
MEMORY_BACK_WITHIN_MB = 50.0
SCALING_WITHIN = 1.25  # t(large)/t(small) within this multiple of the SDK floor's
STORES = ("memory", "azurite")


def _at_least(rate: float) -> Target:
    return Target(f">= {rate:g}/s", lambda f: f.rate >= rate)


def _fan_out(f: Figures) -> bool:
    return (f.ratio or 0) >= 3 and (f.efficiency or 0) >= 0.5


def _events_memory(f: Figures) -> bool:
    return f.rate >= EVENTS_PER_S["memory"] and (f.ratio or 0) >= 1


CHAIN = {"memory": Target("efficiency >= 0.8", lambda f: (f.efficiency or 0) >= 0.8)}  # the middle length
FAN_OUT = {"memory": Target(">= 3x peer, efficiency >= 0.5", _fan_out)}  # the middle size
SCALING = {"memory": SCALING_WITHIN}
EVENTS = {
    "memory": Target(f">= {EVENTS_PER_S['memory']:g}/s and >= peer", _events_memory),
    "azurite": _at_least(EVENTS_PER_S["azurite"]),
}
SLEEPS = {store: Target(f"<= {SLEEPS_WITHIN_S:g} s", lambda f: f.seconds <= SLEEPS_WITHIN_S) for store in STORES}
CONCURRENT = {"azurite": _at_least(ORCHESTRATIONS_PER_S)}
SIGNALS = {"azurite": _at_least(SIGNALS_PER_S)}
# "Completes at no less than that rate from first to last": the first start to the last
# completion. Each tenth's rate is printed, not judged: a fair host advances a backlog
# together, so most instances end in the last tenths (the memory store's too).
BACKLOG = {"azurite": f">= {ORCHESTRATIONS_PER_S:g}/s, first start to last end"}
MEMORY = dict.fromkeys(STORES, f"<= +{MEMORY_BACK_WITHIN_MB:g} MB")
