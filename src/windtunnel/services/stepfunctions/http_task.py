"""The HTTP Task (``arn:aws:states:::http:invoke``): an HTTPS API call through a connection.

The EventBridge connection named in ``Authentication.ConnectionArn`` adds its
authorization and its header, query string and body parameters. The result has the
response's ``Headers``, ``ResponseBody`` (parsed when it is JSON), ``StatusCode`` and
``StatusText``; a status outside 2xx fails the task with ``States.Http.StatusCode.{code}``.
windtunnel sends these requests only to loopback hosts, so tests point the endpoint at a
local server (or mock the state).
https://docs.aws.amazon.com/step-functions/latest/dg/call-https-apis.html
"""

from __future__ import annotations

import datetime
import http.client
import json
import urllib.parse
from typing import Any

from windtunnel.services.stepfunctions.asl.errors import StatesError
from windtunnel.services.stepfunctions.asl.json_text import to_json

__all__ = ["invoke_http"]

# Connection failures of an HTTP Task.
SOCKET_ERROR = "States.Http.Socket"
_METHODS = frozenset({"GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"})
_ARRAY_FORMATS = frozenset({"INDICES", "REPEAT", "COMMAS", "BRACKETS"})


def invoke_http(arguments: Any, *, region: str, now: datetime.datetime) -> dict[str, Any]:
    """Send the request an HTTP Task's arguments describe and return the task's result."""
    from windtunnel.services.events.targets.api_destinations import (
        connection_request_parts,
        send_loopback_request,
    )
    from windtunnel.services.events.targets.attempt import DeliveryFailure

    if not isinstance(arguments, dict):
        raise StatesError("States.Runtime", f"The parameters of an HTTP Task must be a JSON "
                                            f"object, not {to_json(arguments)}")
    endpoint = _text(arguments, "ApiEndpoint")
    method = _text(arguments, "Method").upper()
    if method not in _METHODS:
        raise StatesError("States.Runtime", f"The HTTP Task's Method {method!r} is not one "
                                            f"of {', '.join(sorted(_METHODS))}")
    connection_arn = _text(arguments.get("Authentication") or {}, "ConnectionArn",
                           "Authentication.ConnectionArn")

    try:
        connection_headers, connection_query, connection_body = connection_request_parts(
            connection_arn, now)
    except DeliveryFailure as failure:
        raise StatesError("States.Runtime", failure.message) from None

    headers = {"User-Agent": f"Amazon|StepFunctions|HttpInvoke|{region}",
               "Range": "bytes=0-262144"}
    headers.update({str(key): str(value)
                    for key, value in (arguments.get("Headers") or {}).items()})
    # The connection's parameters win over the task's for the same key.
    headers.update(connection_headers)
    query = {str(key): value for key, value in (arguments.get("QueryParameters") or {}).items()}
    query.update(connection_query)
    body = _body(arguments, connection_body, headers)

    parts = urllib.parse.urlsplit(endpoint)
    existing = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    query_text = urllib.parse.urlencode(existing + [(key, _scalar(value))
                                                    for key, value in query.items()])
    url = urllib.parse.urlunsplit(parts._replace(query=query_text))
    try:
        reply = send_loopback_request(method, url, headers, body, "HTTP Task endpoint")
    except DeliveryFailure as failure:
        raise StatesError(SOCKET_ERROR, failure.message) from None

    result = {
        "Headers": _headers(reply.headers),
        "ResponseBody": _response_body(reply.body, reply.headers),
        "StatusCode": reply.status,
        "StatusText": http.client.responses.get(reply.status, ""),
    }
    if not 200 <= reply.status < 300:
        # NOTE: the cause is the result as JSON; AWS documents the error name
        # (States.Http.StatusCode.NNN) but not the cause's text.
        raise StatesError(f"States.Http.StatusCode.{reply.status}", to_json(result))
    return result


def _text(arguments: Any, name: str, shown: str | None = None) -> str:
    value = arguments.get(name) if isinstance(arguments, dict) else None
    if not isinstance(value, str) or not value:
        raise StatesError("States.Runtime", f"The HTTP Task needs {shown or name}, a "
                                            f"non-empty string")
    return value


def _scalar(value: Any) -> str:
    return value if isinstance(value, str) else to_json(value)


def _body(arguments: dict[str, Any], connection_body: dict[str, str],
          headers: dict[str, str]) -> bytes:
    """Encode the request body: JSON by default, URL-encoded when the Transform asks."""
    if "RequestBody" not in arguments and not connection_body:
        return b""
    body = arguments.get("RequestBody")
    if isinstance(body, dict):
        body = {**body, **connection_body}
    transform = arguments.get("Transform") or {}
    if transform.get("RequestBodyEncoding") == "URL_ENCODED":
        options = transform.get("RequestEncodingOptions") or {}
        array_format = str(options.get("ArrayFormat", "INDICES"))
        if array_format not in _ARRAY_FORMATS:
            raise StatesError("States.Runtime", f"ArrayFormat {array_format!r} is not one of "
                                                f"{', '.join(sorted(_ARRAY_FORMATS))}")
        _set_default(headers, "Content-Type", "application/x-www-form-urlencoded")
        return urllib.parse.urlencode(_form_pairs(body or {}, array_format)).encode()
    if isinstance(body, str):
        return body.encode()
    _set_default(headers, "Content-Type", "application/json; charset=UTF-8")
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def _set_default(headers: dict[str, str], name: str, value: str) -> None:
    if not any(key.lower() == name.lower() for key in headers):
        headers[name] = value


def _form_pairs(body: Any, array_format: str) -> list[tuple[str, str]]:
    """Flatten a JSON object into form fields, arrays as ``ArrayFormat`` says:
    INDICES ``a[0]=x``, REPEAT ``a=x&a=y``, COMMAS ``a=x,y``, BRACKETS ``a[]=x``."""
    pairs: list[tuple[str, str]] = []
    if not isinstance(body, dict):
        return [("", _scalar(body))]
    for key, value in body.items():
        if not isinstance(value, list):
            pairs.append((str(key), _scalar(value)))
        elif array_format == "COMMAS":
            pairs.append((str(key), ",".join(_scalar(item) for item in value)))
        elif array_format == "REPEAT":
            pairs.extend((str(key), _scalar(item)) for item in value)
        elif array_format == "BRACKETS":
            pairs.extend((f"{key}[]", _scalar(item)) for item in value)
        else:
            pairs.extend((f"{key}[{index}]", _scalar(item)) for index, item in enumerate(value))
    return pairs


def _headers(message: Any) -> dict[str, list[str]]:
    headers: dict[str, list[str]] = {}
    for name, value in message.items():
        headers.setdefault(str(name), []).append(str(value))
    return headers


def _response_body(body: bytes, headers: Any) -> Any:
    text = body.decode("utf-8", errors="replace")
    if "json" in str(headers.get("Content-Type", "")).lower():
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text
