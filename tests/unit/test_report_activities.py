"""Report activities: sections from the collected figures, then the rendered report."""

from function_invoker import run_activity

from activities import CATALOG, build_report_section, render_report

FIGURES = {"orders_completed": 4, "revenue_cents": 12_050}


async def test_revenue_section_shows_total_and_average() -> None:
    section = await run_activity(build_report_section, {"section": "revenue", "figures": FIGURES})

    assert section == {
        "name": "revenue",
        "heading": "Revenue",
        "lines": ["Revenue: 120.50", "Average order value: 30.12"],
    }


async def test_revenue_section_without_orders_has_no_average_to_divide() -> None:
    figures = {"orders_completed": 0, "revenue_cents": 0}

    section = await run_activity(build_report_section, {"section": "revenue", "figures": figures})

    assert section["lines"] == ["Revenue: 0.00", "Average order value: 0.00"]


async def test_inventory_section_lists_every_sku() -> None:
    section = await run_activity(build_report_section, {"section": "inventory", "figures": FIGURES})

    assert len(section["lines"]) == len(CATALOG)


async def test_rendered_report_has_summary_figures_and_text() -> None:
    orders = await run_activity(build_report_section, {"section": "orders", "figures": FIGURES})
    draft = {
        "title": "Weekly",
        "generated_at": "2024-05-01T10:00:00Z",
        "figures": FIGURES,
        "sections": [orders],
    }

    report = await run_activity(render_report, draft)

    assert report["title"] == "Weekly"
    assert report["generated_at"] == "2024-05-01T10:00:00Z"
    assert report["orders_completed"] == 4
    assert report["revenue"] == 120.5
    assert report["sections"] == [orders]
    assert report["summary"] == "Weekly: 4 orders completed, revenue 120.50, 1 sections"
    assert "Orders completed: 4" in report["text"]
