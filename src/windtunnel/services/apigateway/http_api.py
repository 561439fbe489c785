"""Serve requests to HTTP APIs (API Gateway v2): stage and route selection, Lambda proxy.

Sources:
- Routes and route selection:
  https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-routes.html
- Lambda proxy events and responses (payload format 1.0 and 2.0):
  https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html

Limitations:
    Only Lambda proxy integrations (``AWS_PROXY``) are served. HTTP_PROXY, private and AWS
    service integrations, JWT, Lambda and IAM authorizers, CORS preflight responses,
    parameter mapping and custom domain names are not emulated. Repeated request headers
    reach the function joined with commas (the WSGI server joins them), so a 1.0 event's
    ``multiValueHeaders`` has one value for them.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote

from windtunnel.cloud.dataplane import DataPlaneRequest
from windtunnel.cloud.messages import AwsResponse
from windtunnel.cloud.protocols import AwsError
from windtunnel.services.apigateway.cors import add_cors_headers, preflight_response
from windtunnel.services.apigateway.iam_authorization import IamCaller, IamRejection, authorize_iam
from windtunnel.services.apigateway.jwt_authorizers import JwtRejection, authorize_jwt
from windtunnel.services.apigateway.lambda_authorizers import (
    AuthorizerRejection,
    run_http_lambda_authorizer,
)
from windtunnel.services.apigateway.permissions import execute_api_arn, gateway_may_invoke
from windtunnel.services.apigateway.throttling import admit, http_route_limit

if TYPE_CHECKING:
    from windtunnel.cloud.pipeline import Cloud
    from windtunnel.runtime.functions import LambdaRuntime

__all__ = ["handle_http_api"]

logger = logging.getLogger(__name__)

# An HTTP API waits at most 30 seconds for an integration unless it is set lower.
_INTEGRATION_TIMEOUT_MS = 30_000

DEFAULT_STAGE = "$default"
DEFAULT_ROUTE = "$default"

# The part of an API Gateway integration URI that names the Lambda function:
# arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{function ARN}/invocations
_FUNCTION_IN_URI = re.compile(r":lambda:path/[^/]+/functions/(?P<function>.+)/invocations$")
_STAGE_VARIABLE = re.compile(r"\$\{stageVariables\.(?P<name>[A-Za-z0-9_]+)\}")

# Content types whose bodies reach the function as text. Other bodies are base64-encoded.
# NOTE: AWS does not document which request bodies HTTP APIs base64-encode. This list is an
# estimate that covers JSON, XML, forms and text.
_TEXT_TYPES = ("text/", "application/json", "application/xml", "application/javascript",
               "application/x-www-form-urlencoded", "+json", "+xml")


@dataclass(frozen=True)
class _RouteMatch:
    route: Any
    """moto's route object (``route_key``, ``target``, ``authorization_type``, ...)."""
    path_parameters: dict[str, str]


@dataclass(frozen=True)
class _Request:
    """One request after stage selection, with what both payload formats need."""

    api_id: str
    account_id: str
    region: str
    stage: str
    stage_variables: dict[str, str]
    method: str
    raw_path: str
    """The URL-decoded path, the named stage included: HTTP APIs send ``rawPath`` so."""
    route_path: str
    """The path without the named stage: what routes are matched against."""
    raw_query: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    source_ip: str
    request_id: str
    epoch_ms: int


def handle_http_api(cloud: Cloud, functions: LambdaRuntime, api_id: str,
                    request: DataPlaneRequest, path: str) -> AwsResponse:
    """Serve a request to HTTP API ``api_id``, where ``path`` is the URL path after the API ID.

    A first path segment that names a stage other than ``$default`` selects that stage.
    Otherwise the request goes to the ``$default`` stage with the whole path. With a CORS
    configuration, preflight requests get a response and responses get its headers.
    """
    from moto.apigatewayv2.models import apigatewayv2_backends

    api = apigatewayv2_backends[cloud.account_id][cloud.region].apis[api_id]
    preflight = preflight_response(api, request, _new_request_id())
    if preflight is not None:
        return preflight
    response = _route_request(cloud, functions, api, api_id, request, path)
    add_cors_headers(api, request, response)
    return response


def _route_request(cloud: Cloud, functions: LambdaRuntime, api: Any, api_id: str,
                   request: DataPlaneRequest, path: str) -> AwsResponse:
    request_id = _new_request_id()

    # Stage selection: an explicit stage match first, then $default; without a $default
    # stage the API returns {"message":"Not Found"} (routes page, "Routing API requests").
    stage_name, route_path = _select_stage(api, path)
    if stage_name is None:
        return _error(404, "Not Found", request_id)
    stage = api.stages[stage_name]

    match = _select_route(api.routes.values(), request.method, route_path)
    if match is None:
        return _error(404, "Not Found", request_id)
    route = match.route
    # NOTE: AWS does not document whether route and account throttling come before or
    # after authorization; here a throttled request reaches no authorizer.
    if not admit(cloud, http_route_limit(api_id, stage, str(route.route_key))):
        return _error(429, "Too Many Requests", request_id)

    authorization_type = route.authorization_type or "NONE"
    caller: IamCaller | None = None
    jwt_context: dict[str, Any] | None = None
    if authorization_type == "AWS_IAM":
        method_arn = execute_api_arn(cloud, api_id, stage_name, request.method, route_path)
        outcome = authorize_iam(cloud, request, method_arn, None,
                                (f"/_aws/execute-api{request.path}", path))
        if isinstance(outcome, IamRejection):
            # NOTE: every IAM authorization failure of an HTTP API returns 403 Forbidden
            # here, as responses posted in AWS's forums show. AWS does not document
            # distinct messages for HTTP APIs, as it does for REST APIs.
            return _error(403, "Forbidden", request_id)
        caller = outcome
    elif authorization_type == "JWT":
        jwt_authorizer = api.authorizers.get(route.authorizer_id or "")
        if jwt_authorizer is None:
            return _error(500, "Internal Server Error", request_id)
        verdict = authorize_jwt(cloud, jwt_authorizer, route, request)
        if isinstance(verdict, JwtRejection):
            return _error(verdict.status, verdict.message, request_id)
        jwt_context = verdict
    elif authorization_type == "CUSTOM":
        if api.authorizers.get(route.authorizer_id or "") is None:
            return _error(500, "Internal Server Error", request_id)
    elif authorization_type != "NONE" or route.authorizer_id:
        # NOTE: authorizers are not emulated. A route that has one is never served, so no
        # request skips the check that AWS would make.
        return _windtunnel_error(
            f"Route {route.route_key!r} uses a {authorization_type} authorizer, which "
            f"windtunnel does not emulate. Remove the authorizer to call this route locally.",
            request_id)

    integration = _integration(api, route)
    if integration is None:
        return _windtunnel_error(
            f"Route {route.route_key!r} has no integration target (target "
            f"{route.target!r}).", request_id)
    if integration.integration_type != "AWS_PROXY":
        # NOTE: HTTP_PROXY, private (VPC link) and AWS service integrations are not emulated.
        return _windtunnel_error(
            f"Route {route.route_key!r} uses a {integration.integration_type} integration, "
            f"which windtunnel does not emulate; only Lambda proxy (AWS_PROXY) integrations "
            f"are served.", request_id)

    stage_variables = dict(stage.stage_variables or {})
    function = _function_from_uri(str(integration.integration_uri or ""), stage_variables)
    if function is None:
        return _windtunnel_error(
            f"Route {route.route_key!r} integrates with {integration.integration_uri!r}, "
            f"which is not a Lambda function ARN.", request_id)

    served = _Request(
        api_id=api_id, account_id=cloud.account_id, region=cloud.region, stage=stage_name,
        stage_variables=stage_variables, method=request.method.upper(),
        raw_path=unquote(path), route_path=route_path, raw_query=request.raw_query,
        headers=request.headers, body=request.body, source_ip=request.source_ip,
        request_id=request_id, epoch_ms=int(time.time() * 1000))
    version = str(integration.payload_format_version or "2.0")
    event = _event_v1(served, match) if version == "1.0" else _event_v2(served, match)
    if caller is not None:
        _add_iam_caller(event, caller, version)
    if authorization_type == "CUSTOM":
        lambda_authorizer = api.authorizers[route.authorizer_id]
        authorizer_version = str(lambda_authorizer.auth_payload_format_version or "2.0")
        request_event = event if authorizer_version == version else (
            _event_v1(served, match) if authorizer_version == "1.0"
            else _event_v2(served, match))
        route_arn = execute_api_arn(cloud, api_id, stage_name, request.method, route_path)
        allowed = run_http_lambda_authorizer(cloud, functions, api, lambda_authorizer,
                                             request, route_arn, request_event)
        if isinstance(allowed, AuthorizerRejection):
            return _error(allowed.status, str(allowed.body["message"]), request_id)
        event["requestContext"]["authorizer"] = (
            {"lambda": allowed} if version == "2.0" else allowed)
    if jwt_context is not None:
        event["requestContext"]["authorizer"] = (
            jwt_context if version == "2.0" else {"claims": jwt_context["jwt"]["claims"],
                                                   "scopes": jwt_context["jwt"]["scopes"]})

    name, qualifier = _split_qualifier(function)
    source_arn = execute_api_arn(cloud, api_id, stage_name, request.method, route_path)
    if not gateway_may_invoke(cloud, name, qualifier, source_arn,
                              getattr(integration, "credentials_arn", None),
                              caller.principal if caller is not None else None):
        return _error(500, "Internal Server Error", request_id)
    timeout_ms = int(getattr(integration, "timeout_in_millis", None) or _INTEGRATION_TIMEOUT_MS)
    return _invoke(functions, function, event, version, route.route_key, request_id,
                   timeout_ms)


# --- stage and route selection ---------------------------------------------------------------


def _select_stage(api: Any, path: str) -> tuple[str | None, str]:
    segments = path.lstrip("/").split("/", 1)
    first = unquote(segments[0])
    if first and first != DEFAULT_STAGE and first in api.stages:
        rest = segments[1] if len(segments) > 1 else ""
        return first, "/" + rest
    if DEFAULT_STAGE in api.stages:
        return DEFAULT_STAGE, path or "/"
    return None, path


def _select_route(routes: Any, method: str, path: str) -> _RouteMatch | None:
    """Return the most specific route for ``method`` and ``path``, or None.

    AWS picks a full match of route and method first, then a route with a greedy path
    variable, then ``$default``. Among candidates, windtunnel compares the paths part by
    part from the left (a literal part beats ``{param}``, which beats ``{proxy+}``), and
    then prefers a route with the request's method to an ``ANY`` route.
    """
    request_parts = [unquote(part) for part in path.strip("/").split("/") if part != ""]
    method = method.upper()
    best: tuple[tuple[int, ...], _RouteMatch] | None = None
    default: _RouteMatch | None = None

    for route in routes:
        route_key = str(route.route_key)
        if route_key == DEFAULT_ROUTE:
            default = _RouteMatch(route, {})
            continue
        route_method, _, route_path = route_key.partition(" ")
        if route_method != "ANY" and route_method.upper() != method:
            continue
        matched = _match_path(route_path, request_parts)
        if matched is None:
            continue
        ranks, parameters = matched
        # Higher tuples win: the part ranks, then 1 for an exact method over 0 for ANY.
        # NOTE: AWS does not document whether the method outranks path specificity (for
        # example ANY /items/1 against GET /items/{id}). Here the path decides first.
        score = (*ranks, 1 if route_method != "ANY" else 0)
        if best is None or score > best[0]:
            best = (score, _RouteMatch(route, parameters))

    if best is not None:
        return best[1]
    return default


# Rank of each kind of route path part; higher is more specific.
_LITERAL, _VARIABLE, _GREEDY = 3, 2, 1


def _match_path(route_path: str, request_parts: list[str]
                ) -> tuple[tuple[int, ...], dict[str, str]] | None:
    route_parts = [part for part in route_path.strip("/").split("/") if part != ""]
    ranks: list[int] = []
    parameters: dict[str, str] = {}

    for index, part in enumerate(route_parts):
        if part.startswith("{") and part.endswith("+}"):
            # A greedy variable takes one or more remaining parts and must come last.
            remaining = request_parts[index:]
            if not remaining or index != len(route_parts) - 1:
                return None
            parameters[part[1:-2]] = "/".join(remaining)
            ranks.append(_GREEDY)
            return tuple(ranks), parameters
        if index >= len(request_parts):
            return None
        if part.startswith("{") and part.endswith("}"):
            parameters[part[1:-1]] = request_parts[index]
            ranks.append(_VARIABLE)
        elif part == request_parts[index]:
            ranks.append(_LITERAL)
        else:
            return None

    if len(route_parts) != len(request_parts):
        return None
    return tuple(ranks), parameters


def _integration(api: Any, route: Any) -> Any:
    target = str(route.target or "")
    if not target.startswith("integrations/"):
        return None
    return api.integrations.get(target.removeprefix("integrations/"))


def _function_from_uri(uri: str, stage_variables: dict[str, str]) -> str | None:
    """Return the function ARN (possibly qualified) that an integration URI names."""
    uri = _STAGE_VARIABLE.sub(lambda found: stage_variables.get(found["name"], ""), uri)
    found = _FUNCTION_IN_URI.search(uri)
    if found is not None:
        return found["function"]
    # HTTP APIs also accept the function ARN itself as the integration URI.
    if uri.startswith("arn:") and ":lambda:" in uri and ":function:" in uri:
        return uri
    return None


# --- events ------------------------------------------------------------------------------


def _event_v2(request: _Request, match: _RouteMatch) -> dict[str, Any]:
    headers: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in request.headers:
        lowered = name.lower()
        if lowered == "cookie":
            cookies.extend(part.strip() for part in value.split(";") if part.strip())
            continue
        # Repeated headers are combined with commas (payload format differences).
        headers[lowered] = f"{headers[lowered]},{value}" if lowered in headers else value

    query: dict[str, str] = {}
    for key, value in parse_qsl(request.raw_query, keep_blank_values=True):
        query[key] = f"{query[key]},{value}" if key in query else value

    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": match.route.route_key,
        "rawPath": request.raw_path,
        "rawQueryString": request.raw_query,
    }
    # Fields with nothing to carry are left out of the event rather than set to null.
    if cookies:
        event["cookies"] = cookies
    event["headers"] = headers
    if query:
        event["queryStringParameters"] = query
    event["requestContext"] = {
        "accountId": request.account_id,
        "apiId": request.api_id,
        "domainName": _domain_name(request),
        "domainPrefix": request.api_id,
        "http": {
            "method": request.method,
            "path": request.raw_path,
            "protocol": "HTTP/1.1",
            "sourceIp": request.source_ip,
            "userAgent": headers.get("user-agent", ""),
        },
        "requestId": request.request_id,
        "routeKey": match.route.route_key,
        "stage": request.stage,
        "time": _request_time(request.epoch_ms),
        "timeEpoch": request.epoch_ms,
    }
    if match.path_parameters:
        event["pathParameters"] = match.path_parameters
    if request.stage_variables:
        event["stageVariables"] = request.stage_variables
    body, encoded = _event_body(request)
    if body is not None:
        event["body"] = body
    event["isBase64Encoded"] = encoded
    return event


def _event_v1(request: _Request, match: _RouteMatch) -> dict[str, Any]:
    headers: dict[str, str] = {}
    multi_headers: dict[str, list[str]] = {}
    for name, value in request.headers:
        lowered = name.lower()
        headers[lowered] = value
        multi_headers.setdefault(lowered, []).append(value)

    query: dict[str, str] = {}
    multi_query: dict[str, list[str]] = {}
    for key, value in parse_qsl(request.raw_query, keep_blank_values=True):
        # NOTE: a repeated key keeps its last value, as in REST APIs. The format 1.0 example
        # for HTTP APIs shows the first value, so which one AWS sends is unverified.
        query[key] = value
        multi_query.setdefault(key, []).append(value)

    route_key = str(match.route.route_key)
    resource = request.route_path if route_key == DEFAULT_ROUTE else route_key.partition(" ")[2]
    body, encoded = _event_body(request)
    return {
        "version": "1.0",
        "resource": resource,
        # For a named stage, path keeps the stage prefix, as payloads that users recorded
        # from AWS show. AWS documents no example of format 1.0 with a named stage.
        "path": request.raw_path,
        "httpMethod": request.method,
        "headers": headers,
        "multiValueHeaders": multi_headers,
        "queryStringParameters": query or None,
        "multiValueQueryStringParameters": multi_query or None,
        "requestContext": {
            "accountId": request.account_id,
            "apiId": request.api_id,
            "domainName": _domain_name(request),
            "domainPrefix": request.api_id,
            "extendedRequestId": request.request_id,
            "httpMethod": request.method,
            "identity": {
                "accessKey": None,
                "accountId": None,
                "caller": None,
                "cognitoAuthenticationProvider": None,
                "cognitoAuthenticationType": None,
                "cognitoIdentityId": None,
                "cognitoIdentityPoolId": None,
                "principalOrgId": None,
                "sourceIp": request.source_ip,
                "user": None,
                "userAgent": headers.get("user-agent", ""),
                "userArn": None,
            },
            "path": request.raw_path,
            "protocol": "HTTP/1.1",
            "requestId": request.request_id,
            "requestTime": _request_time(request.epoch_ms),
            "requestTimeEpoch": request.epoch_ms,
            "resourceId": match.route.route_id,
            "resourcePath": resource,
            "stage": request.stage,
        },
        "pathParameters": match.path_parameters or None,
        "stageVariables": request.stage_variables or None,
        "body": body,
        "isBase64Encoded": encoded,
    }


def _event_body(request: _Request) -> tuple[str | None, bool]:
    if not request.body:
        return None, False
    content_type = ""
    for name, value in request.headers:
        if name.lower() == "content-type":
            content_type = value.lower()
            break
    if not content_type or any(kind in content_type for kind in _TEXT_TYPES):
        try:
            return request.body.decode("utf-8"), False
        except UnicodeDecodeError:
            pass
    return base64.b64encode(request.body).decode("ascii"), True


def _domain_name(request: _Request) -> str:
    return f"{request.api_id}.execute-api.{request.region}.amazonaws.com"


def _request_time(epoch_ms: int) -> str:
    moment = datetime.fromtimestamp(epoch_ms / 1000, tz=UTC)
    return moment.strftime("%d/%b/%Y:%H:%M:%S +0000")


def _add_iam_caller(event: dict[str, Any], caller: IamCaller, version: str) -> None:
    """Add the IAM-authorized caller to the event, where each payload format puts it."""
    from windtunnel.services.sts.provider import user_id_of

    principal = caller.principal
    user_id = user_id_of(principal)
    if version == "1.0":
        event["requestContext"]["identity"].update({
            "accessKey": caller.access_key, "accountId": principal.account,
            "caller": user_id, "user": user_id, "userArn": principal.arn})
        return
    event["requestContext"]["authorizer"] = {"iam": {
        "accessKey": caller.access_key, "accountId": principal.account,
        "callerId": user_id, "cognitoIdentity": None, "principalOrgId": None,
        "userArn": principal.arn, "userId": user_id}}


def _new_request_id() -> str:
    # AWS request IDs of HTTP APIs are 16 characters of base64, such as "JKJaXmPLvHcESHA=".
    return base64.b64encode(uuid.uuid4().bytes[:11]).decode("ascii")


# --- invocation and responses -------------------------------------------------------------


def _invoke(functions: LambdaRuntime, function: str, event: dict[str, Any], version: str,
            route_key: str, request_id: str,
            timeout_ms: int = _INTEGRATION_TIMEOUT_MS) -> AwsResponse:
    name, qualifier = _split_qualifier(function)
    try:
        result = functions.invoke(name, json.dumps(event).encode(), qualifier=qualifier)
    except AwsError as error:
        logger.warning("HTTP API route %s could not invoke %s: %s %s", route_key, function,
                       error.code, error.message)
        if error.code == "RequestTooLargeException":
            # NOTE: AWS documents no response of an HTTP API to an event over Lambda's
            # 6 MB payload quota. This is the response recorded from a REST API.
            return _error(413, "Request Too Long", request_id)
        return _error(500, "Internal Server Error", request_id)
    if result.duration_ms > timeout_ms:
        # An HTTP API waits at most 30 seconds (or the integration's TimeoutInMillis),
        # then answers 503; the function goes on running.
        # https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-quotas.html
        logger.info("HTTP API route %s: function %s ran %.0f ms, over the integration "
                    "timeout of %d ms", route_key, function, result.duration_ms, timeout_ms)
        return _error(503, "Service Unavailable", request_id)
    if result.function_error:
        logger.info("HTTP API route %s: function %s failed (%s)", route_key, function,
                    result.error_summary)
        return _error(500, "Internal Server Error", request_id)

    try:
        if version == "1.0":
            response = _response_v1(result.payload)
        else:
            response = _response_v2(result.payload, result.raw_payload)
    except _MalformedResponse as error:
        logger.warning("HTTP API route %s: malformed Lambda proxy response from %s: %s",
                       route_key, function, error)
        return _error(500, "Internal Server Error", request_id)
    response.headers.setdefault("apigw-requestid", request_id)
    return response


def _split_qualifier(function: str) -> tuple[str, str | None]:
    # arn:aws:lambda:{region}:{account}:function:{name}[:{version or alias}]
    parts = function.split(":")
    if function.startswith("arn:") and len(parts) == 8:
        return ":".join(parts[:7]), parts[7]
    return function, None


class _MalformedResponse(Exception):
    """The function's output does not follow the Lambda proxy response format."""


def _response_v2(payload: Any, raw_payload: bytes) -> AwsResponse:
    # Without statusCode, format 2.0 infers the response: status 200, content-type
    # application/json, and the output itself as the body (a string as is, anything
    # else as its JSON text).
    if not isinstance(payload, dict) or "statusCode" not in payload:
        # NOTE: the output of a function that returns nothing (JSON null) is sent as the
        # body "null"; what AWS sends for it is not documented.
        body = payload.encode() if isinstance(payload, str) else raw_payload
        return AwsResponse(200, {"Content-Type": "application/json"}, body)

    response = _proxy_response(payload, multi_value=False)
    cookies = payload.get("cookies")
    if cookies is not None:
        if not isinstance(cookies, list) or not all(isinstance(c, str) for c in cookies):
            raise _MalformedResponse("cookies must be a list of strings")
        # AWS sends one Set-Cookie header for each cookie.
        response.repeated_headers.extend(("Set-Cookie", cookie) for cookie in cookies)
    return response


def _response_v1(payload: Any) -> AwsResponse:
    # Format 1.0 infers nothing: a response without statusCode is an error.
    if not isinstance(payload, dict) or "statusCode" not in payload:
        raise _MalformedResponse("the output is not an object with statusCode")
    return _proxy_response(payload, multi_value=True)


def _proxy_response(payload: dict[str, Any], *, multi_value: bool) -> AwsResponse:
    status = _status_code(payload.get("statusCode"))

    headers: dict[str, str] = {}
    single = payload.get("headers") or {}
    if not isinstance(single, dict):
        raise _MalformedResponse("headers must be an object")
    for name, value in single.items():
        headers[str(name)] = _header_value(value)
    if multi_value:
        multi = payload.get("multiValueHeaders") or {}
        if not isinstance(multi, dict):
            raise _MalformedResponse("multiValueHeaders must be an object")
        for name, values in multi.items():
            if not isinstance(values, list):
                raise _MalformedResponse(f"multiValueHeaders[{name!r}] must be a list")
            headers[str(name)] = ", ".join(_header_value(value) for value in values)

    body = payload.get("body")
    if body is None:
        content = b""
    elif isinstance(body, str):
        content = body.encode()
    else:
        # NOTE: a non-string body is treated as malformed. AWS documents body as a string
        # but not what it returns for other JSON types.
        raise _MalformedResponse("body must be a string")
    if payload.get("isBase64Encoded") is True:
        try:
            content = base64.b64decode(content, validate=True)
        except binascii.Error:
            raise _MalformedResponse("body is not valid base64") from None
    return AwsResponse(status, headers, content)


def _status_code(value: Any) -> int:
    if isinstance(value, bool):
        raise _MalformedResponse("statusCode must be an integer")
    if isinstance(value, int):
        status = value
    elif isinstance(value, str) and value.isdigit():
        status = int(value)
    else:
        raise _MalformedResponse("statusCode must be an integer")
    if not 100 <= status <= 599:
        raise _MalformedResponse(f"statusCode {status} is not an HTTP status code")
    return status


def _header_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    raise _MalformedResponse(f"header value {value!r} is not a string, number or boolean")


def _error(status: int, message: str, request_id: str) -> AwsResponse:
    body = json.dumps({"message": message}, separators=(",", ":")).encode()
    return AwsResponse(status, {"Content-Type": "application/json",
                                "apigw-requestid": request_id}, body)


def _windtunnel_error(message: str, request_id: str) -> AwsResponse:
    logger.warning("HTTP API request not served: %s", message)
    return _error(500, f"windtunnel: {message}", request_id)
