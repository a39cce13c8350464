"""An app that owns `/`: host.json sets `routePrefix` to "" and `home` takes the route
`/` (an empty route would mean the function's name), so the Functions host runs it
instead of showing its home page. One more
function has HTML in its name, as nothing in the library forbids, for the pages that
list functions to show as text."""

from __future__ import annotations

import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)

HOSTILE_NAME = "<img src=x onerror=alert(1)>"


@app.route(route="/", methods=["GET"])
def home(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("the app's own home page", mimetype="text/plain")


@app.function_name(HOSTILE_NAME)
@app.route(route="hostile", methods=["GET"])
def hostile(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("named with HTML", mimetype="text/plain")
