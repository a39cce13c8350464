"""Take the README's screenshots of the dashboard: this project's function app on
devhost, a few instances of its patterns, each main view in Chromium.

    .venv/bin/python scripts/screenshots.py            # writes docs/images/*.png

It starts its own Azurite on free ports (the app's activities keep blobs) and devhost
on the system clock, as `make start` runs it (then a second one with a virtual clock
for the Clock page), drives the app through its HTTP routes as a client would, and
launches the same system Chromium as the browser tests (`CHROMIUM`, Debian's by
default). Nothing leaves loopback.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from devhost.azurite import AzuriteProcess  # noqa: E402
from devhost.testing import DurableHost  # noqa: E402
from tests.support.browser import chromium, new_page  # noqa: E402

IMAGES = ROOT / "docs" / "images"
VIEWPORT = {"width": 1440, "height": 900}


def _order(order_id: str, simulate: str) -> dict[str, Any]:
    return {
        "order_id": order_id,
        "customer": {"id": "c-1", "email": "ada@example.com"},
        "items": [{"sku": "BOOK-001", "quantity": 2, "unit_price": 12.5}],
        "payment": {"card": "4242424242424242", "simulate": simulate},
    }


async def _start(http: aiohttp.ClientSession, host: DurableHost, name: str, body: Any) -> str:
    async with http.post(f"{host.base_url}/api/orchestrators/{name}", json=body) as response:
        response.raise_for_status()
        return str((await response.json())["id"])


async def _populate(host: DurableHost) -> dict[str, str]:
    """Two orders (one paid, one declined and compensated), a report that reports its
    progress, an approval waiting for a person, and a counter entity."""
    async with aiohttp.ClientSession() as http:
        shown = {
            "order": await _start(http, host, "process_order", _order("A-1001", "approve")),
            "declined": await _start(http, host, "process_order", _order("A-1002", "decline")),
            "report": await _start(http, host, "generate_report", {"title": "Weekly sales", "pace_seconds": 0.3}),
            "approval": await _start(http, host, "approval_workflow", {"request_id": "R-7", "description": "New laptop"}),
        }
        for name in ("order", "declined", "report"):
            await host.wait(shown[name])
        async with http.post(f"{host.base_url}/api/counters/visits/add", json=3) as response:
            response.raise_for_status()
        await host.settle()
    return shown


async def _shoot(host: DurableHost, shown: dict[str, str]) -> None:
    views = {
        "welcome": "/",
        "instances": "/devhost/dashboard/instances/",
        "instance": f"/devhost/dashboard/instances/{shown['order']}",
        "report": f"/devhost/dashboard/instances/{shown['report']}",
        "entities": "/devhost/dashboard/entities/",
    }
    IMAGES.mkdir(parents=True, exist_ok=True)
    async with chromium() as browser:
        page, _ = await new_page(browser)
        await page.set_viewport_size(VIEWPORT)
        for name, path in views.items():
            await page.goto(f"{host.base_url}{path}")
            await page.screenshot(path=str(IMAGES / f"{name}.png"), full_page=False)
            print(f"docs/images/{name}.png")


async def _shoot_the_clock() -> None:
    """The Clock page after moving a virtual clock past an approval's 72-hour timeout."""
    async with DurableHost(ROOT) as host:
        async with aiohttp.ClientSession() as http:
            await _start(http, host, "approval_workflow", {"request_id": "R-8", "description": "Conference trip"})
        await host.settle()
        async with chromium() as browser:
            page, _ = await new_page(browser)
            await page.set_viewport_size(VIEWPORT)
            await page.goto(f"{host.base_url}/devhost/dashboard/clock")
            await page.get_by_label("Move by").fill("3")
            await page.get_by_label("Unit").select_option("days")
            await page.get_by_role("button", name="Advance").click()
            await page.wait_for_url("**advance=**")
            await page.screenshot(path=str(IMAGES / "clock.png"), full_page=False)
            print("docs/images/clock.png")


async def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        azurite = AzuriteProcess.on_free_ports(Path(scratch)).start()
        os.environ["AzureWebJobsStorage"] = azurite.connection_string
        try:
            async with DurableHost(
                ROOT, storage="azurite", connection=azurite.connection_string, virtual_clock=False
            ) as host:
                await _shoot(host, await _populate(host))
            await _shoot_the_clock()
        finally:
            azurite.stop()


if __name__ == "__main__":
    asyncio.run(main())
