"""The peer's figures: Microsoft's `durabletask` SDK on its in-memory gRPC sidecar
(`durabletask.testing.InMemoryOrchestrationBackend`), on the workloads devhost runs in
`bench/scenarios.py`, with the same no-op work as `bench/app/function_app.py`.

Run by `python -m bench` under the benchmark's own venv (`.venv-bench`, from
requirements-bench.txt), so it imports nothing of devhost: it prints one JSON object of
seconds, the best of `--runs` runs of each workload:

    {"events": {"500": 0.41}, "fan_out": {"1000": 1.4, ...}, "chain": {"100": 0.45}}
"""

from __future__ import annotations

import argparse
import json
import logging
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from functools import partial
from typing import Any

from durabletask import task
from durabletask.client import OrchestrationStatus, TaskHubGrpcClient
from durabletask.testing import InMemoryOrchestrationBackend
from durabletask.worker import TaskHubGrpcWorker

# The SDK logs every call at INFO on a handler of its own; a logger of ours keeps it to
# warnings, as `python -m bench` keeps devhost's.
QUIET = logging.getLogger("bench.peer")
QUIET.setLevel(logging.WARNING)
TIMEOUT_S = 600


def noop(context: task.ActivityContext, value: int) -> int:
    return value


def chain(context: task.OrchestrationContext, count: int) -> Iterator[task.Task[Any]]:
    for step in range(count):
        yield context.call_activity(noop, input=step)
    return count


def fan_out(context: task.OrchestrationContext, count: int) -> Iterator[task.Task[Any]]:
    results = yield task.when_all([context.call_activity(noop, input=n) for n in range(count)])
    return len(results)


def collect_events(context: task.OrchestrationContext, count: int) -> Iterator[task.Task[Any]]:
    context.set_custom_status("waiting")  # committed with the first episode: see external_events
    for _ in range(count):
        yield context.wait_for_external_event("tick")
    return count


def _free_port() -> int:
    """A port free a moment ago: the backend binds the one it is given."""
    with closing(socket.socket(socket.AF_INET6, socket.SOCK_STREAM)) as probe:
        probe.bind(("::", 0))
        return int(probe.getsockname()[1])


def _client(address: str) -> TaskHubGrpcClient:
    return TaskHubGrpcClient(host_address=address, logger=QUIET)


def _finish(client: TaskHubGrpcClient, instance: str, expected: int) -> None:
    state = client.wait_for_orchestration_completion(instance, timeout=TIMEOUT_S)
    assert state is not None and state.runtime_status == OrchestrationStatus.COMPLETED, state
    assert json.loads(state.serialized_output or "null") == expected, state.serialized_output


def run_orchestration(address: str, orchestrator: Callable[..., Any], count: int) -> float:
    client = _client(address)
    try:
        began = time.perf_counter()
        instance = client.schedule_new_orchestration(orchestrator, input=count)
        _finish(client, instance, count)
        return time.perf_counter() - began
    finally:
        client.close()


def _first_episode_done(client: TaskHubGrpcClient, instance: str) -> None:
    """Returns once the orchestration waits for its first event, as devhost's side
    settles before it raises (the backend has no wait for a custom status: polled)."""
    deadline = time.monotonic() + TIMEOUT_S
    while (state := client.get_orchestration_state(instance)) is None or state.serialized_custom_status is None:
        assert time.monotonic() < deadline, f"{instance} never started waiting"
        time.sleep(0.01)


def external_events(address: str, count: int, clients: int) -> float:
    """`count` events raised by `clients` threads, each with its own client (a gRPC
    channel of its own) raising its share one after another, to one orchestration that
    waits for them one by one; from the first raise to completion."""
    waiting = _client(address)
    senders = [_client(address) for _ in range(clients)]
    try:
        instance = waiting.schedule_new_orchestration(collect_events, input=count)
        _first_episode_done(waiting, instance)
        go = threading.Barrier(clients + 1)

        def send(sender: TaskHubGrpcClient, share: range) -> None:
            go.wait()
            for n in share:
                sender.raise_orchestration_event(instance, "tick", data=n)

        threads = [
            threading.Thread(target=send, args=(sender, range(k, count, clients))) for k, sender in enumerate(senders)
        ]
        for thread in threads:
            thread.start()
        go.wait()
        began = time.perf_counter()
        for thread in threads:
            thread.join()
        _finish(waiting, instance, count)
        return time.perf_counter() - began
    finally:
        for client in [waiting, *senders]:
            client.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/peer.py", description=__doc__)
    parser.add_argument("--events", type=int, default=500)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--fan-outs", type=lambda text: [int(n) for n in text.split(",")], default=[1000, 2000, 4000])
    parser.add_argument("--chains", type=lambda text: [int(n) for n in text.split(",")], default=[100])
    parser.add_argument("--runs", type=int, default=3)
    options = parser.parse_args(argv)
    # Room for the largest fan-out's history (scheduled and completed events) and more.
    most = max([options.events, *options.fan_outs, *options.chains])
    backend = InMemoryOrchestrationBackend(max_history_size=4 * most + 100, port=_free_port())
    address = backend.start()
    worker = TaskHubGrpcWorker(host_address=address, logger=QUIET)
    for orchestrator in (chain, fan_out, collect_events):
        worker.add_orchestrator(orchestrator)
    worker.add_activity(noop)
    worker.start()
    try:
        run_orchestration(address, chain, 5)  # warm-up, as devhost's side has

        def best(measure: Callable[[], float]) -> float:
            return min(measure() for _ in range(options.runs))

        figures = {
            "events": {str(options.events): best(lambda: external_events(address, options.events, options.clients))},
            "fan_out": {str(n): best(partial(run_orchestration, address, fan_out, n)) for n in options.fan_outs},
            "chain": {str(n): best(partial(run_orchestration, address, chain, n)) for n in options.chains},
        }
    finally:
        worker.stop()
        backend.stop()
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
