"""Activities of `generate_report`: build one section from the collected figures, render all.

Sections come from figures the orchestrator collected (the `Counter` entities) and the
catalog; each is its own activity so progress can be published between them.
"""

from typing import Any, Callable

import azure.durable_functions as df

from . import gateways
from .orders import CATALOG

bp = df.Blueprint()

Figures = dict[str, int]


def _orders(figures: Figures) -> list[str]:
    return [f"Orders completed: {figures['orders_completed']}"]


def _revenue(figures: Figures) -> list[str]:
    revenue = figures["revenue_cents"] / 100
    orders = figures["orders_completed"]
    average = revenue / orders if orders else 0.0
    return [f"Revenue: {revenue:.2f}", f"Average order value: {average:.2f}"]


def _inventory(figures: Figures) -> list[str]:
    return [f"{sku}: {units} in stock" for sku, units in sorted(CATALOG.items())]


def _shipping(figures: Figures) -> list[str]:
    return [f"Carrier: {gateways.CARRIER}", f"Orders shipped: {figures['orders_completed']}"]


SECTION_BUILDERS: dict[str, Callable[[Figures], list[str]]] = {
    "orders": _orders,
    "revenue": _revenue,
    "inventory": _inventory,
    "shipping": _shipping,
}


@bp.activity_trigger(input_name="request")
def build_report_section(request: dict[str, Any]) -> dict[str, Any]:
    """One section: `{"name", "heading", "lines"}`."""
    name = request["section"]
    return {
        "name": name,
        "heading": name.capitalize(),
        "lines": SECTION_BUILDERS[name](request["figures"]),
    }


@bp.activity_trigger(input_name="draft")
def render_report(draft: dict[str, Any]) -> dict[str, Any]:
    """The finished report: the draft plus a one-line summary and a plain-text rendering."""
    figures: Figures = draft["figures"]
    sections: list[dict[str, Any]] = draft["sections"]
    summary = (
        f"{draft['title']}: {figures['orders_completed']} orders completed, "
        f"revenue {figures['revenue_cents'] / 100:.2f}, {len(sections)} sections"
    )
    blocks = [f"{draft['title']}\n{'=' * len(draft['title'])}\nGenerated {draft['generated_at']}"]
    blocks += [
        "\n".join([section["heading"], "-" * len(section["heading"]), *section["lines"]])
        for section in sections
    ]
    return {
        "title": draft["title"],
        "generated_at": draft["generated_at"],
        "orders_completed": figures["orders_completed"],
        "revenue": figures["revenue_cents"] / 100,
        "sections": sections,
        "summary": summary,
        "text": "\n\n".join(blocks) + "\n",
    }
