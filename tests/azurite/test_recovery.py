"""A host killed with SIGKILL and restarted on the same hub finishes every piece of work:
orchestrations resume, due timers fire, entity state is kept; activities run at least
once (duplicates are counted and reported). Also two hosts sharing one hub."""

from __future__ import annotations

import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any, Optional

from devhost.azurite import AzuriteProcess, free_port
from tests.support.processes import ROOT, DevhostProcess, call, eventually

RECOVERY_APP = ROOT / "tests" / "apps" / "recovery_app"
API = "/runtime/webhooks/durabletask"


def _host(azurite: AzuriteProcess, hub: str, port: int) -> DevhostProcess:
    return DevhostProcess(
        "--app-dir", str(RECOVERY_APP), "--port", str(port), "--storage", "azurite",
        "--connection", azurite.connection_string, "--hub", hub, "--quiet",
    ).started()  # fmt: skip


def _hub() -> str:
    return f"Crash{uuid.uuid4().hex[:10]}"


def _runs(log: Path) -> Counter[int]:
    return Counter(int(line) for line in log.read_text().split()) if log.exists() else Counter()


def _status(port: int, instance: str, query: str = "") -> dict[str, Any]:
    return call("GET", f"http://127.0.0.1:{port}{API}/instances/{instance}{query}")[1]


def _completed(port: int, instance: str) -> Optional[dict[str, Any]]:
    status = _status(port, instance)
    return status if status.get("runtimeStatus") == "Completed" else None


def test_fan_out_finishes_after_a_sigkill_mid_way(
    azurite: AzuriteProcess, tmp_path: Path, record_property: Any
) -> None:
    hub, port, log = _hub(), free_port(), tmp_path / "runs.log"
    count = 300
    with _host(azurite, hub, port) as first:
        _, body = call(
            "POST", f"http://127.0.0.1:{port}{API}/orchestrators/logged_fan_out",
            {"count": count, "log": str(log), "pause": 0.02},
        )  # fmt: skip
        instance = body["id"]
        eventually(lambda: True if sum(_runs(log).values()) >= 40 else None, timeout=60, what="work to start")
        first.process.kill()
        first.process.wait()
    assert sum(_runs(log).values()) < count, "the kill should land before the work is done"

    with _host(azurite, hub, port):
        status = eventually(lambda: _completed(port, instance), timeout=180, what="completion")
    runs = _runs(log)
    duplicates = sum(times - 1 for times in runs.values())
    record_property("duplicate_activity_runs", duplicates)
    print(f"activities run twice after the crash: {duplicates} of {count}")
    assert status["output"] == sum(range(count))
    assert set(runs) == set(range(count)), "every activity ran at least once"


def test_timer_due_while_the_host_was_down_fires_after_restart(azurite: AzuriteProcess) -> None:
    hub, port = _hub(), free_port()
    with _host(azurite, hub, port) as first:
        _, body = call("POST", f"http://127.0.0.1:{port}{API}/orchestrators/sleeper", 2)
        instance = body["id"]
        eventually(
            lambda: True if any(
                e["EventType"] == "TimerCreated"
                for e in _status(port, instance, "?showHistory=true").get("historyEvents", [])
            ) else None,
            timeout=30, what="the timer to be created",
        )  # fmt: skip
        first.process.kill()
        first.process.wait()
    due = time.monotonic() + 2.5
    # A real process on the real clock: the timer must come due while nothing runs.
    eventually(lambda: True if time.monotonic() > due else None, timeout=10, what="the due time")
    with _host(azurite, hub, port):
        status = eventually(lambda: _completed(port, instance), timeout=60, what="the timer to fire")
    assert status["output"] == "woke"


def test_entity_state_survives_a_sigkill(azurite: AzuriteProcess) -> None:
    hub, port = _hub(), free_port()
    entity = f"http://127.0.0.1:{port}{API}/entities/Tally/kept"
    with _host(azurite, hub, port) as first:
        for _ in range(2):
            assert call("POST", f"{entity}?op=add", "5")[0] == 202
        eventually(lambda: True if call("GET", entity) == (200, 10) else None, timeout=30, what="the adds")
        first.process.kill()
        first.process.wait()
    with _host(azurite, hub, port):
        assert call("GET", entity) == (200, 10)
        call("POST", f"{entity}?op=add", "1")
        eventually(lambda: True if call("GET", entity) == (200, 11) else None, timeout=30, what="the add")


def test_two_hosts_on_one_hub_complete_every_instance_once(
    azurite: AzuriteProcess, tmp_path: Path
) -> None:
    hub, ports = _hub(), (free_port(), free_port())
    with _host(azurite, hub, ports[0]), _host(azurite, hub, ports[1]):
        started = []
        for n in range(20):
            port = ports[n % 2]
            log = tmp_path / f"runs-{n}.log"
            _, body = call(
                "POST", f"http://127.0.0.1:{port}{API}/orchestrators/logged_fan_out",
                {"count": 10, "log": str(log)},
            )  # fmt: skip
            started.append((body["id"], log))
        for n, (instance, _) in enumerate(started):
            eventually(lambda: _completed(ports[(n + 1) % 2], instance), timeout=120, what=instance)
        for instance, log in started:
            history = _status(ports[0], instance, "?showHistory=true")["historyEvents"]
            assert _status(ports[1], instance)["output"] == 45
            assert [e["EventType"] for e in history].count("ExecutionCompleted") == 1
            assert set(_runs(log)) == set(range(10))
