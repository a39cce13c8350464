"""`/admin/functions/{name}`: calling a function by hand, as the host's admin API does
(host `FunctionsController.Invoke`): the body `{"input": "..."}` goes to the function's
trigger as a string, the call runs in the background, and the answer is 202 at once.
This is how a function whose trigger devhost does not run (Service Bus, Event Hubs) is
exercised locally; a timer's function runs now, a queue function gets the input as the
message. Unknown names answer 404, a body that is not such an object 400.
"""

from __future__ import annotations

import json

from aiohttp import web

from ..errors import BadRequest
from .keys import TRIGGERS
from .queries import json_value


def add_routes(app: web.Application) -> None:
    app.router.add_post("/admin/functions/{name}", invoke)


async def invoke(request: web.Request) -> web.Response:
    body = json_value(await request.read() or b"null")
    if not isinstance(body, dict):
        raise BadRequest('Body must be a JSON object: {"input": "<the trigger\'s input as a string>"}.')
    value = body.get("input")
    if isinstance(value, (dict, list)):
        raise BadRequest('"input" must be a string (a JSON document goes as its text).')
    text = value if isinstance(value, str) or value is None else json.dumps(value)
    request.app[TRIGGERS].call_by_hand(request.match_info["name"], text)
    return web.Response(status=202)
