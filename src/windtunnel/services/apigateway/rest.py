"""Requests to REST APIs (API Gateway v1): stage and route selection, then the integration.

A request reaches a REST API at ``/{stage}/{resource path}``. The stage selects the
deployment and its stage variables, and the path and method select a resource's method.
An ``AWS_PROXY`` integration sends the request to a Lambda function as a payload format
1.0 event and turns the function's result into the HTTP response:
https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html
``AWS`` (Lambda), ``HTTP``, ``HTTP_PROXY`` and ``MOCK`` integrations run in
``integrations.py`` and ``mock_integration.py`` with the mappings of ``mapping.py``. Every
error goes through the gateway responses of ``gateway_responses.py``.

Limitations:
    A resource policy applies only to AWS_IAM methods. A stage serves the API's current
    resources, not the snapshot that its deployment took. Set-Cookie response headers
    beyond the first are dropped.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import secrets
import time
import uuid
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote

from windtunnel.cloud.dataplane import DataPlaneRequest
from windtunnel.cloud.messages import AwsResponse
from windtunnel.cloud.protocols import AwsError
from windtunnel.services.apigateway.api_keys import check_api_key
from windtunnel.services.apigateway.gateway_responses import (
    ErrorScope,
    GatewayError,
    error_for_rejection,
    gateway_response,
)
from windtunnel.services.apigateway.iam_authorization import (
    IamCaller,
    IamRejection,
    api_resource_policy,
    authorize_iam,
)
from windtunnel.services.apigateway.integrations import (
    IntegrationCall,
    function_of,
    run_http_integration,
    run_lambda_integration,
)
from windtunnel.services.apigateway.jwt_authorizers import JwtRejection, authorize_cognito
from windtunnel.services.apigateway.lambda_authorizers import (
    AuthorizerRejection,
    AuthorizerResult,
    run_lambda_authorizer,
)
from windtunnel.services.apigateway.mapping import (
    MappingFailed,
    configuration_error,
    method_request,
)
from windtunnel.services.apigateway.mock_integration import run_mock_integration
from windtunnel.services.apigateway.permissions import execute_api_arn, gateway_may_invoke
from windtunnel.services.apigateway.rest_checks import check_method_requirements
from windtunnel.services.apigateway.throttling import admit, rest_method_limit

if TYPE_CHECKING:
    from windtunnel.cloud.pipeline import Cloud
    from windtunnel.runtime.functions import LambdaRuntime

__all__ = ["handle_rest_api"]

logger = logging.getLogger(__name__)

# API Gateway waits at most 29 seconds for a REST API integration unless it is set lower.
_INTEGRATION_TIMEOUT_MS = 29_000

# The keys that a Lambda proxy response may contain. Any other key makes the response
# malformed, and API Gateway returns 502.
_PROXY_RESPONSE_KEYS = frozenset(
    {"statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded"})

# Ranks of a resource path part, most specific first: a literal part beats a path
# parameter, which beats a greedy path variable.
_LITERAL, _PARAMETER, _GREEDY = 0, 1, 2



@dataclass(frozen=True)
class _Route:
    """The resource and method that a request selected, with its path parameters."""

    resource: Any
    """moto's ``Resource``."""
    resource_path: str
    method: Any
    """moto's ``Method``: the ``resource_methods`` entry for the request's method or ANY."""
    path_parameters: dict[str, str]


def handle_rest_api(cloud: Cloud, functions: LambdaRuntime, api_id: str,
                    request: DataPlaneRequest, path: str) -> AwsResponse:
    """Route a request to a REST API and return its response.

    ``path`` is ``/{stage}/{resource path}``, as in ``/dev/u1/items``.
    """
    from moto.apigateway.models import apigateway_backends

    request_id = str(uuid.uuid4())
    extended_request_id = _extended_request_id()
    api = apigateway_backends[cloud.account_id][cloud.region].apis[api_id]
    query, _ = _query_parameters(request.raw_query)
    headers, _ = _event_headers(request)
    scope = ErrorScope(request_id, extended_request_id, accept=request.header("Accept"),
                       params={"path": {}, "querystring": query, "header": headers})

    # ``path`` is percent-encoded as the client sent it, and the event keeps it so.
    stage_name, _, rest = path.lstrip("/").partition("/")
    stage_name = unquote(stage_name)
    stage = api.stages.get(stage_name) if stage_name else None
    if stage is None:
        # A stage that does not exist returns 403 Forbidden:
        # https://repost.aws/knowledge-center/api-gateway-troubleshoot-403-forbidden
        # No deployment exists to take gateway responses from, so none are applied.
        return gateway_response(None, GatewayError("DEFAULT_4XX", 403, "Forbidden",
                                                   "ForbiddenException"), scope)
    resource_path = "/" + rest
    variables = dict(stage.variables or {})
    # Before a route is selected, gateway responses see the request's basic context.
    scope = replace(scope, stage_variables=variables, context={
        "accountId": cloud.account_id, "apiId": api_id, "domainPrefix": api_id,
        "extendedRequestId": extended_request_id, "httpMethod": request.method.upper(),
        "path": path, "protocol": "HTTP/1.1", "requestId": request_id, "stage": stage_name})

    route = _select_route(api, request.method, resource_path)
    if route is None:
        return gateway_response(api, GatewayError(
            "MISSING_AUTHENTICATION_TOKEN", 403, "Missing Authentication Token",
            "MissingAuthenticationTokenException"), scope)
    # NOTE: AWS does not document whether stage and account throttling come before or
    # after authorization; here a throttled request reaches no authorizer.
    method_name = str(getattr(route.method, "http_method", None) or request.method)
    if not admit(cloud, rest_method_limit(api_id, stage, route.resource_path, method_name)):
        return gateway_response(api, GatewayError(
            "THROTTLED", 429, "Too Many Requests", "TooManyRequestsException"), scope)

    event = _proxy_event(cloud, api, api_id, stage_name, variables, route, request,
                         resource_path, request_id, extended_request_id)
    scope = replace(scope, context=event["requestContext"], params={
        "path": dict(route.path_parameters), "querystring": query, "header": headers})
    authorization_type = getattr(route.method, "authorization_type", None) or "NONE"
    # A trailing slash selects the same resource, and the method ARN names the resource
    # without it: a permission for .../GET/hello lets API Gateway invoke for /hello/ too.
    method_arn = execute_api_arn(cloud, api_id, stage_name, request.method,
                                 resource_path.rstrip("/") or "/")

    caller: IamCaller | None = None
    if authorization_type == "AWS_IAM":
        outcome = authorize_iam(cloud, request, method_arn, api_resource_policy(api),
                                (f"/_aws/execute-api{request.path}", path))
        if isinstance(outcome, IamRejection):
            return gateway_response(api, error_for_rejection(
                outcome.status, outcome.error_type, outcome.message), scope)
        caller = outcome
        event["requestContext"]["identity"].update(_iam_identity(caller))

    authorized: AuthorizerResult | None = None
    if authorization_type in ("COGNITO_USER_POOLS", "CUSTOM"):
        authorizer = api.authorizers.get(getattr(route.method, "authorizer_id", None) or "")
        if authorizer is None:
            return gateway_response(api, error_for_rejection(
                500, "AuthorizerConfigurationException", "Authorizer not found"), scope)
        if authorization_type == "COGNITO_USER_POOLS":
            checked = authorize_cognito(cloud, authorizer, route.method, request)
            if isinstance(checked, JwtRejection):
                return gateway_response(api, error_for_rejection(
                    checked.status, checked.error_type, checked.message), scope)
            event["requestContext"]["authorizer"] = checked
        else:
            verdict = run_lambda_authorizer(cloud, functions, api, authorizer, request,
                                            method_arn, event)
            if isinstance(verdict, AuthorizerRejection):
                message = verdict.body.get("message", verdict.body.get("Message"))
                return gateway_response(api, error_for_rejection(
                    verdict.status, verdict.error_type,
                    None if message is None else str(message), body=verdict.body), scope)
            authorized = verdict
            # The authorizer's context values reach the integration as strings, beside the
            # principal ID.
            event["requestContext"]["authorizer"] = {
                **authorized.context, "principalId": authorized.principal_id,
                "integrationLatency": 0}

    if getattr(route.method, "api_key_required", False):
        key_problem = check_api_key(
            cloud, api, api_id, stage_name, request,
            authorized.usage_identifier_key if authorized is not None else None)
        if key_problem is not None:
            return gateway_response(api, error_for_rejection(
                key_problem.status, key_problem.error_type, key_problem.message), scope)

    rejection = check_method_requirements(api, route.method, request, route.path_parameters)
    if rejection is not None:
        return gateway_response(api, GatewayError(
            rejection.response_type, rejection.status, rejection.message,
            rejection.error_type, validation_error=rejection.validation_error), scope)

    integration = route.method.method_integration
    integration_type = getattr(integration, "integration_type", None)
    request_id_headers = _request_id_headers(request_id, extended_request_id)
    if integration_type in ("AWS", "HTTP", "HTTP_PROXY", "MOCK"):
        call = IntegrationCall(
            cloud=cloud, functions=functions, api_id=api_id, method_definition=route.method,
            request=request,
            method=method_request(request, route.path_parameters, event["requestContext"],
                                  variables),
            source_arn=method_arn, caller=caller.principal if caller is not None else None,
            request_id_headers=request_id_headers)
        try:
            if integration_type == "MOCK":
                return run_mock_integration(integration, route.method, call.method,
                                            request_id_headers)
            if integration_type == "AWS":
                return run_lambda_integration(call)
            return run_http_integration(call)
        except MappingFailed as failure:
            return gateway_response(api, failure.error, scope)
    if integration_type != "AWS_PROXY":
        message = (f"windtunnel does not emulate REST API integrations of type "
                   f"{integration_type}; {request.method} {route.resource_path} needs an "
                   f"AWS_PROXY, AWS, HTTP, HTTP_PROXY or MOCK integration to run locally.")
        return gateway_response(api, GatewayError(
            "API_CONFIGURATION_ERROR", 500, "Internal server error",
            "InternalServerErrorException", body=json.dumps({"message": message}).encode()),
            scope)

    function_arn, qualifier = function_of(str(integration.uri), variables)
    if not gateway_may_invoke(cloud, function_arn, qualifier, method_arn,
                              getattr(integration, "credentials", None),
                              caller.principal if caller is not None else None):
        # API_CONFIGURATION_ERROR: API Gateway may not invoke the function.
        return gateway_response(api, configuration_error(), scope)
    try:
        result = functions.invoke(function_arn, json.dumps(event).encode(),
                                  qualifier=qualifier)
    except AwsError as error:
        if error.code == "RequestTooLargeException":
            # An event over Lambda's 6 MB invocation payload quota. The status, message
            # and error type are those of a response recorded from AWS for such a body.
            logger.info("REST API %s: the event for %s is over Lambda's payload quota",
                        api_id, function_arn)
            return gateway_response(api, GatewayError(
                "REQUEST_TOO_LARGE", 413, "Request Too Long", "BadRequestException",
                body=b'{"message": "Request Too Long"}'), scope)
        # A function that cannot be invoked (not found, say) is an invalid API
        # configuration: API_CONFIGURATION_ERROR, 500, in
        # https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html
        logger.warning("REST API %s could not invoke %s: %s", api_id, function_arn, error)
        return gateway_response(api, configuration_error(), scope)

    timeout_ms = int(getattr(integration, "timeout_in_millis", None) or _INTEGRATION_TIMEOUT_MS)
    if result.duration_ms > timeout_ms:
        # API Gateway stops waiting after the integration's timeout (29 seconds unless
        # set lower); the function goes on running.
        # https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html
        logger.info("REST API %s: function %s ran %.0f ms, over the integration timeout of "
                    "%d ms; returning 504", api_id, result.function_name, result.duration_ms,
                    timeout_ms)
        return gateway_response(api, GatewayError(
            "INTEGRATION_TIMEOUT", 504, "Endpoint request timed out",
            "InternalServerErrorException"), scope)
    if result.function_error is not None:
        logger.info("REST API %s: function %s failed (%s); returning 502", api_id,
                    result.function_name, result.error_summary)
        return gateway_response(api, _bad_gateway(), scope)
    try:
        payload = result.payload
    except ValueError:
        payload = None
    response = _proxy_response(payload, request, api, request_id, extended_request_id)
    if response is None:
        # The reason goes to API Gateway's execution log only, never to the client.
        logger.info("REST API %s: malformed Lambda proxy response from %s; returning 502",
                    api_id, result.function_name)
        return gateway_response(api, _bad_gateway(), scope)
    return response


def _bad_gateway() -> GatewayError:
    """Return the 502 for a failed function or a malformed Lambda proxy response.

    No response type of its own covers it, so DEFAULT_5XX customizes it.
    """
    return GatewayError("DEFAULT_5XX", 502, "Internal server error",
                        "InternalServerErrorException",
                        body=b'{"message": "Internal server error"}')


# --- route selection -------------------------------------------------------------------

def _select_route(api: Any, http_method: str, resource_path: str) -> _Route | None:
    """Select the most specific resource for the path, then its method or ANY.

    Parts are compared from the left: a literal part beats ``{param}``, which beats
    ``{proxy+}``. The resource is chosen before the method, so a request whose method the
    most specific resource lacks returns Missing Authentication Token even when a greedy
    resource has ANY.

    NOTE: a matching resource without methods (an intermediate path part) is never
    skipped for a greedy resource here. Whether AWS skips it is unverified.
    """
    request_parts = [part for part in resource_path.split("/") if part]
    best: tuple[tuple[int, ...], Any, str, dict[str, str]] | None = None
    for resource in api.resources.values():
        template = str(resource.get_path())
        matched = _match(template, request_parts)
        if matched is None:
            continue
        rank, parameters = matched
        if best is None or rank < best[0]:
            best = (rank, resource, template, parameters)
    if best is None:
        return None

    _, resource, template, parameters = best
    methods = resource.resource_methods or {}
    method = methods.get(http_method.upper()) or methods.get("ANY")
    if method is None:
        return None
    return _Route(resource, template, method, parameters)


def _match(template: str, request_parts: list[str]
           ) -> tuple[tuple[int, ...], dict[str, str]] | None:
    """Match a resource path template against the request's percent-encoded path parts.

    Path parameters keep the encoding, as REST APIs pass them to the integration.
    """
    template_parts = [part for part in template.split("/") if part]
    rank: list[int] = []
    parameters: dict[str, str] = {}
    for index, part in enumerate(template_parts):
        if part.startswith("{") and part.endswith("+}"):
            # A greedy path variable is the last part and takes one or more parts.
            if index != len(template_parts) - 1 or index >= len(request_parts):
                return None
            parameters[part[1:-2]] = "/".join(request_parts[index:])
            rank.append(_GREEDY)
            return tuple(rank), parameters
        if index >= len(request_parts):
            return None
        if part.startswith("{") and part.endswith("}"):
            parameters[part[1:-1]] = request_parts[index]
            rank.append(_PARAMETER)
        elif part == unquote(request_parts[index]):
            rank.append(_LITERAL)
        else:
            return None
    if len(template_parts) != len(request_parts):
        return None
    return tuple(rank), parameters


# --- the payload format 1.0 event ------------------------------------------------------

def _proxy_event(cloud: Cloud, api: Any, api_id: str, stage_name: str,
                 variables: dict[str, str], route: _Route, request: DataPlaneRequest,
                 resource_path: str, request_id: str,
                 extended_request_id: str) -> dict[str, Any]:
    """Build the Lambda proxy event (payload format 1.0) for one request."""
    headers, multi_value_headers = _event_headers(request)
    query, multi_value_query = _query_parameters(request.raw_query)
    body, is_base64_encoded = _event_body(request, api)
    now = time.time()
    domain_name = f"{api_id}.execute-api.{cloud.region}.amazonaws.com"
    return {
        "resource": route.resource_path,
        "path": resource_path,
        "httpMethod": request.method.upper(),
        "headers": headers or None,
        "multiValueHeaders": multi_value_headers or None,
        "queryStringParameters": query or None,
        "multiValueQueryStringParameters": multi_value_query or None,
        "pathParameters": route.path_parameters or None,
        "stageVariables": variables or None,
        "requestContext": {
            "resourceId": route.resource.id,
            "resourcePath": route.resource_path,
            "httpMethod": request.method.upper(),
            "extendedRequestId": extended_request_id,
            "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "path": f"/{stage_name}{resource_path}",
            "accountId": cloud.account_id,
            "protocol": "HTTP/1.1",
            "stage": stage_name,
            # NOTE: the domain is the one AWS would give the API, not the local endpoint
            # that the client called. The Host header keeps what the client sent.
            "domainPrefix": api_id,
            "requestTimeEpoch": int(now * 1000),
            "requestId": request_id,
            "identity": _identity(request),
            "domainName": domain_name,
            "apiId": api_id,
        },
        "body": body,
        "isBase64Encoded": is_base64_encoded,
    }


def _event_headers(request: DataPlaneRequest
                   ) -> tuple[dict[str, str], dict[str, list[str]]]:
    """Return ``headers`` (the last value of each header) and ``multiValueHeaders``."""
    names: dict[str, str] = {}
    multi_value: dict[str, list[str]] = {}
    for name, value in request.headers:
        # Repeated headers that differ only in case are one header, named by the first
        # spelling.
        key = names.setdefault(name.lower(), name)
        multi_value.setdefault(key, []).append(value)
    # NOTE: AWS also adds CloudFront-* and X-Forwarded-* headers and X-Amzn-Trace-Id,
    # which are not added here.
    single = {name: values[-1] for name, values in multi_value.items()}
    return single, multi_value


def _query_parameters(raw_query: str) -> tuple[dict[str, str], dict[str, list[str]]]:
    """Return ``queryStringParameters`` (last value wins) and the multi-value map."""
    multi_value: dict[str, list[str]] = {}
    for name, value in parse_qsl(raw_query, keep_blank_values=True):
        multi_value.setdefault(name, []).append(value)
    single = {name: values[-1] for name, values in multi_value.items()}
    return single, multi_value


def _event_body(request: DataPlaneRequest, api: Any) -> tuple[str | None, bool]:
    """Return the event's ``body`` and ``isBase64Encoded``.

    A body whose Content-Type is one of the API's binary media types is base64-encoded.
    Any other body is passed as text, and an empty body as null.
    """
    if not request.body:
        return None, False
    if _is_binary(request.header("Content-Type"), api):
        return base64.b64encode(request.body).decode("ascii"), True
    # NOTE: a text body that is not valid UTF-8 has its invalid bytes replaced here; AWS's
    # handling of such bodies is not documented.
    return request.body.decode("utf-8", errors="replace"), False


def _iam_identity(caller: IamCaller) -> dict[str, Any]:
    """Return the ``requestContext.identity`` fields that IAM authorization fills in."""
    from windtunnel.services.sts.provider import user_id_of

    user_id = user_id_of(caller.principal)
    return {"accountId": caller.principal.account, "accessKey": caller.access_key,
            "caller": user_id, "user": user_id, "userArn": caller.principal.arn}


def _identity(request: DataPlaneRequest) -> dict[str, Any]:
    """Return ``requestContext.identity`` for an unauthenticated caller."""
    return {
        "cognitoIdentityPoolId": None,
        "accountId": None,
        "cognitoIdentityId": None,
        "caller": None,
        "sourceIp": request.source_ip,
        "principalOrgId": None,
        "accessKey": None,
        "cognitoAuthenticationType": None,
        "cognitoAuthenticationProvider": None,
        "userArn": None,
        "userAgent": request.header("User-Agent"),
        "user": None,
    }


def _is_binary(media_type: str | None, api: Any) -> bool:
    """Tell whether a media type matches one of the API's binary media types."""
    if not media_type:
        return False
    media_type = media_type.split(";", 1)[0].strip().lower()
    kind, _, subtype = media_type.partition("/")
    for entry in getattr(api, "binaryMediaTypes", None) or []:
        # A media type in a patch path is written with "/" escaped as "~1".
        pattern = str(entry).replace("~1", "/").lower()
        pattern_kind, _, pattern_subtype = pattern.partition("/")
        if pattern_kind in ("*", kind) and pattern_subtype in ("*", subtype):
            return True
    return False


# --- the proxy response ----------------------------------------------------------------

def _proxy_response(payload: Any, request: DataPlaneRequest, api: Any, request_id: str,
                    extended_request_id: str) -> AwsResponse | None:
    """Turn a Lambda proxy response into the HTTP response, or None if it is malformed.

    The rules follow AWS's behavior recorded in LocalStack's AWS-validated snapshot
    ``test_aws_proxy_response_payload_format_validation``. A non-object, an empty object,
    an unknown key, a non-numeric status code or non-list multi-value headers are
    malformed. A status code written as a string of digits and ``headers: null`` are
    accepted, and a missing status code means 200.
    """
    if not isinstance(payload, dict) or not payload or set(payload) - _PROXY_RESPONSE_KEYS:
        return None
    status = _status_code(payload.get("statusCode", 200))
    if status is None:
        return None
    merged = _merge_headers(payload.get("headers"), payload.get("multiValueHeaders"))
    if merged is None:
        return None

    body = payload.get("body")
    if body is None:
        content = b""
    elif isinstance(body, str):
        content = body.encode("utf-8")
    else:
        return None
    is_base64_encoded = payload.get("isBase64Encoded", False)
    if not isinstance(is_base64_encoded, bool):
        return None
    if is_base64_encoded and _is_binary(_first_accept(request), api):
        # API Gateway decodes a base64 body when the first media type of the request's
        # Accept header is a binary media type of the API; otherwise the client gets
        # the base64 text:
        # https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-payload-encodings.html
        try:
            content = base64.b64decode(content, validate=True)
        except binascii.Error:
            return None

    headers: dict[str, str] = {}
    for name, values in merged.items():
        if name.lower() == "set-cookie":
            # NOTE: only the first Set-Cookie header is returned, because AwsResponse
            # keeps one value per header name.
            headers[name] = values[0]
        else:
            headers[name] = ", ".join(values)
    if not any(name.lower() == "content-type" for name in headers):
        headers["Content-Type"] = "application/json"
    headers.update(_request_id_headers(request_id, extended_request_id))
    return AwsResponse(status, headers, content)


def _status_code(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def _merge_headers(headers: Any, multi_value_headers: Any) -> dict[str, list[str]] | None:
    """Merge ``headers`` and ``multiValueHeaders``, or return None if either is malformed.

    A header named in both keeps only its ``multiValueHeaders`` values, as
    https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html
    states.
    """
    merged: dict[str, list[str]] = {}
    if headers is not None:
        if not isinstance(headers, dict):
            return None
        for name, value in headers.items():
            text = _header_text(value)
            if text is None:
                return None
            merged[str(name)] = [text]
    if multi_value_headers is not None:
        if not isinstance(multi_value_headers, dict):
            return None
        for name, values in multi_value_headers.items():
            if not isinstance(values, list):
                return None
            texts = [_header_text(value) for value in values]
            if any(text is None for text in texts):
                return None
            merged[str(name)] = [text for text in texts if text is not None]
    return merged


def _header_text(value: Any) -> str | None:
    """Render a header value as API Gateway does, None for a value it rejects."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    return None


def _first_accept(request: DataPlaneRequest) -> str | None:
    accept = request.header("Accept")
    if not accept:
        return None
    return accept.split(",", 1)[0]


def _request_id_headers(request_id: str, extended_request_id: str) -> dict[str, str]:
    return {"x-amzn-RequestId": request_id, "x-amz-apigw-id": extended_request_id}


def _extended_request_id() -> str:
    """Return an ID shaped like API Gateway's extended request ID (``x-amz-apigw-id``)."""
    return base64.b64encode(secrets.token_bytes(10)).decode("ascii")
