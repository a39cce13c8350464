"""The welcome page at `/` and the dashboard under `/devhost/dashboard/`.

`/` is the Functions host's home page: served only when none of the app's routes takes
the request (with `routePrefix` "" an app can own `/`, and then it wins). The dashboard
is an aiohttp sub-application under a path no app route reaches, whatever the prefix; its
own middleware turns every error into a page, while the rest of the host keeps
answering JSON.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from aiohttp import web

from ..catalog import ListedFunction, listed_functions
from ..engine.management import Management
from ..errors import DevhostError, StorageUnavailable
from ..http import functions
from ..http.keys import ENGINE, FUNCTION_ROUTES, MANAGEMENT, ROUTE_PREFIX, STORAGE, TRIGGERS, URLS
from ..http.urls import WEBHOOK_PATH
from ..protocol import OrchestrationStatus
from ..stores.base import InstanceQuery
from . import clock, entities, instances
from .render import DASHBOARD_PATH, STATIC, STATIC_PATH, error_page, render

logger = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# Counts stop past this many instances of one status ("1000+"), read in at most this
# many pages: a refresh costs a few storage calls per status, never a scan of the hub.
COUNT_LIMIT = 1000
COUNT_PAGES = 5

# Statuses in the order a person scans them: what runs, then how things ended.
STATUS_ORDER = (
    OrchestrationStatus.PENDING,
    OrchestrationStatus.RUNNING,
    OrchestrationStatus.SUSPENDED,
    OrchestrationStatus.COMPLETED,
    OrchestrationStatus.FAILED,
    OrchestrationStatus.TERMINATED,
    OrchestrationStatus.CONTINUED_AS_NEW,
    OrchestrationStatus.CANCELED,
)

_TRIGGER_KINDS = {
    "httpTrigger": "HTTP",
    "orchestrationTrigger": "orchestrator",
    "activityTrigger": "activity",
    "entityTrigger": "entity",
    "timerTrigger": "timer",
    "queueTrigger": "queue",
    "blobTrigger": "blob",
}

_STORAGE_LABELS = {
    "memory": "memory: in this process, gone when devhost stops",
    "azurite": "Azure Storage (azurite): the tables, queues and blobs of the task hub",
}


def add_routes(app: web.Application) -> None:
    """Before the app's catch-all route. A page of the dashboard adds its routes to
    `dashboard` here, before `add_subapp` freezes it, and its entry to `render.NAV`."""
    app.router.add_route("*", "/", welcome)
    app.router.add_get(DASHBOARD_PATH, _to_dashboard)
    app.router.add_static(STATIC_PATH, STATIC)
    dashboard = web.Application(middlewares=[_pages_for_errors])
    dashboard.router.add_get("/", overview)
    instances.add_routes(dashboard)
    entities.add_routes(dashboard)
    clock.add_routes(dashboard)
    app.add_subapp(DASHBOARD_PATH, dashboard)


@dataclass(frozen=True)
class FunctionRow:
    function: ListedFunction
    kind: str
    # Set for a trigger devhost does not run: how to call it by hand.
    by_hand: str | None = None

    @property
    def link(self) -> str | None:
        """A URL a click can open: a GET route without parameters."""
        url = self.function.url
        if url is None or "GET" not in self.function.methods or "{" in url:
            return None
        return url


@dataclass(frozen=True)
class HostFacts:
    """What the welcome page and the overview say about the running host."""

    app_dir: Path
    hub: str
    storage: str
    virtual_clock: bool
    now: datetime
    webhook_base: str
    functions: list[FunctionRow]

    @property
    def storage_label(self) -> str:
        return _STORAGE_LABELS.get(self.storage, self.storage)


@dataclass(frozen=True)
class StatusCount:
    status: str
    found: int
    complete: bool  # False: at least `found`; the count stopped before the end

    @property
    def label(self) -> str:
        return f"{self.found}" if self.complete else f"{self.found}+"


def _origin(request: web.Request) -> str:
    """The origin the caller used (its Host header passed the guard), so links and URLs
    work from the browser that asked, as ext builds its management URLs."""
    return f"{request.scheme}://{request.host}" if request.host else request.config_dict[URLS].origin


def host_facts(request: web.Request) -> HostFacts:
    config = request.config_dict
    engine = config[ENGINE]
    origin = _origin(request)
    unhosted = {info.name for info in config[TRIGGERS].unhosted}
    rows = [
        FunctionRow(
            function,
            _TRIGGER_KINDS.get(function.trigger_type, function.trigger_type),
            f"POST {origin}/admin/functions/{function.name}" if function.name in unhosted else None,
        )
        for function in listed_functions(engine.index, origin, config[ROUTE_PREFIX])
    ]
    return HostFacts(
        app_dir=engine.index.app_dir,
        hub=config[URLS].hub,
        storage=config[STORAGE],
        virtual_clock=engine.clock.is_virtual,
        now=engine.clock.now(),
        webhook_base=f"{origin}{WEBHOOK_PATH}",
        functions=rows,
    )


async def status_counts(management: Management) -> list[StatusCount]:
    """Orchestration instances per runtime status (entities are not counted), one
    bounded query per status through `Management`, as the HTTP API's list filters."""

    async def one(status: OrchestrationStatus) -> StatusCount:
        query = InstanceQuery(statuses=frozenset({status}))
        found, complete = await management.count(query, most=COUNT_LIMIT, pages=COUNT_PAGES)
        return StatusCount(status.api_name, found, complete)

    return list(await asyncio.gather(*(one(status) for status in STATUS_ORDER)))


def _homepage_disabled() -> bool:
    """The app setting `AzureWebJobsDisableHomepage` (local.settings.json Values are in
    the environment), read per request as the host's `HomepageMiddleware` reads it."""
    # The host's name for it, mixed case as Azure spells it (Linux environments keep case).
    return os.environ.get("AzureWebJobsDisableHomepage", "").strip().lower() == "true"  # noqa: SIM112


async def welcome(request: web.Request) -> web.StreamResponse:
    """The host's `HomepageMiddleware`: a request for `/` (any method) that no function
    handled gets the home page, or 204 with `AzureWebJobsDisableHomepage` true."""
    app = request.app
    if not app[ROUTE_PREFIX]:
        route, _, _ = app[FUNCTION_ROUTES].match(request.method, "/")
        if route is not None:
            return await functions.handle(request)
    if _homepage_disabled():
        return web.Response(status=204)
    return render(request, "welcome.html", host=host_facts(request))


async def _to_dashboard(request: web.Request) -> web.StreamResponse:
    raise web.HTTPPermanentRedirect(f"{DASHBOARD_PATH}/")


async def overview(request: web.Request) -> web.Response:
    """Counts per status and the host's facts; storage trouble leaves the facts and says
    why the counts are missing (503, as the HTTP API answers then)."""
    counts: list[StatusCount] | None = None
    problem: str | None = None
    try:
        counts = await status_counts(request.config_dict[MANAGEMENT])
    except StorageUnavailable as error:
        problem = error.message
    return render(
        request,
        "overview.html",
        status=200 if problem is None else 503,
        host=host_facts(request),
        counts=counts,
        total=_total(counts) if counts is not None else None,
        count_limit=COUNT_LIMIT,
        problem=problem,
    )


def _total(counts: list[StatusCount]) -> StatusCount:
    return StatusCount("Total", sum(count.found for count in counts), all(count.complete for count in counts))


@web.middleware
async def _pages_for_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The dashboard's one error handler: a page with the message in place of the one
    asked for, never a traceback (anything unexpected is logged once, as in `http/app.py`)."""
    try:
        return await handler(request)
    except DevhostError as error:
        return error_page(request, error.status, error.message)
    except web.HTTPException as error:
        if error.status < 400:
            raise
        if error.status == 404:
            return error_page(request, 404, f"There is no dashboard page at {request.path}.")
        return error_page(request, error.status, error.reason)
    except Exception:
        logger.exception("Unhandled error serving %s %s", request.method, request.path)
        return error_page(request, 500, "The dashboard failed to show this page; see the host's console.")
