"""HTTP requests and responses converted exactly as the Functions host and the Python
worker convert them, so an HTTP function sees on devhost what it sees in Azure.

Request (host `GrpcMessageConversionExtensions.ToRpcHttp`, worker `datumdef.py`): header
names lower-cased and repeated values joined with `,`; query keys case-insensitive,
repeated values joined with `,`, empty values dropped; the body always as bytes (the
worker asks for `RawHttpBodyBytes`), handed to `azure.functions.http.HttpRequestConverter`,
whose `get_json()` raises `ValueError('HTTP request does not contain valid JSON data')`.

Response (`HttpResponseConverter.encode`, host `HttpBinding.CreateResult`,
`RawScriptResult`): an `HttpResponse` keeps its status, headers and body, `Set-Cookie`
values re-issued one per cookie in ASP.NET's format; a `str` is read as JSON first, as the
host does (a JSON object with a `body` key is a response object; other JSON is rendered
by Json.NET), else sent as `text/plain`; any other return value fails the invocation.
"""

from __future__ import annotations

import json
import re
from email.utils import format_datetime, parsedate_to_datetime
from http.cookies import Morsel
from typing import Any
from urllib.parse import quote, unquote

import azure.functions as func
from aiohttp import web
from azure.functions import meta
from azure.functions.http import HttpRequestConverter, HttpResponseConverter
from multidict import CIMultiDict, MultiMapping

from ..invoker import UNSET_RESPONSE

_TEXT = "text/plain; charset=utf-8"


def _joined(pairs: MultiMapping[str], *, lower: bool, drop_empty: bool) -> dict[str, str]:
    """ASP.NET's `StringValues.ToString()`: every value of a name joined with `,`, names
    compared case-insensitively (the first spelling kept, or lower-cased)."""
    grouped: dict[str, list[str]] = {}
    spelled: dict[str, str] = {}
    for name, value in pairs.items():
        key = name.lower()
        spelled.setdefault(key, key if lower else name)
        grouped.setdefault(key, []).append(value)
    joined = {spelled[key]: ",".join(values) for key, values in grouped.items()}
    return {name: value for name, value in joined.items() if value or not drop_empty}


_ENCODED_SLASH = re.compile("%2f", re.IGNORECASE)
# What `PathString.ToUriComponent` leaves as it is in a path segment.
_PATH_SAFE = ":@!$&'()*+,;=~-._"


def routed_path(request: web.Request) -> str:
    """The path as ASP.NET (Kestrel) holds it: percent-decoded except `%2F`, so `a%2Fb`
    stays one segment; routes are matched against this."""
    raw = request.raw_path.partition("?")[0]
    return "%2F".join(unquote(part) for part in _ENCODED_SLASH.split(raw))


def worker_url(request: web.Request) -> str:
    """`{scheme}://{Host header}{path}{raw query}`, the URL the host rebuilds."""
    path = "%2F".join(quote(part, safe="/" + _PATH_SAFE) for part in routed_path(request).split("%2F"))
    query = request.raw_path.partition("?")[2]
    return f"{request.scheme}://{request.host}{path}" + (f"?{query}" if query else "")


def worker_request(request: web.Request, route_params: dict[str, str], body: bytes) -> func.HttpRequest:
    """The `HttpRequest` the worker hands the function, built by the library's converter."""

    def text(value: str) -> meta.Datum:
        return meta.Datum(value, "string")

    headers = _joined(request.headers, lower=True, drop_empty=False)
    query = _joined(request.query, lower=False, drop_empty=True)
    datum = meta.Datum(
        {
            "method": text(request.method),
            "url": text(worker_url(request)),
            "headers": {name: text(value) for name, value in headers.items()},
            "query": {name: text(value) for name, value in query.items()},
            "params": {name: text(value) for name, value in route_params.items()},
            "body": meta.Datum(body, "bytes"),
        },
        "http",
    )
    request_object: func.HttpRequest = HttpRequestConverter.decode(datum, trigger_metadata={})
    return request_object


def host_response(result: Any) -> web.Response:
    """What the host answers for the function's return value. Raises the worker's
    TypeError (`bindings/meta.py::get_datum`) for a value it cannot encode, which fails
    the invocation as if the function had raised."""
    if isinstance(result, str):
        return _string_result(result)
    if result is UNSET_RESPONSE:
        return web.Response(status=204)
    try:
        encoded = HttpResponseConverter.encode(result, expected_type=None)
    except NotImplementedError:
        raise TypeError(
            "unable to encode outgoing TypedData: unsupported type "
            f'"{HttpResponseConverter}" for Python type "{type(result).__name__}"'
        ) from None
    value = encoded.value
    headers: CIMultiDict[str] = CIMultiDict()
    content_type: str | None = None
    for name, header in value["headers"].items():
        if name.lower() == "content-type":
            content_type = header.value
        elif name not in headers:  # the host keeps the first of names equal but for case
            headers[name] = header.value
    for cookie in value["cookies"] or []:
        for morsel in cookie.values():
            headers.add("Set-Cookie", _aspnet_cookie(morsel))
    if content_type is not None:
        headers["Content-Type"] = content_type
    return web.Response(status=_status_code(int(value["status_code"].value)), body=value["body"].value, headers=headers)


def _status_code(code: int) -> int:
    """ASP.NET refuses a status outside 100-999 when the response is written (a 500)."""
    if not 100 <= code <= 999:
        raise ValueError(f"The response's status code {code} is not between 100 and 999.")
    return code


def _string_result(text: str) -> web.Response:
    """Host `HttpBinding.CreateResult`: the string is parsed as JSON when it is JSON."""
    try:
        parsed = json.loads(text)
    except ValueError:
        return web.Response(body=text.encode("utf-8"), headers={"Content-Type": _TEXT})
    if isinstance(parsed, dict):
        fields = {key.lower(): item for key, item in parsed.items()}
        if "body" in fields:
            return _response_object(fields)
    return web.Response(body=_json_net_text(parsed).encode("utf-8"), headers={"Content-Type": _TEXT})


def _response_object(fields: dict[str, Any]) -> web.Response:
    """Host `ParseResponseObject`: `body`, `headers`, `statusCode` or `status`."""
    status = 200
    for name in ("statuscode", "status"):
        candidate = fields.get(name)
        if isinstance(candidate, bool):
            continue  # a JSON boolean is no number to .NET
        if isinstance(candidate, int) or (isinstance(candidate, str) and candidate.isascii() and candidate.isdigit()):
            status = _status_code(int(candidate))
            break
    headers: CIMultiDict[str] = CIMultiDict()
    given = fields.get("headers")
    if isinstance(given, dict):
        for name, header in given.items():
            if name not in headers:
                headers[name] = header if isinstance(header, str) else _json_net_text(header)
    body = fields["body"]
    if isinstance(body, (dict, list)):
        payload = json.dumps(body, separators=(",", ":"), ensure_ascii=False)
        headers.setdefault("Content-Type", "application/json; charset=utf-8")
    else:
        payload = _json_net_text(body)
        content_type = headers.get("Content-Type")
        if content_type is None:
            headers["Content-Type"] = _TEXT
        elif "charset" not in content_type.lower():
            headers["Content-Type"] = f"{content_type}; charset=utf-8"
    return web.Response(status=status, body=payload.encode("utf-8"), headers=headers)


def _json_net_text(value: Any) -> str:
    """`JToken.ToString()`: objects and arrays indented by two spaces, strings bare,
    booleans as .NET writes them, null as nothing."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, str):
        return value
    if isinstance(value, (dict, list)):
        return json.dumps(value, indent=2, ensure_ascii=False)
    return json.dumps(value)


def _aspnet_cookie(morsel: Morsel[str]) -> str:
    """`Response.Cookies.Append` as the host calls it for each cookie the worker sends:
    the value escaped, attributes in ASP.NET's order and spelling, and `domain`/`path`
    always present because the worker sends them, empty when unset."""
    parts = [f"{morsel.key}={quote(morsel.value, safe='')}"]
    if morsel["expires"]:
        parts.append(f"expires={format_datetime(parsedate_to_datetime(morsel['expires']), usegmt=True)}")
    if morsel["max-age"]:
        parts.append(f"max-age={int(float(morsel['max-age']))}")
    parts.append(f"domain={morsel['domain']}")
    parts.append(f"path={morsel['path']}")
    if morsel["secure"]:
        parts.append("secure")
    same_site = str(morsel["samesite"] or "").lower()
    if same_site in ("lax", "strict", "none"):
        parts.append(f"samesite={same_site}")
    if morsel["httponly"]:
        parts.append("httponly")
    return "; ".join(parts)
