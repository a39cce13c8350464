"""A mixed workload for a devhost process, sent as a client sends it (the durable HTTP
API), whose right outcome is known in advance: chains of activities, fan-outs whose
results are summed, and adds to one Counter entity (signals over HTTP, calls and
signals from the orchestrations). After a run under faults, `verify` checks what a user
relies on: every instance Completed with its exact output, the Counter exact (each add
applied once), every activity run at least once; duplicate runs are counted, not failed
(activities are at-least-once).

The app is tests/apps/recovery_app: its activity appends its key to a log file before it
answers, so the log holds one line per execution, redeliveries included."""

from __future__ import annotations

import asyncio
import os
import random
import re
import subprocess
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import aiohttp

from devhost.http.urls import WEBHOOK_PATH as API
from tests.support.http import call
from tests.support.processes import ROOT, DevhostProcess, wait_until

RECOVERY_APP = ROOT / "tests" / "apps" / "recovery_app"
COUNTER_KEY = "total"
# What a client does when a start is not answered 202: it sends the same start (same
# instance id) again; 409 then means an earlier attempt got through.
_START_ATTEMPTS = 20
_ENDED = re.compile(r"(\S+): Function '\w+ \(Orchestrator\)' (?:completed\.|failed with|was terminated)")
_OPERATION = re.compile(r"Function 'Counter \(Entity\)' completed '(\w+)' operation (\S+)\.")
_CLIENT_ERRORS = (aiohttp.ClientError, asyncio.TimeoutError)


def workload_seed() -> int:
    """A fresh seed each run (printed with any failure); WORKLOAD_SEED=<n> runs a
    failed run's workload again. Fault moments follow progress, not the seed."""
    return int(os.environ.get("WORKLOAD_SEED") or random.SystemRandom().randrange(1_000_000))


async def start_host(connection: str, hub: str, port: int) -> DevhostProcess:
    """The recovery app in a real host process on `hub`; a host restarted on the same
    port has the same identity, so it takes its partitions back at once."""
    process = DevhostProcess(
        "--app-dir", str(RECOVERY_APP), "--port", str(port), "--storage", "azurite",
        "--connection", connection, "--hub", hub,
    )  # fmt: skip
    return await asyncio.to_thread(process.started)


class Consoles:
    """Which instances the hosts' consoles say ended (a line is printed once the state
    is committed), across every process a run starts: what waits on progress wake on."""

    def __init__(self) -> None:
        self.hosts: list[DevhostProcess] = []
        self.ended: set[str] = set()
        self._scanned: list[int] = []
        self._lock = threading.Lock()  # waits scan in a thread, the test in its loop

    def watch(self, host: DevhostProcess) -> DevhostProcess:
        with self._lock:
            self.hosts.append(host)
            self._scanned.append(0)
        return host

    def scan(self) -> set[str]:
        with self._lock:
            for n, host in enumerate(self.hosts):
                lines = host.lines[self._scanned[n] :]
                self._scanned[n] += len(lines)
                for line in lines:
                    found = _ENDED.search(line)
                    if found:
                        self.ended.add(found.group(1))
            return set(self.ended)

    async def wait_ended(self, count: int, timeout: float, among: Optional[set[str]] = None) -> bool:
        """Until `count` instances (of `among`, if given) have ended; False at the deadline."""

        def ready() -> bool:
            ended = self.scan()
            return len(ended if among is None else ended & among) >= count

        return await asyncio.to_thread(wait_until, ready, timeout)

    def output(self) -> str:
        return "\n".join(line for host in self.hosts for line in host.lines)

    def repeated(self) -> dict[str, int]:
        """Instances and Counter operations (by request id) the consoles say ended more
        than once: each line is printed after its commit, so each is one run of it."""
        lines = self.output().splitlines()
        seen = Counter(m.group(1) for m in map(_ENDED.search, lines) if m)
        seen.update(m.group(2) for m in map(_OPERATION.search, lines) if m)
        return {key: times for key, times in seen.items() if times > 1}

    def save(self, path: Path) -> Path:
        """Every host's console, in the order the hosts ran: a failed run's log."""
        path.write_text(self.output() + "\n", encoding="utf-8")
        return path


async def outlives(host: DevhostProcess, seconds: float) -> None:
    """Spends a fault's duration waiting for the host to exit, which it must not do."""
    try:
        code = await asyncio.to_thread(host.process.wait, seconds)
    except subprocess.TimeoutExpired:
        return
    raise AssertionError(f"the host exited ({code}) during a fault:\n" + "\n".join(host.lines[-60:]))


def report(record_property: Any, figures: dict[str, Any]) -> None:
    """Figures are printed (and kept in the JUnit report), never asserted; a failed
    run prints what it got to."""
    for name, value in figures.items():
        record_property(name, value)
    print("\n" + "\n".join(f"  {name}: {value}" for name, value in figures.items()))


@dataclass(frozen=True)
class Planned:
    """One instance the workload starts, with what it must end with."""

    instance_id: str
    orchestrator: str
    spec: dict[str, Any]
    expected: int
    steps: tuple[str, ...]  # the keys its activities log
    counter_adds: int  # what it adds to the Counter, once


@dataclass
class Figures:
    instances: int
    activities: int
    duplicate_runs: int  # activity executions past the first (at-least-once)
    signals: int  # Counter adds sent over HTTP
    unknown_signals: int  # of which no answer said whether they were sent
    starts_retried: int  # starts sent again after a 503 or no answer


@dataclass
class Workload:
    """Waves of work for one host's HTTP API; `seed` makes the shapes reproducible."""

    http: aiohttp.ClientSession
    base_url: str
    log: Path
    seed: int
    planned: dict[str, Planned] = field(default_factory=dict)
    acked: list[int] = field(default_factory=list)  # signal amounts answered 202
    unknown: list[int] = field(default_factory=list)  # not answered: sent or not
    retried: set[str] = field(default_factory=set)  # starts sent more than once
    _waves: int = 0

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)

    async def start_wave(self, *, chains: int, fan_outs: int, signals: int) -> list[str]:
        """Starts the instances and sends the signals, in a shuffled order; returns the
        new instance ids."""
        self._waves += 1
        plans = [self._chain(n) for n in range(chains)] + [self._fan_out(n) for n in range(fan_outs)]
        jobs: list[Optional[Planned]] = [*plans, *([None] * signals)]
        self._random.shuffle(jobs)
        for plan in jobs:
            if plan is None:
                await self._signal(self._random.randint(1, 9))
            else:
                await self._start(plan)
        return [plan.instance_id for plan in plans]

    def _chain(self, n: int) -> Planned:
        instance_id = f"s{self.seed}-w{self._waves}-chain{n}"
        adds = [self._random.randint(1, 9) for _ in range(self._random.randint(3, 8))]
        start = self._random.randint(0, 100)
        spec = {"id": instance_id, "start": start, "adds": adds, "log": str(self.log), "counter": COUNTER_KEY}
        steps = tuple(f"{instance_id}/{k}" for k in range(len(adds)))
        return Planned(instance_id, "logged_chain", spec, start + sum(adds), steps, len(adds))

    def _fan_out(self, n: int) -> Planned:
        instance_id = f"s{self.seed}-w{self._waves}-fan{n}"
        count = self._random.randint(10, 40)
        spec = {"id": instance_id, "count": count, "log": str(self.log), "counter": COUNTER_KEY}
        steps = tuple(f"{instance_id}/{k}" for k in range(count))
        return Planned(instance_id, "logged_sum", spec, sum(range(count)), steps, count)

    async def _start(self, plan: Planned) -> None:
        url = f"{self.base_url}{API}/orchestrators/{plan.orchestrator}/{plan.instance_id}"
        answers: list[Any] = []
        for _ in range(_START_ATTEMPTS):
            try:
                status, body, _ = await call(self.http, "POST", url, json=plan.spec)
            except _CLIENT_ERRORS as error:
                status, body = None, repr(error)
            if status in (202, 409):
                self.planned[plan.instance_id] = plan
                return
            answers.append((status, body))
            assert status in (503, None), f"start of {plan.instance_id}: {status} {body}"
            self.retried.add(plan.instance_id)
        raise AssertionError(f"{plan.instance_id} could not be started: {answers}")

    async def _signal(self, amount: int) -> None:
        """A text body reaches the entity as a JSON string, which the SDK decodes."""
        url = f"{self.base_url}{API}/entities/Counter/{COUNTER_KEY}?op=add"
        headers = {"Content-Type": "text/plain"}
        try:
            status, body, _ = await call(self.http, "POST", url, data=str(amount).encode(), headers=headers)
        except _CLIENT_ERRORS:
            status, body = None, None
        assert status in (202, 503, None), f"signal: {status} {body}"
        (self.acked if status == 202 else self.unknown).append(amount)

    async def status(self, instance_id: str) -> dict[str, Any]:
        status, body, _ = await call(self.http, "GET", f"{self.base_url}{API}/instances/{instance_id}")
        assert status in (200, 202), f"{instance_id}: {status} {body}"
        return dict(body)

    async def finish(self, consoles: Consoles, *, quiet: float = 60.0) -> None:
        """Waits until every instance has ended, for as long as instances keep ending;
        fails, naming what is stuck, once none has ended for `quiet` seconds. The
        consoles say what ended, except for an instance whose line a SIGKILL cut off
        after its commit: when they fall quiet, the rest are asked for over the API."""
        loop = asyncio.get_running_loop()
        remaining = set(self.planned) - consoles.scan()
        progressed = loop.time()
        while remaining:
            if await consoles.wait_ended(len(remaining), 5.0, among=remaining):
                break
            left = remaining - consoles.scan()
            if left != remaining:
                remaining, progressed = left, loop.time()
                continue
            statuses = {i: (await self.status(i))["runtimeStatus"] for i in sorted(remaining)}
            left = {i for i, s in statuses.items() if s not in ("Completed", "Failed", "Terminated")}
            if left != remaining:
                remaining, progressed = left, loop.time()
            elif remaining and loop.time() - progressed > quiet:
                stuck = {i: statuses[i] for i in sorted(remaining)}
                raise AssertionError(f"nothing ended for {quiet:g}s (seed {self.seed}); stuck: {stuck}")

    def figures(self) -> Figures:
        """What the run did, whatever its outcome: printed, never asserted."""
        runs = self._runs()
        steps = [key for plan in self.planned.values() for key in plan.steps]
        return Figures(
            instances=len(self.planned),
            activities=len(steps),
            duplicate_runs=sum(runs[key] - 1 for key in steps if key in runs),
            signals=len(self.acked) + len(self.unknown),
            unknown_signals=len(self.unknown),
            starts_retried=len(self.retried),
        )

    def _runs(self) -> Counter[str]:
        return Counter(self.log.read_text().split()) if self.log.exists() else Counter()

    async def verify(self, consoles: Consoles) -> None:
        """Every instance Completed with its exact output; the Counter exact; every
        activity ran at least once."""
        wrong = {}
        for plan in self.planned.values():
            body = await self.status(plan.instance_id)
            if body["runtimeStatus"] != "Completed" or body["output"] != plan.expected:
                wrong[plan.instance_id] = (body["runtimeStatus"], body["output"], plan.expected)
        assert not wrong, f"wrong outcomes (seed {self.seed}): {wrong}"

        url = f"{self.base_url}{API}/entities/Counter/{COUNTER_KEY}"
        status, counter, _ = await call(self.http, "GET", url)
        base = sum(self.acked) + sum(plan.counter_adds for plan in self.planned.values())
        # A signal that got no answer may or may not have been sent: any subset of them.
        # So may a start answered 503 have gone through; if its instance completed before
        # the retry came, the retry ran it again (a start replaces a completed instance,
        # as in Azure), adding its adds twice.
        possible = {base}
        for amount in [*self.unknown, *(self.planned[i].counter_adds for i in sorted(self.retried))]:
            possible |= {value + amount for value in possible}
        assert status == 200 and counter in possible, (
            f"Counter is {counter} ({status}), expected {sorted(possible)} (seed {self.seed}): "
            f"{'lost' if isinstance(counter, int) and counter < base else 'doubled'} adds; "
            f"ended more than once: {consoles.repeated()}; starts retried: {sorted(self.retried)}"
        )
        runs = self._runs()
        missing = [key for plan in self.planned.values() for key in plan.steps if key not in runs]
        assert not missing, f"completed without running (seed {self.seed}): {missing[:20]}"
