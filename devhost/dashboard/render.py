"""Pages in the dashboard's one shell (`templates/base.html`): header, navigation, main.

Everything a page shows may come from user code (function names, routes, instance ids,
payloads), so the Jinja2 environment escapes every value in every template, and pages
answer with a Content-Security-Policy that runs no inline script or style: a value that
slipped past escaping still could not act. Later pages add themselves to `NAV` and
render through `render`, so the shell stays the same everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web

DASHBOARD_PATH = "/devhost/dashboard"
INSTANCES_PATH = f"{DASHBOARD_PATH}/instances"
# A page's table is filled from at most this many reads of the store (`Management.list`'s
# and `entities`' `pages`), however many rows the hub holds: one read unless the store
# answered short (rows a filter dropped, a real table's partition boundaries, deleted
# entities), and then a page that shows what it found and links on.
STORE_READS = 5
STATIC_PATH = "/devhost/static"
TEMPLATES = Path(__file__).with_name("templates")
STATIC = Path(__file__).with_name("static")

# Scripts and styles only from `/devhost/static` (no inline ones, no other origin), no
# framing by other pages, forms posting only back to this host.
_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    # State changes all the time (instances run, the clock moves): never a stale page.
    "Cache-Control": "no-store",
}


@dataclass(frozen=True)
class NavItem:
    label: str
    href: str
    # Current only on its own page (the overview, the dashboard's root); otherwise also
    # on the pages below it (`/instances/abc` under `/instances`).
    exact: bool = False

    def is_current(self, path: str) -> bool:
        if self.exact:
            return path == self.href
        return path == self.href or path.startswith(self.href.rstrip("/") + "/")


# The dashboard's sections, in the header of every page.
NAV: list[NavItem] = [
    NavItem("Overview", f"{DASHBOARD_PATH}/", exact=True),
    NavItem("Instances", f"{INSTANCES_PATH}/"),
    NavItem("Entities", f"{DASHBOARD_PATH}/entities/"),
    NavItem("Clock", f"{DASHBOARD_PATH}/clock", exact=True),
]


def moment(value: datetime | None) -> str:
    """`2024-05-01 10:00:00 UTC`: what a person reads (the `<time>` element carries the
    machine form, `iso_moment`)."""
    if value is None:
        return ""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def iso_moment(value: datetime | None) -> str:
    """`2024-05-01T10:00:00.123Z`, as the console prints times."""
    if value is None:
        return ""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def status_class(status: str) -> str:
    """`status-continuedasnew`: the CSS class that colours a runtime status's badge."""
    return "status-" + "".join(c for c in status.lower() if c.isalnum())


_environment = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES),
    # Every template, whatever its name: there is no page whose values may go unescaped.
    autoescape=True,
    # A misspelt name fails the test that renders the page instead of showing nothing.
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_environment.filters.update(moment=moment, iso_moment=iso_moment, status_class=status_class)
_environment.globals.update(nav=NAV, dashboard_url=f"{DASHBOARD_PATH}/", static_url=STATIC_PATH)


def render(request: web.Request, template: str, *, status: int = 200, **context: Any) -> web.Response:
    """`template` in the shell; `request_path` marks the current section in the nav."""
    html = _environment.get_template(template).render(request_path=request.path, **context)
    return web.Response(text=html, status=status, content_type="text/html", headers=_HEADERS)


def error_page(request: web.Request, status: int, message: str) -> web.Response:
    """A page that says what went wrong, in the shell, with the status it is about."""
    return render(request, "error.html", status=status, code=status, message=message)
