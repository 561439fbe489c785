"""Delivery to API destinations: HTTP requests with a connection's authorization.

EventBridge sends the target's input to the API destination's endpoint with its HTTP
method. The target's ``HttpParameters`` fill the endpoint's ``*`` path wildcards in order
and add headers and query string parameters. The connection adds its own parameters,
which win over the target's. It also adds the authorization: an API key header, a Basic
``Authorization`` header, or an OAuth access token. EventBridge gets that token from the
authorization endpoint with the client ID and secret (client credentials grant):
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-api-destinations.html
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-target-connection-auth.html
https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_HttpParameters.html

Responses 429 and 5xx are retried, and a longer ``Retry-After`` delays the retry. With an
OAuth connection, 401 and 407 are retried too, with a new access token. Other statuses
are not retried. A request that takes longer than 5 seconds times out and is retried. At most
``InvocationRateLimitPerSecond`` requests go to a destination in any second of the
stack's clock; the others are throttled and retried.

windtunnel sends these requests only to loopback hosts (127.0.0.1, localhost, ::1).
Any other endpoint fails the delivery, so nothing leaves the machine.
"""

from __future__ import annotations

import base64
import datetime
import http.client
import json
import logging
import socket
import ssl
import threading
import urllib.parse
from collections import deque
from dataclasses import dataclass
from typing import Any

from windtunnel.services.events.targets.attempt import (
    Attempt,
    DeliveryFailure,
    DeliveryServices,
)

__all__ = [
    "LOOPBACK_HOSTS",
    "REQUEST_TIMEOUT",
    "HttpReply",
    "connection_request_parts",
    "reset",
    "send_loopback_request",
    "send_to_api_destination",
]

logger = logging.getLogger(__name__)

LOOPBACK_HOSTS = {"127.0.0.1": "127.0.0.1", "localhost": "127.0.0.1", "::1": "::1"}
"""The hosts requests may go to, with the address each connects to ("localhost" is not
looked up, so no resolver can point it elsewhere)."""

REQUEST_TIMEOUT = 5.0
"""Seconds EventBridge waits for an API destination's response."""

# The headers EventBridge adds to every request, from the API destinations page.
_EVENTBRIDGE_HEADERS = {
    "User-Agent": "Amazon/EventBridge/ApiDestinations",
    "Content-Type": "application/json; charset=utf-8",
    "Range": "bytes=0-1048575",
    "Accept-Encoding": "gzip,deflate",
    "Connection": "close",
}
_MAXIMUM_RESPONSE_BYTES = 1_048_576
# EventBridge refreshes an OAuth token that expires within 60 seconds before using it.
_TOKEN_REFRESH_MARGIN = datetime.timedelta(seconds=60)
_METHODS_WITHOUT_BODY = frozenset({"GET", "HEAD"})


@dataclass
class _AccessToken:
    value: str
    expires: datetime.datetime | None


@dataclass
class _Response:
    status: int
    headers: http.client.HTTPMessage
    body: bytes


_lock = threading.Lock()
# OAuth access tokens by connection ARN, and the times of recent requests by destination ARN.
_access_tokens: dict[str, _AccessToken] = {}
_recent_requests: dict[str, deque[datetime.datetime]] = {}


def reset() -> None:
    """Forget cached OAuth access tokens and the requests counted against rate limits."""
    with _lock:
        _access_tokens.clear()
        _recent_requests.clear()


def send_to_api_destination(attempt: Attempt, services: DeliveryServices) -> None:
    """Send the target's input to its API destination as one HTTP request."""
    destination = _find_destination(attempt.target_arn)
    connection = _find_connection(str(destination.connection_arn))
    method = str(destination.http_method).upper()
    url = _loopback_url(str(destination.invocation_endpoint), "endpoint")
    now = _now(services)
    # NOTE: the role in the target's RoleArn is not checked for events:InvokeApiDestination.

    parameters = attempt.target.get("HttpParameters") or {}
    connection_parameters = _connection_parameters(connection, "InvocationHttpParameters")
    path = _fill_path_wildcards(url.path or "/", parameters.get("PathParameterValues") or [])
    query = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
    query.update({str(key): str(value) for key, value in
                  (parameters.get("QueryStringParameters") or {}).items()})
    query.update(_pairs(connection_parameters.get("QueryStringParameters")))
    headers = dict(_EVENTBRIDGE_HEADERS)
    headers.update({str(key): str(value) for key, value in
                    (parameters.get("HeaderParameters") or {}).items()})
    headers.update(_pairs(connection_parameters.get("HeaderParameters")))
    headers.update(_authorization_headers(connection, now))
    body = b"" if method in _METHODS_WITHOUT_BODY else _body(
        attempt.payload, _pairs(connection_parameters.get("BodyParameters")))

    _count_against_rate_limit(destination, now)
    target = url._replace(path=path, query=urllib.parse.urlencode(query))
    response = _request(method, target, headers, body)
    logger.info("rule %s: %s %s://%s%s returned %d", attempt.rule_name, method, url.scheme,
                url.netloc, path, response.status)
    _check_response(response, connection, f"{method} {url.scheme}://{url.netloc}{path}")


# --- for other services' HTTP calls through connections (Step Functions' HTTP Task) ---------


HttpReply = _Response
"""An HTTP response: ``status``, ``headers`` and ``body``."""


def connection_request_parts(connection_arn: str, now: datetime.datetime
                             ) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """The headers (authorization included), query parameters and body parameters that
    the connection ``connection_arn`` adds to a request.

    Raises DeliveryFailure when the connection does not exist.
    """
    connection = _find_connection(connection_arn)
    parameters = _connection_parameters(connection, "InvocationHttpParameters")
    headers = _pairs(parameters.get("HeaderParameters"))
    headers.update(_authorization_headers(connection, now))
    return (headers, _pairs(parameters.get("QueryStringParameters")),
            _pairs(parameters.get("BodyParameters")))


def send_loopback_request(method: str, url: str, headers: dict[str, str], body: bytes,
                          what: str) -> HttpReply:
    """Send one HTTP request to a loopback host; DeliveryFailure for any other host."""
    return _request(method, _loopback_url(url, what), headers, body)


# --- the destination and its connection ---------------------------------------------------


def _find_destination(arn: str) -> Any:
    from moto.events.models import events_backends

    components = arn.split(":", 5)
    name = components[5].split("/")[1] if len(components) == 6 and "/" in components[5] \
        else ""
    destination = events_backends[components[4]][components[3]].destinations.get(name) \
        if name else None
    if destination is None or destination.arn != arn:
        raise DeliveryFailure("NO_RESOURCE", f"API destination {arn} does not exist",
                              retriable=False)
    return destination


def _find_connection(arn: str) -> Any:
    from moto.events.models import events_backends

    components = arn.split(":", 5)
    name = components[5].split("/")[1] if len(components) == 6 and "/" in components[5] \
        else ""
    connection = events_backends[components[4]][components[3]].connections.get(name) \
        if name else None
    if connection is None or connection.arn != arn:
        raise DeliveryFailure("NO_RESOURCE", f"connection {arn} does not exist",
                              retriable=False)
    return connection


def _connection_parameters(connection: Any, name: str) -> dict[str, Any]:
    auth = connection.auth_parameters or {}
    if name == "InvocationHttpParameters":
        return dict(auth.get(name) or {})
    return dict((auth.get("OAuthParameters") or {}).get(name) or {})


def _pairs(parameters: Any) -> dict[str, str]:
    """Turn a connection's ``[{"Key": ..., "Value": ...}]`` list into a dictionary."""
    return {str(item.get("Key")): str(item.get("Value", "")) for item in parameters or []}


def _fill_path_wildcards(path: str, values: list[Any]) -> str:
    filled: list[str] = []
    remaining = list(values)
    for segment in path.split("/"):
        if segment == "*" and remaining:
            segment = urllib.parse.quote(str(remaining.pop(0)), safe="")
        filled.append(segment)
    return "/".join(filled)


def _body(payload: str, body_parameters: dict[str, str]) -> bytes:
    if not body_parameters:
        return payload.encode()
    # NOTE: how EventBridge adds a connection's body parameters is not documented. Here
    # they are merged into a JSON object input and win over its keys. Other inputs are
    # sent unchanged.
    try:
        document = json.loads(payload)
    except ValueError:
        return payload.encode()
    if not isinstance(document, dict):
        return payload.encode()
    document.update(body_parameters)
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()


# --- authorization --------------------------------------------------------------------------


def _authorization_headers(connection: Any, now: datetime.datetime) -> dict[str, str]:
    auth = connection.auth_parameters or {}
    kind = str(connection.authorization_type)
    if kind == "API_KEY":
        key = auth.get("ApiKeyAuthParameters") or {}
        return {str(key.get("ApiKeyName")): str(key.get("ApiKeyValue", ""))}
    if kind == "BASIC":
        basic = auth.get("BasicAuthParameters") or {}
        return {"Authorization": "Basic " + _basic_credentials(
            str(basic.get("Username", "")), str(basic.get("Password", "")))}
    if kind == "OAUTH_CLIENT_CREDENTIALS":
        return {"Authorization": "Bearer " + _access_token(connection, now)}
    raise DeliveryFailure("INVALID_PARAMETER", f"connection {connection.arn} has the "
                          f"authorization type {kind}, which windtunnel does not emulate",
                          retriable=False)


def _basic_credentials(user: str, password: str) -> str:
    return base64.b64encode(f"{user}:{password}".encode()).decode()


def _access_token(connection: Any, now: datetime.datetime) -> str:
    """Return the connection's cached OAuth access token, or get a new one."""
    with _lock:
        cached = _access_tokens.get(str(connection.arn))
    if cached is not None and (cached.expires is None
                               or now < cached.expires - _TOKEN_REFRESH_MARGIN):
        return cached.value

    oauth = (connection.auth_parameters or {}).get("OAuthParameters") or {}
    client = oauth.get("ClientParameters") or {}
    endpoint = str(oauth.get("AuthorizationEndpoint", ""))
    url = _loopback_url(endpoint, "OAuth authorization endpoint")
    parameters = _connection_parameters(connection, "OAuthHttpParameters")
    method = str(oauth.get("HttpMethod", "POST")).upper()
    headers = {
        "Authorization": "Basic " + _basic_credentials(str(client.get("ClientID", "")),
                                                       str(client.get("ClientSecret", ""))),
        "Content-Type": "application/x-www-form-urlencoded",
        "User-Agent": _EVENTBRIDGE_HEADERS["User-Agent"],
    }
    headers.update(_pairs(parameters.get("HeaderParameters")))
    query = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
    query.update(_pairs(parameters.get("QueryStringParameters")))
    # NOTE: the encoding of the token request's body parameters is not documented; they
    # are sent form-encoded, as RFC 6749 section 4.4.2 specifies for token requests.
    body = b"" if method in _METHODS_WITHOUT_BODY else urllib.parse.urlencode(
        _pairs(parameters.get("BodyParameters"))).encode()
    response = _request(method, url._replace(query=urllib.parse.urlencode(query)), headers,
                        body)
    where = f"the OAuth authorization endpoint {url.scheme}://{url.netloc}{url.path}"
    if not 200 <= response.status < 300:
        raise DeliveryFailure("ERROR_FROM_TARGET", f"{where} returned HTTP {response.status}",
                              retriable=response.status == 429 or response.status >= 500)
    try:
        document = json.loads(response.body)
        value = str(document["access_token"])
        lifetime = document.get("expires_in")
    except (ValueError, KeyError, TypeError):
        raise DeliveryFailure("ERROR_FROM_TARGET", f"{where} returned no access_token in a "
                              f"JSON object", retriable=False) from None
    expires = None
    if isinstance(lifetime, int | float) and not isinstance(lifetime, bool):
        expires = now + datetime.timedelta(seconds=float(lifetime))
    with _lock:
        _access_tokens[str(connection.arn)] = _AccessToken(value, expires)
    return value


def _forget_access_token(connection: Any) -> None:
    with _lock:
        _access_tokens.pop(str(connection.arn), None)


# --- rate limit ---------------------------------------------------------------------------


def _count_against_rate_limit(destination: Any, now: datetime.datetime) -> None:
    limit = destination.invocation_rate_limit_per_second
    if limit in (None, ""):
        return
    window_start = now - datetime.timedelta(seconds=1)
    with _lock:
        recent = _recent_requests.setdefault(str(destination.arn), deque())
        while recent and recent[0] <= window_start:
            recent.popleft()
        if len(recent) >= int(limit):
            raise DeliveryFailure(
                "THROTTLING",
                f"API destination {destination.arn} allows {int(limit)} invocations per "
                f"second (InvocationRateLimitPerSecond); the event is delivered later",
                retriable=True)
        recent.append(now)


def _now(services: DeliveryServices) -> datetime.datetime:
    if services.clock is not None:
        return services.clock.now()
    return datetime.datetime.now(datetime.UTC)


# --- HTTP ---------------------------------------------------------------------------------


def _loopback_url(url: str, what: str) -> urllib.parse.SplitResult:
    """Split ``url``; raise unless it is HTTP(S) on a loopback host."""
    parts = urllib.parse.urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("http", "https") or host not in LOOPBACK_HOSTS:
        shown = f"{parts.scheme}://{parts.netloc}{parts.path}"
        raise DeliveryFailure(
            "CONNECTION_FAILURE",
            f"the {what} {shown} is on host {host or '(none)'}, but windtunnel sends "
            f"requests only to loopback hosts ({', '.join(LOOPBACK_HOSTS)}) over HTTP or "
            f"HTTPS; point the API destination at a local server",
            retriable=False)
    return parts


class _LoopbackHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to a loopback address, verifying the certificate for the URL's host name."""

    def __init__(self, address: str, server_name: str, port: int | None) -> None:
        super().__init__(server_name, port, timeout=REQUEST_TIMEOUT,
                         context=ssl.create_default_context())
        self._address = address
        self._server_name = server_name

    def connect(self) -> None:
        raw = socket.create_connection((self._address, self.port or 443), REQUEST_TIMEOUT)
        self.sock = self._context.wrap_socket(  # type: ignore[attr-defined]
            raw, server_hostname=self._server_name)


def _request(method: str, url: urllib.parse.SplitResult, headers: dict[str, str],
             body: bytes) -> _Response:
    host = (url.hostname or "").lower()
    address = LOOPBACK_HOSTS[host]
    connection: http.client.HTTPConnection
    if url.scheme == "https":
        connection = _LoopbackHTTPSConnection(address, host, url.port)
    else:
        connection = http.client.HTTPConnection(address, url.port, timeout=REQUEST_TIMEOUT)
    target = url.path or "/"
    if url.query:
        target += "?" + url.query
    headers = {**headers, "Host": url.netloc, "Content-Length": str(len(body))}
    try:
        connection.request(method, target, body=body, headers=headers)
        response = connection.getresponse()
        content = response.read(_MAXIMUM_RESPONSE_BYTES)
        return _Response(response.status, response.headers, content)
    except TimeoutError:
        raise DeliveryFailure("TIMEOUT", f"{method} {url.scheme}://{url.netloc}{url.path} "
                              f"did not respond within {REQUEST_TIMEOUT:g} seconds",
                              retriable=True) from None
    except (OSError, http.client.HTTPException) as error:
        raise DeliveryFailure("CONNECTION_FAILURE", f"{method} {url.scheme}://{url.netloc}"
                              f"{url.path} failed: {error}", retriable=True) from None
    finally:
        connection.close()


def _check_response(response: _Response, connection: Any, request: str) -> None:
    if 200 <= response.status < 300:
        return
    message = f"{request} returned HTTP {response.status}"
    oauth = str(connection.authorization_type) == "OAUTH_CLIENT_CREDENTIALS"
    if oauth and response.status in (401, 407):
        # EventBridge gets a new token on a 401 or 407 and uses it when it retries.
        _forget_access_token(connection)
        raise DeliveryFailure("ERROR_FROM_TARGET", message, retriable=True)
    if response.status == 429 or response.status >= 500:
        retry_after = _retry_after(response)
        if retry_after is not None and retry_after < 0:
            # A negative Retry-After stops the retries.
            raise DeliveryFailure("ERROR_FROM_TARGET", message, retriable=False)
        code = "THROTTLING" if response.status == 429 else "ERROR_FROM_TARGET"
        raise DeliveryFailure(code, message, retriable=True, retry_after=retry_after)
    raise DeliveryFailure("ERROR_FROM_TARGET", message, retriable=False)


def _retry_after(response: _Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return float(value.strip())
    except ValueError:
        # NOTE: a Retry-After given as an HTTP date is ignored.
        return None
