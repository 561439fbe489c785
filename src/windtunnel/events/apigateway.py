"""API Gateway proxy events: REST APIs (payload format 1.0) and HTTP APIs (format 2.0)."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode

from windtunnel.events.base import (
    Context,
    Event,
    EventOptionError,
    Option,
    Source,
    take_mapping,
    take_optional_string,
    take_string,
    take_string_list,
    take_string_mapping,
)

__all__ = ["HTTP_API", "REST_API", "match_resource"]

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
USER_AGENT = "curl/8.5.0"

# A path parameter in a resource path or route: {name}, or {name+} for the rest of the path.
_PARAMETER = re.compile(r"\{([^{}/+]+)(\+?)\}")

Pairs = list[tuple[str, str]]


def match_resource(resource: str, path: str) -> dict[str, str] | None:
    """Return the path parameters when ``path`` matches ``resource``, else None."""
    pattern = ""
    names: list[str] = []
    position = 0
    for parameter in _PARAMETER.finditer(resource):
        pattern += re.escape(resource[position:parameter.start()])
        # A greedy parameter matches several segments, while a plain one matches one.
        pattern += "(.+)" if parameter.group(2) else "([^/]+)"
        names.append(parameter.group(1))
        position = parameter.end()
    pattern += re.escape(resource[position:])

    match = re.fullmatch(pattern, path)
    if match is None:
        return None
    return dict(zip(names, match.groups(), strict=True))


def _fill_resource(resource: str, parameters: Mapping[str, str]) -> str:
    """Return the path that ``resource`` names with ``parameters`` put in its placeholders."""
    missing = [match.group(1) for match in _PARAMETER.finditer(resource)
               if match.group(1) not in parameters]
    if missing:
        raise EventOptionError(f"resource {resource!r} needs path_parameters for "
                               f"{', '.join(missing)}, or give the path instead")
    return _PARAMETER.sub(lambda match: parameters[match.group(1)], resource)


def _derive_resource(path: str, parameters: Mapping[str, str]) -> str:
    """Return ``path`` with each segment that equals a parameter value turned into {name}."""
    unplaced = dict(parameters)
    segments = []
    for segment in path.split("/"):
        name = next((name for name, value in unplaced.items() if value == segment), None)
        if name is not None and segment:
            segments.append("{" + name + "}")
            del unplaced[name]
        else:
            segments.append(segment)
    if unplaced:
        raise EventOptionError(f"path {path!r} has no segment for path_parameters "
                               f"{', '.join(sorted(unplaced))}; give the resource too, "
                               f"for example resource='/{{{next(iter(unplaced))}}}'")
    return "/".join(segments)


def resolve_route(resource: str | None, path: str | None,
                  parameters: dict[str, str] | None) -> tuple[str, str, dict[str, str] | None]:
    """Make resource, path and path parameters agree; derive whichever is missing."""
    if resource is not None and not resource.startswith("/"):
        raise EventOptionError(f"invalid resource {resource!r}; it must start with '/'")
    if path is not None and not path.startswith("/"):
        raise EventOptionError(f"invalid path {path!r}; it must start with '/'")

    if resource is not None and path is not None:
        matched = match_resource(resource, path)
        if matched is None:
            raise EventOptionError(f"path {path!r} does not match resource {resource!r}")
        if parameters is not None and parameters != matched:
            raise EventOptionError(f"path_parameters {parameters!r} disagree with the "
                                   f"values {matched!r} that path {path!r} gives for "
                                   f"resource {resource!r}")
        return resource, path, matched or None
    if resource is not None:
        path = _fill_resource(resource, parameters or {})
        return resource, path, match_resource(resource, path) or None
    if path is not None:
        if parameters:
            return _derive_resource(path, parameters), path, parameters
        return path, path, None
    if parameters:
        raise EventOptionError("path_parameters need a resource or a path to place them in")
    return "/", "/", None


def _pairs(value: object, name: str) -> Pairs:
    """Turn a mapping whose values are strings or lists of strings into (name, value) pairs."""
    if value is None:
        return []
    if not isinstance(value, Mapping):
        raise EventOptionError(f"invalid {name} {value!r}; expected a mapping of names to "
                               f"a string or a list of strings")
    pairs: Pairs = []
    for key, item in value.items():
        values = item if isinstance(item, list | tuple) else [item]
        for single in values:
            if not isinstance(single, str):
                raise EventOptionError(f"invalid {name}: the value of {key!r} is {single!r}, "
                                       f"expected a string or a list of strings")
            pairs.append((str(key), single))
    return pairs


def _query(value: object, path: str) -> tuple[str, Pairs, str]:
    """Return the path without a query, the query pairs and the raw query string."""
    raw = ""
    if "?" in path:
        path, raw = path.split("?", 1)
    if isinstance(value, str):
        if raw:
            raise EventOptionError("give the query string in path or in query, not both")
        raw = value.removeprefix("?")
    elif value is not None:
        if raw:
            raise EventOptionError("give the query string in path or in query, not both")
        pairs = _pairs(value, "query")
        return path, pairs, urlencode(pairs)
    return path, parse_qsl(raw, keep_blank_values=True), raw


def _body(value: object) -> tuple[str | None, bool, str | None]:
    """Return the body text, whether it is base64, and the content type it implies."""
    if value is None:
        return None, False, None
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode("ascii"), True, "application/octet-stream"
    if isinstance(value, str):
        return value, False, "application/json" if _is_json_document(value) else None
    try:
        return json.dumps(value), False, "application/json"
    except (TypeError, ValueError) as error:
        raise EventOptionError(f"invalid body {value!r}: not serializable as JSON "
                               f"({error})") from None


def _is_json_document(text: str) -> bool:
    """Return whether ``text`` is a JSON object or array, as a JSON client would send."""
    if text.lstrip()[:1] not in ("{", "["):
        return False
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def _merge_headers(defaults: Pairs, overrides: Pairs) -> Pairs:
    """Return the default headers that ``overrides`` does not name, then ``overrides``."""
    named = {name.lower() for name, _ in overrides}
    return [(name, value) for name, value in defaults if name.lower() not in named] + overrides


def _last_values(pairs: Pairs) -> dict[str, str]:
    return {name: value for name, value in pairs}


def _all_values(pairs: Pairs) -> dict[str, list[str]]:
    values: dict[str, list[str]] = {}
    for name, value in pairs:
        values.setdefault(name, []).append(value)
    return values


def _trace_id(context: Context) -> str:
    """Return an X-Ray trace header value: Root=1-<epoch seconds in hex>-<24 hex digits>."""
    return f"Root=1-{int(context.now.timestamp()):08x}-{context.hex(24)}"


class _Request:
    """The options that both API Gateway formats read, checked and made consistent."""

    def __init__(self, context: Context, options: dict[str, Any]) -> None:
        self.method = take_string(options, "method", "GET").upper()
        if self.method not in METHODS:
            raise EventOptionError(f"invalid method {self.method!r}; expected one of: "
                                   f"{', '.join(METHODS)}")
        resource = take_optional_string(options, "resource")
        path = take_optional_string(options, "path")
        parameters = take_string_mapping(options, "path_parameters")
        query = options.pop("query", None)
        if path is not None:
            path, self.query, self.raw_query = _query(query, path)
        else:
            _, self.query, self.raw_query = _query(query, "")
        self.resource, self.path, self.path_parameters = resolve_route(resource, path,
                                                                       parameters)
        self.body, self.is_base64, self.content_type = _body(options.pop("body", None))
        self.headers = _pairs(options.pop("headers", None), "headers")
        self.stage_variables = take_string_mapping(options, "stage_variables")
        self.authorizer = take_mapping(options, "authorizer")
        self.api_id = take_string(options, "api_id", context.alnum(10, lower=True))
        self.source_ip = take_string(options, "source_ip", context.source_ip())
        self.domain_name = f"{self.api_id}.execute-api.{context.region}.amazonaws.com"


REQUEST_OPTIONS = (
    Option("method", f"the HTTP method, one of {', '.join(METHODS)} (default: GET)"),
    Option("path", "the request path, optionally with ?query (default: the resource "
                   "with path_parameters filled in, or /)"),
    Option("resource", "the path template, e.g. /{userId}/items; {name+} matches the "
                       "rest of the path (default: derived from path and path_parameters)"),
    Option("path_parameters", "a mapping of path parameter names to values"),
    Option("query", "the query string, as 'a=1&a=2' or a mapping of names to a string or "
                    "a list of strings"),
    Option("headers", "a mapping of header names to a string or a list of strings"),
    Option("body", "the request body: text, bytes (sent base64-encoded) or a value to "
                   "encode as JSON"),
    Option("stage_variables", "a mapping of stage variable names to values"),
    Option("authorizer", "the requestContext.authorizer mapping, as an authorizer returns it"),
    Option("api_id", "the API ID (default: 10 random characters)"),
    Option("source_ip", "the client IP address (default: one from 203.0.113.0/24)"),
)


def rest_api_event(context: Context, options: dict[str, Any]) -> Event:
    """Build a REST API Lambda proxy integration event, payload format 1.0."""
    request = _Request(context, options)
    stage = take_string(options, "stage", "prod")

    default_headers: Pairs = [
        ("Accept", "*/*"),
        ("Host", request.domain_name),
        ("User-Agent", USER_AGENT),
        ("X-Amzn-Trace-Id", _trace_id(context)),
        ("X-Forwarded-For", request.source_ip),
        ("X-Forwarded-Port", "443"),
        ("X-Forwarded-Proto", "https"),
    ]
    if request.content_type is not None:
        default_headers.append(("Content-Type", request.content_type))
    headers = _merge_headers(default_headers, request.headers)
    user_agent = next((value for name, value in headers if name.lower() == "user-agent"), None)

    request_context: dict[str, Any] = {
        "accountId": context.account,
        "apiId": request.api_id,
    }
    if request.authorizer is not None:
        request_context["authorizer"] = request.authorizer
    request_context.update({
        "domainName": request.domain_name,
        "domainPrefix": request.api_id,
        "extendedRequestId": context.alnum(15) + "=",
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
            "userAgent": user_agent,
            "userArn": None,
        },
        # REST APIs put the stage in front of the path here, but not in the top-level path.
        "path": f"/{stage}{request.path}",
        "protocol": "HTTP/1.1",
        "requestId": context.uuid(),
        "requestTime": context.clf_time(),
        "requestTimeEpoch": context.epoch_millis(),
        "resourceId": context.alnum(6, lower=True),
        "resourcePath": request.resource,
        "stage": stage,
    })

    # A REST API passes the last value of a repeated header or query parameter in the
    # single-value field and every value in the multi-value field.
    return {
        "resource": request.resource,
        "path": request.path,
        "httpMethod": request.method,
        "headers": _last_values(headers),
        "multiValueHeaders": _all_values(headers),
        "queryStringParameters": _last_values(request.query) or None,
        "multiValueQueryStringParameters": _all_values(request.query) or None,
        "pathParameters": request.path_parameters,
        "stageVariables": request.stage_variables,
        "requestContext": request_context,
        "body": request.body,
        "isBase64Encoded": request.is_base64,
    }


def http_api_event(context: Context, options: dict[str, Any]) -> Event:
    """Build an HTTP API Lambda proxy integration event, payload format 2.0."""
    request = _Request(context, options)
    stage = take_string(options, "stage", "$default")
    route_key = take_optional_string(options, "route_key")
    cookies = take_string_list(options, "cookies")
    if route_key is None:
        route_key = f"{request.method} {request.resource}"

    default_headers: Pairs = [
        ("accept", "*/*"),
        ("host", request.domain_name),
        ("user-agent", USER_AGENT),
        ("x-amzn-trace-id", _trace_id(context)),
        ("x-forwarded-for", request.source_ip),
        ("x-forwarded-port", "443"),
        ("x-forwarded-proto", "https"),
    ]
    if request.body is not None:
        size = (len(base64.b64decode(request.body)) if request.is_base64
                else len(request.body.encode()))
        default_headers.append(("content-length", str(size)))
    if request.content_type is not None:
        default_headers.append(("content-type", request.content_type))
    # Format 2.0 lower-cases header names and joins repeated values with commas.
    lowered = [(name.lower(), value) for name, value in request.headers]
    merged = _merge_headers(default_headers, lowered)
    headers = {name: ",".join(values) for name, values in _all_values(merged).items()}
    # NOTE: the cookies go to the cookies field only. Whether AWS also keeps a 'cookie'
    # header in headers is not checked against a recorded event.

    # With a named stage, the stage is the first segment of the path that clients call.
    raw_path = request.path if stage == "$default" else f"/{stage}{request.path}"

    http = {
        "method": request.method,
        "path": raw_path,
        "protocol": "HTTP/1.1",
        "sourceIp": request.source_ip,
        "userAgent": headers.get("user-agent", ""),
    }
    request_context: dict[str, Any] = {
        "accountId": context.account,
        "apiId": request.api_id,
    }
    if request.authorizer is not None:
        request_context["authorizer"] = request.authorizer
    request_context.update({
        "domainName": request.domain_name,
        "domainPrefix": request.api_id,
        "http": http,
        "requestId": context.alnum(15) + "=",
        "routeKey": route_key,
        "stage": stage,
        "time": context.clf_time(),
        "timeEpoch": context.epoch_millis(),
    })

    # Format 2.0 leaves out the fields that the request does not have.
    event: Event = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": raw_path,
        "rawQueryString": request.raw_query,
    }
    if cookies:
        event["cookies"] = cookies
    event["headers"] = headers
    if request.query:
        event["queryStringParameters"] = {
            name: ",".join(values) for name, values in _all_values(request.query).items()}
    event["requestContext"] = request_context
    if request.body is not None:
        event["body"] = request.body
    if request.path_parameters:
        event["pathParameters"] = request.path_parameters
    event["isBase64Encoded"] = request.is_base64
    if request.stage_variables:
        event["stageVariables"] = request.stage_variables
    return event


REST_API = Source(
    name="apigateway-rest",
    description="API Gateway REST API, Lambda proxy integration (payload format 1.0)",
    doc_url="https://docs.aws.amazon.com/apigateway/latest/developerguide/"
            "set-up-lambda-proxy-integrations.html",
    build=rest_api_event,
    options=(*REQUEST_OPTIONS, Option("stage", "the stage name (default: prod)")),
    payload_option="body",
)

HTTP_API = Source(
    name="apigateway-http",
    description="API Gateway HTTP API, Lambda proxy integration (payload format 2.0)",
    doc_url="https://docs.aws.amazon.com/apigateway/latest/developerguide/"
            "http-api-develop-integrations-lambda.html",
    build=http_api_event,
    options=(
        *REQUEST_OPTIONS,
        Option("stage", "the stage name (default: $default)"),
        Option("route_key", "the route key, e.g. '$default' (default: 'METHOD resource')"),
        Option("cookies", "a list of cookies, each 'name=value'"),
    ),
    payload_option="body",
)
