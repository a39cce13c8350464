"""CPU time spent by the benchmark's process (the host, every thread of it) and by
Azurite's over a stretch of a run. Azurite is one Node.js process: the CPU it spends per
orchestration says how fast any host could go against it on this machine, whatever the
host does, so the table shows it beside the Azurite workloads."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path


def process_cpu_s(pid: int) -> float | None:
    """User and system CPU seconds of process `pid` so far (Linux's /proc; None elsewhere
    or once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Usage:
    wall_s: float
    host_s: float
    azurite_s: float | None  # None: no Azurite of ours to read (or no /proc)

    def per_orchestration(self, count: int) -> str:
        """The table's cell: each side's CPU per orchestration, and the rate Azurite's
        share allows with one core all its own."""
        host = f"host {1000 * self.host_s / count:.0f} ms"
        if not self.azurite_s:
            return f"{host}; Azurite not measured"
        per = self.azurite_s / count
        return f"Azurite {1000 * per:.0f} ms, {host}: Azurite alone allows {1 / per:.0f}/s"

    def busy(self) -> str:
        """How busy each process was over the stretch, in cores."""
        azurite = "?" if self.azurite_s is None else f"{self.azurite_s / self.wall_s:.2f}"
        return f"Azurite {azurite} of a core, host {self.host_s / self.wall_s:.2f}"


class CpuClock:
    """Started at construction; `read` gives what was spent since."""

    def __init__(self, azurite_pid: int | None) -> None:
        self._pid = azurite_pid
        self._wall = time.monotonic()
        self._host = time.process_time()
        self._azurite = process_cpu_s(azurite_pid) if azurite_pid is not None else None

    def read(self) -> Usage:
        now = process_cpu_s(self._pid) if self._pid is not None else None
        spent = None if now is None or self._azurite is None else now - self._azurite
        return Usage(time.monotonic() - self._wall, time.process_time() - self._host, spent)
