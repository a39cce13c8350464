"""`summarize_blobs` and its batch sub-orchestration, replayed through the SDK."""

from typing import Any

import pytest
from history_builder import CALL_SUB_ORCHESTRATOR, HistoryBuilder, calls, replay

from orchestrators import BATCH_SIZE, summarize_blob_batch, summarize_blobs


def blob_row(name: str, size: int = 10, lines: int = 2, words: int = 3) -> dict[str, Any]:
    return {
        "name": name,
        "size": size,
        "lines": lines,
        "words": words,
        "sha256": "ab",
        "missing": False,
    }


def listed(count: int, container: str = "docs") -> HistoryBuilder:
    history = HistoryBuilder("summarize_blobs", {"container": container})
    blobs = [{"name": f"f{i:03}.txt", "size": 10} for i in range(count)]
    history.run_activity("list_blobs", {"exists": True, "blobs": blobs})
    return history


def test_listing_covers_the_whole_container_when_no_prefix_is_given() -> None:
    state = replay(
        summarize_blobs, HistoryBuilder("summarize_blobs", {"container": "docs"}).context_json()
    )

    assert calls(state) == [("list_blobs", {"container": "docs", "prefix": ""})]


def test_120_blobs_go_to_three_parallel_batches_of_50_50_and_20() -> None:
    state = replay(summarize_blobs, listed(120).context_json())

    batches = calls(state, CALL_SUB_ORCHESTRATOR)
    assert [name for name, _ in batches] == ["summarize_blob_batch"] * 3
    assert [len(batch["names"]) for _, batch in batches] == [50, 50, 20]
    assert batches[0][1]["names"][0] == "f000.txt"
    assert batches[2][1]["names"][-1] == "f119.txt"
    assert {batch["container"] for _, batch in batches} == {"docs"}
    assert BATCH_SIZE == 50
    assert not state.is_done


def test_batch_results_are_added_up_into_one_report() -> None:
    history = listed(3)
    first = history.schedule_sub_orchestration("summarize_blob_batch")
    history.next_episode()
    rows = [
        blob_row("f000.txt", size=5, lines=1, words=2),
        blob_row("f001.txt"),
        blob_row("f002.txt"),
    ]
    history.complete_sub_orchestration(first, {"blobs": rows, "totals": {}})
    state = replay(summarize_blobs, history.context_json())

    name, report = calls(state)[-1]
    assert name == "write_blob_report"
    assert report["totals"] == {"blobs": 3, "bytes": 25, "lines": 5, "words": 8}
    assert report["blobs"] == rows
    assert report["instance_id"] == history.instance_id
    assert report["generated_at"] == "2024-05-01T10:00:02Z"

    history.run_activity("write_blob_report", "blob-reports/docs/instance-1.json")
    state = replay(summarize_blobs, history.context_json())
    assert state.output == {
        "container": "docs",
        "prefix": "",
        "status": "summarized",
        "blobs": 3,
        "bytes": 25,
        "lines": 5,
        "words": 8,
        "batches": 1,
        "report_blob": "blob-reports/docs/instance-1.json",
    }


def test_missing_container_is_reported_without_a_report_blob() -> None:
    history = HistoryBuilder("summarize_blobs", {"container": "nope", "prefix": "2024/"})
    history.run_activity("list_blobs", {"exists": False, "blobs": []})
    state = replay(summarize_blobs, history.context_json())

    assert state.output == {
        "container": "nope",
        "prefix": "2024/",
        "status": "container_not_found",
        "blobs": 0,
        "bytes": 0,
        "lines": 0,
        "words": 0,
        "batches": 0,
        "report_blob": None,
    }
    assert [name for name, _ in calls(state)] == ["list_blobs"]


def test_empty_container_still_gets_a_report_with_zero_totals() -> None:
    history = listed(0)
    state = replay(summarize_blobs, history.context_json())
    name, report = calls(state)[-1]
    assert name == "write_blob_report"
    assert report["totals"] == {"blobs": 0, "bytes": 0, "lines": 0, "words": 0}
    assert calls(state, CALL_SUB_ORCHESTRATOR) == []

    history.run_activity("write_blob_report", "blob-reports/docs/instance-1.json")
    state = replay(summarize_blobs, history.context_json())

    assert state.output["status"] == "summarized"
    assert state.output["blobs"] == 0
    assert state.output["batches"] == 0
    assert state.output["report_blob"] == "blob-reports/docs/instance-1.json"


def test_a_failed_batch_fails_the_summary() -> None:
    history = listed(1)
    batch = history.schedule_sub_orchestration("summarize_blob_batch")
    history.next_episode()
    history.fail_sub_orchestration(
        batch, "Orchestrator function 'summarize_blob_batch' failed: boom"
    )

    state = replay(summarize_blobs, history.context_json())

    assert "summarize_blob_batch' failed: boom" in state.error


@pytest.mark.parametrize("container", ["Docs", "ab", "a--b", "-ab"])
def test_invalid_container_name_fails_before_any_work(container: str) -> None:
    state = replay(
        summarize_blobs, HistoryBuilder("summarize_blobs", {"container": container}).context_json()
    )

    assert state.error.startswith("container: must be a container name")
    assert state.actions == []


def test_batch_analyzes_every_blob_in_parallel_and_totals_them() -> None:
    history = HistoryBuilder(
        "summarize_blob_batch",
        {"container": "docs", "names": ["a.txt", "b.txt"]},
        instance_id="exec:1",
    )
    state = replay(summarize_blob_batch, history.context_json())
    assert calls(state) == [
        ("analyze_blob", {"container": "docs", "name": "a.txt"}),
        ("analyze_blob", {"container": "docs", "name": "b.txt"}),
    ]

    first = history.schedule_activity("analyze_blob")
    second = history.schedule_activity("analyze_blob")
    history.next_episode()
    history.complete_activity(second, blob_row("b.txt", size=7, lines=1, words=1))
    assert not replay(summarize_blob_batch, history.context_json()).is_done
    history.complete_activity(first, blob_row("a.txt", size=3, lines=0, words=0))
    state = replay(summarize_blob_batch, history.context_json())

    assert state.output == {
        "blobs": [
            blob_row("a.txt", size=3, lines=0, words=0),
            blob_row("b.txt", size=7, lines=1, words=1),
        ],
        "totals": {"blobs": 2, "bytes": 10, "lines": 1, "words": 1},
    }
