"""A host killed with SIGKILL and restarted on the same hub finishes every piece of work:
orchestrations resume, due timers fire, entity state is kept; activities run at least
once (duplicates are counted and reported). Also two hosts sharing one hub.

Nothing here waits on the clock: a test waits for the host process to die, or for the
host to print the Durable extension's line saying an instance or an operation ended
(printed once the new state is committed), then reads the state."""

from __future__ import annotations

import signal
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

from devhost.azurite import AzuriteProcess, free_port
from tests.support.processes import ROOT, DevhostProcess, call, wait_printed

RECOVERY_APP = ROOT / "tests" / "apps" / "recovery_app"
API = "/runtime/webhooks/durabletask"


def _host(azurite: AzuriteProcess, hub: str, port: int) -> DevhostProcess:
    return DevhostProcess(
        "--app-dir", str(RECOVERY_APP), "--port", str(port), "--storage", "azurite",
        "--connection", azurite.connection_string, "--hub", hub,
    ).started()  # fmt: skip


def _hub() -> str:
    return f"Crash{uuid.uuid4().hex[:10]}"


def _runs(log: Path) -> Counter[int]:
    return Counter(int(line) for line in log.read_text().split()) if log.exists() else Counter()


def _start(port: int, orchestrator: str, body: Any) -> str:
    status, started = call("POST", f"http://127.0.0.1:{port}{API}/orchestrators/{orchestrator}", body)
    assert status == 202, started
    return str(started["id"])


def _status(port: int, instance: str, query: str = "") -> dict[str, Any]:
    return call("GET", f"http://127.0.0.1:{port}{API}/instances/{instance}{query}")[1]


def _completed(hosts: list[DevhostProcess], port: int, instance: str, name: str, timeout: float) -> dict[str, Any]:
    wait_printed(hosts, f"{instance}: Function '{name} (Orchestrator)' completed.", timeout=timeout)
    return _status(port, instance)


def _crashed(host: DevhostProcess) -> None:
    assert host.process.wait(timeout=60) == -signal.SIGKILL


def test_fan_out_finishes_after_a_sigkill_mid_way(
    azurite: AzuriteProcess, tmp_path: Path, record_property: Any
) -> None:
    hub, port, log = _hub(), free_port(), tmp_path / "runs.log"
    count = 300
    with _host(azurite, hub, port) as first:
        spec = {"count": count, "log": str(log), "crash_at": 40, "marker": str(tmp_path / "crashed")}
        instance = _start(port, "logged_fan_out", spec)
        _crashed(first)
    assert sum(_runs(log).values()) < count, "the kill should land before the work is done"

    with _host(azurite, hub, port) as second:
        status = _completed([second], port, instance, "logged_fan_out", timeout=180)
    runs = _runs(log)
    duplicates = sum(times - 1 for times in runs.values())
    record_property("duplicate_activity_runs", duplicates)
    print(f"activities run twice after the crash: {duplicates} of {count}")
    assert status["output"] == sum(range(count))
    assert set(runs) == set(range(count)), "every activity ran at least once"


def test_timer_due_while_no_host_runs_fires_when_another_host_takes_over(
    azurite: AzuriteProcess, tmp_path: Path
) -> None:
    hub, port = _hub(), free_port()
    with _host(azurite, hub, port) as first:
        instance = _start(port, "sleeper", {"seconds": 5, "marker": str(tmp_path / "crashed")})
        _crashed(first)
    # Another port is another host identity: it takes the partitions only once the dead
    # host's leases lapse (15 s), so the 5 s timer comes due while nothing runs it.
    other = free_port()
    with _host(azurite, hub, other) as second:
        status = _completed([second], other, instance, "sleeper", timeout=90)
    assert status["output"] == "woke"


def test_entity_state_survives_a_sigkill(azurite: AzuriteProcess) -> None:
    hub, port = _hub(), free_port()
    entity = f"http://127.0.0.1:{port}{API}/entities/Tally/kept"
    with _host(azurite, hub, port) as first:
        for _ in range(2):
            assert call("POST", f"{entity}?op=add", "5")[0] == 202
        for _ in range(2):
            first.read_until("Function 'Tally (Entity)' completed 'add' operation", timeout=30)
        first.process.kill()
        first.process.wait()
    with _host(azurite, hub, port) as second:
        assert call("GET", entity) == (200, 10)
        call("POST", f"{entity}?op=add", "1")
        second.read_until("Function 'Tally (Entity)' completed 'add' operation", timeout=30)
        assert call("GET", entity) == (200, 11)


def test_two_hosts_on_one_hub_complete_every_instance_once(
    azurite: AzuriteProcess, tmp_path: Path
) -> None:
    hub, ports = _hub(), (free_port(), free_port())
    with _host(azurite, hub, ports[0]) as one, _host(azurite, hub, ports[1]) as two:
        started = []
        for n in range(20):
            log = tmp_path / f"runs-{n}.log"
            started.append((_start(ports[n % 2], "logged_fan_out", {"count": 10, "log": str(log)}), log))
        for n, (instance, _) in enumerate(started):
            status = _completed([one, two], ports[(n + 1) % 2], instance, "logged_fan_out", timeout=120)
            assert status["output"] == 45
        for instance, log in started:
            history = _status(ports[0], instance, "?showHistory=true")["historyEvents"]
            assert [e["EventType"] for e in history].count("ExecutionCompleted") == 1
            assert set(_runs(log)) == set(range(10))
