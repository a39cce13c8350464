"""The table `python -m bench` ends with: one row per workload and store, devhost beside
the peer (Microsoft's durabletask in-memory backend, bench/peer.py) and the SDK's own
replay floor (bench/floor.py), against issue 13's targets.

- ratio: devhost's speed / the peer's on the same work (peer time / devhost time), on
  the memory store, where both keep everything in memory;
- efficiency: SDK floor time / devhost time, how close the host comes to the limit the
  SDK's replay sets (docs in ../README.md, "Tests and benchmarks");
- met: yes/no against the target, blank where a row only informs.

A workload that failed or ran out of time shows why in the devhost column and, where it
has a target, counts as not met.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

Measured = float | str  # seconds, or why there is no figure ("timed out after 120 s")


@dataclass
class Figures:
    """What a target is judged on."""

    seconds: float
    rate: float
    ratio: float | None  # devhost speed / peer speed
    efficiency: float | None  # floor / devhost


@dataclass(frozen=True)
class Target:
    text: str
    check: Callable[[Figures], bool]


@dataclass
class Row:
    workload: str
    store: str
    devhost: str
    peer: str = ""
    ratio: str = ""
    floor: str = ""
    efficiency: str = ""
    target: str = ""
    met: bool | None = None  # None: no target

    def cells(self) -> list[str]:
        met = "" if self.met is None else ("yes" if self.met else "no")
        return [
            *(self.workload, self.store, self.devhost, self.peer, self.ratio),
            *(self.floor, self.efficiency, self.target, met),
        ]


def seconds(value: float | None) -> str:
    return "" if value is None else f"{value:.3f} s"


def timed(
    workload: str,
    store: str,
    count: int,
    measured: Measured,
    *,
    peer: Measured | None = None,
    floor: float | None = None,
    target: Target | None = None,
    rate: bool = True,
) -> Row:
    """A row for `count` items done in `measured` seconds (rate = count / seconds,
    shown unless `rate` is False: where the items only wait, their rate says nothing)."""
    peer_cell = seconds(peer) if isinstance(peer, float) else (peer or "")
    row = Row(workload, store, "", peer_cell, floor=seconds(floor), target=target.text if target else "")
    if isinstance(measured, str):
        row.devhost = measured
        row.met = None if target is None else False
        return row
    row.devhost = f"{measured:.3f} s" + (f" {count / measured:7.0f}/s" if rate else "")
    ratio = peer / measured if isinstance(peer, float) else None
    efficiency = floor / measured if floor is not None else None
    row.ratio = "" if ratio is None else f"{ratio:.2f}x"
    row.efficiency = "" if efficiency is None else f"{efficiency:.2f}"
    if target is not None:
        row.met = target.check(Figures(measured, count / measured, ratio, efficiency))
    return row


def scaling(
    store: str,
    sizes: tuple[int, int],
    host: Mapping[int, Measured],
    floor: Mapping[int, float],
    peer: Mapping[int, Measured],
    within: float | None,
) -> Row:
    """t(large)/t(small) of the fan-outs: devhost's, the peer's and the SDK floor's;
    the target, where `within` is given: devhost's within that multiple of the floor's."""
    small, large = sizes
    workload = f"fan-out t({large})/t({small})"
    target = "" if within is None else f"<= {within:g} x floor's"

    def ratio(times: Mapping[int, Measured]) -> float | None:
        a, b = times.get(large), times.get(small)
        return a / b if isinstance(a, float) and isinstance(b, float) else None

    mine, sdk, theirs = ratio(host), ratio(floor), ratio(peer)
    row = Row(workload, store, "not measured" if mine is None else f"{mine:.2f}", target=target)
    row.peer = "" if theirs is None else f"{theirs:.2f}"
    row.floor = "" if sdk is None else f"{sdk:.2f}"
    if mine is not None and sdk is not None:
        row.efficiency = f"{sdk / mine:.2f}"
    if within is not None:
        row.met = mine is not None and sdk is not None and mine <= within * sdk
    return row


HEADER = ["workload", "store", "devhost", "peer", "ratio", "SDK floor", "efficiency", "target", "met"]


def render(rows: list[Row]) -> str:
    table = [HEADER, *(row.cells() for row in rows)]
    widths = [max(len(line[n]) for line in table) for n in range(len(HEADER))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip() for line in table]
    lines.insert(1, "  ".join("-" * width for width in widths))
    judged = [row for row in rows if row.met is not None]
    lines.append(f"\ntargets met: {sum(1 for row in judged if row.met)}/{len(judged)}")
    return "\n".join(lines)
