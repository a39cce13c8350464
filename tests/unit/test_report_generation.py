"""`generate_report` replayed through the SDK: the progress a poller sees, then the report."""

from datetime import timedelta
from typing import Any

from history_builder import CALL_ENTITY, CREATE_TIMER, HistoryBuilder, calls, of_type, replay

from entities import ORDERS_COMPLETED, REVENUE_CENTS
from orchestrators import generate_report

FIGURES = {"orders_completed": 4, "revenue_cents": 12_050}


def section(name: str) -> dict[str, Any]:
    return {"name": name, "heading": name.capitalize(), "lines": [f"{name} line"]}


def collected(request: dict[str, Any]) -> HistoryBuilder:
    history = HistoryBuilder("generate_report", request)
    orders = history.send_entity_operation(ORDERS_COMPLETED, "get")
    revenue = history.send_entity_operation(REVENUE_CENTS, "get")
    history.next_episode()
    history.answer_entity_call(orders, FIGURES["orders_completed"])
    history.answer_entity_call(revenue, FIGURES["revenue_cents"])
    return history


def test_progress_moves_through_every_stage_episode_by_episode() -> None:
    request = {"title": "Weekly", "sections": ["orders", "revenue"], "pace_seconds": 0}
    history = HistoryBuilder("generate_report", request)
    state = replay(generate_report, history.context_json())
    assert state.custom_status == {"stage": "collecting", "done": 0, "total": 2}
    assert [(a["instanceId"], a["operation"]) for a in of_type(state, CALL_ENTITY)] == [
        ("@counter@orders_completed", "get"),
        ("@counter@revenue_cents", "get"),
    ]

    history = collected(request)
    state = replay(generate_report, history.context_json())
    assert state.custom_status == {"stage": "building", "done": 0, "total": 2}
    assert calls(state) == [("build_report_section", {"section": "orders", "figures": FIGURES})]

    history.run_activity("build_report_section", section("orders"))
    state = replay(generate_report, history.context_json())
    assert state.custom_status == {"stage": "building", "done": 1, "total": 2}
    assert calls(state)[-1] == ("build_report_section", {"section": "revenue", "figures": FIGURES})

    history.run_activity("build_report_section", section("revenue"))
    state = replay(generate_report, history.context_json())
    assert state.custom_status == {"stage": "rendering", "done": 2, "total": 2}
    assert calls(state)[-1] == (
        "render_report",
        {
            "title": "Weekly",
            "generated_at": "2024-05-01T10:00:03Z",
            "figures": FIGURES,
            "sections": [section("orders"), section("revenue")],
        },
    )

    report = {"title": "Weekly", "summary": "Weekly: 4 orders completed"}
    history.run_activity("render_report", report)
    state = replay(generate_report, history.context_json())
    assert state.custom_status == {"stage": "completed", "done": 2, "total": 2}
    assert state.is_done
    assert state.output == report


def test_sections_are_paced_by_a_durable_timer() -> None:
    history = collected({"title": "Weekly", "sections": ["orders", "revenue"], "pace_seconds": 30})
    history.run_activity("build_report_section", section("orders"))
    state = replay(generate_report, history.context_json())
    timers = of_type(state, CREATE_TIMER)
    assert [t["fireAt"] for t in timers] == ["2024-05-01T10:00:32.000000Z"]
    assert state.custom_status == {"stage": "building", "done": 1, "total": 2}

    timer = history.schedule_timer(history.now + timedelta(seconds=30))
    history.next_episode(at=history.now + timedelta(seconds=30))
    history.fire_timer(timer)
    state = replay(generate_report, history.context_json())
    assert state.custom_status == {"stage": "building", "done": 1, "total": 2}
    assert calls(state)[-1] == ("build_report_section", {"section": "revenue", "figures": FIGURES})


def test_default_sections_are_orders_revenue_inventory_and_shipping() -> None:
    history = collected({"title": "Weekly", "pace_seconds": 0})
    for name in ("orders", "revenue", "inventory"):
        history.run_activity("build_report_section", section(name))

    state = replay(generate_report, history.context_json())

    assert [args["section"] for _, args in calls(state)] == [
        "orders",
        "revenue",
        "inventory",
        "shipping",
    ]
    assert state.custom_status == {"stage": "building", "done": 3, "total": 4}


def test_counters_that_were_never_written_count_as_zero() -> None:
    history = HistoryBuilder(
        "generate_report", {"title": "First", "sections": ["orders"], "pace_seconds": 0}
    )
    orders = history.send_entity_operation(ORDERS_COMPLETED, "get")
    revenue = history.send_entity_operation(REVENUE_CENTS, "get")
    history.next_episode()
    history.answer_entity_call(orders, None)
    history.answer_entity_call(revenue, 0)

    state = replay(generate_report, history.context_json())

    assert calls(state)[-1][1]["figures"] == {"orders_completed": 0, "revenue_cents": 0}


def test_unknown_section_fails_naming_it() -> None:
    history = HistoryBuilder("generate_report", {"title": "T", "sections": ["orders", "weather"]})

    state = replay(generate_report, history.context_json())

    assert state.error.startswith('sections[1]: must be one of "orders", "revenue"')
