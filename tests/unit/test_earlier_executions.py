"""The host's memory of executions that continued as new stays bounded however long an
eternal orchestration runs or however many instances continue, and forgets a purged
instance."""

from __future__ import annotations

from devhost.engine.generations import EarlierExecutions
from devhost.stores.base import EndedExecution


def _ended(n: int) -> EndedExecution:
    return EndedExecution(f"execution-{n}", [])


def test_an_instance_keeps_its_latest_executions_newest_first() -> None:
    earlier = EarlierExecutions(per_instance=3, instances=10)
    for n in range(100):
        earlier.keep("eternal", [_ended(n)])
    assert [e.execution_id for e in earlier.of("eternal")] == ["execution-99", "execution-98", "execution-97"]
    assert earlier.find("eternal", "execution-97") is not None and earlier.find("eternal", "execution-1") is None


def test_the_instances_that_continued_least_recently_go_first() -> None:
    earlier = EarlierExecutions(per_instance=3, instances=2)
    earlier.keep("a", [_ended(1)])
    earlier.keep("b", [_ended(2)])
    earlier.keep("a", [_ended(3)])  # a is now the most recent
    earlier.keep("c", [_ended(4)])
    assert earlier.of("b") == [] and len(earlier.of("a")) == 2 and len(earlier.of("c")) == 1


def test_a_purged_instance_is_forgotten() -> None:
    earlier = EarlierExecutions()
    earlier.keep("gone", [_ended(1), _ended(2)])
    earlier.forget("gone")
    assert earlier.of("gone") == []
