"""Lambda authorizers of REST APIs (``TOKEN`` and ``REQUEST``), with their result cache.

API Gateway reads the identity sources, returns 401 when one is missing (or a token fails
the validation expression), invokes the authorizer function, evaluates the IAM policy it
returns against the method ARN and caches that policy for the TTL. Sources:
https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-lambda-authorizer-input.html
https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-lambda-authorizer-output.html
https://docs.aws.amazon.com/apigateway/latest/developerguide/configure-api-gateway-lambda-authorization.html
https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html

Limitations: the cache lives on the stack's clock and is emptied by ``stack.reset()``;
``usageIdentifierKey`` is read but API keys are not emulated yet.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from windtunnel.cloud.dataplane import DataPlaneRequest
from windtunnel.cloud.protocols import AwsError
from windtunnel.iam.errors import MalformedPolicyError
from windtunnel.iam.evaluation import Reason, evaluate
from windtunnel.iam.policy import PolicyKind, parse_policy
from windtunnel.iam.request import AuthorizationRequest, PrincipalType
from windtunnel.services.apigateway.permissions import gateway_may_invoke

if TYPE_CHECKING:
    from windtunnel.cloud.pipeline import Cloud
    from windtunnel.runtime.functions import LambdaRuntime

__all__ = ["AuthorizerRejection", "AuthorizerResult", "run_http_lambda_authorizer",
           "run_lambda_authorizer"]

logger = logging.getLogger(__name__)

# The default result TTL of a Lambda authorizer, in seconds.
DEFAULT_TTL_SECONDS = 300
_CACHE_STATE = "apigateway-authorizer-cache"
_FUNCTION_IN_URI = re.compile(r"/functions/(?P<function>.+?)/invocations")


@dataclass(frozen=True)
class AuthorizerRejection:
    """The response that API Gateway returns when the authorizer stops the request."""

    status: int
    error_type: str
    body: dict[str, Any]


@dataclass(frozen=True)
class AuthorizerResult:
    """The output of an authorizer that allowed the request, for ``requestContext.authorizer``."""

    principal_id: str
    context: dict[str, str]
    usage_identifier_key: str | None = None


@dataclass(frozen=True)
class _Cached:
    expires: datetime
    output: Mapping[str, Any]


def _unauthorized() -> AuthorizerRejection:
    return AuthorizerRejection(401, "UnauthorizedException", {"message": "Unauthorized"})


def _configuration_error() -> AuthorizerRejection:
    return AuthorizerRejection(500, "AuthorizerConfigurationException", {"message": None})


def run_lambda_authorizer(cloud: Cloud, functions: LambdaRuntime, api: Any, authorizer: Any,
                          request: DataPlaneRequest, method_arn: str,
                          request_event: Mapping[str, Any]
                          ) -> AuthorizerResult | AuthorizerRejection:
    """Authorize ``request`` with a TOKEN or REQUEST authorizer.

    ``request_event`` is the Lambda proxy event of the request, from which a REQUEST
    authorizer's input is built.
    """
    kind = str(authorizer.type or "TOKEN").upper()
    sources = _identity_values(authorizer, request, request_event, kind)
    if sources is None:
        return _unauthorized()

    if kind == "TOKEN":
        token = sources[0]
        expression = authorizer.identity_validation_expression
        if expression and re.fullmatch(str(expression), token) is None:
            return _unauthorized()
        event: dict[str, Any] = {"type": "TOKEN", "authorizationToken": token,
                                 "methodArn": method_arn}
    else:
        event = {key: value for key, value in request_event.items()
                 if key not in ("body", "isBase64Encoded")}
        event = {"type": "REQUEST", "methodArn": method_arn, **event}

    ttl = _ttl(authorizer)
    cache: dict[tuple[str, str, tuple[str, ...]], _Cached] = cloud.service_state.setdefault(
        _CACHE_STATE, {})
    cache_key = (str(api.id), str(authorizer.id), tuple(sources))
    now = cloud.authorizer.clock()
    cached = cache.get(cache_key) if ttl > 0 and sources else None
    if cached is not None and cached.expires > now:
        return _decide(cloud, cached.output, method_arn)
    invoked = _invoke(cloud, functions, api, authorizer, event)
    if isinstance(invoked, AuthorizerRejection):
        return invoked
    if ttl > 0 and sources:
        # The policy is cached, not the decision: it is evaluated against each method ARN.
        cache[cache_key] = _Cached(now + timedelta(seconds=ttl), invoked)
    return _decide(cloud, invoked, method_arn)


def _ttl(authorizer: Any) -> int:
    ttl = authorizer.authorizer_result_ttl
    try:
        return DEFAULT_TTL_SECONDS if ttl is None else int(ttl)
    except (TypeError, ValueError):
        return DEFAULT_TTL_SECONDS


def _identity_values(authorizer: Any, request: DataPlaneRequest,
                     request_event: Mapping[str, Any], kind: str) -> list[str] | None:
    """Read the identity sources; return None when one is missing or empty (then 401)."""
    text = authorizer.identity_source or (
        "method.request.header.Authorization" if kind == "TOKEN" else "")
    values: list[str] = []
    for source in [part.strip() for part in str(text).split(",") if part.strip()]:
        value = _identity_value(source, request, request_event)
        if not value:
            return None
        values.append(value)
    return values


def _identity_value(source: str, request: DataPlaneRequest,
                    request_event: Mapping[str, Any]) -> str | None:
    header = "method.request.header."
    query = "method.request.querystring."
    if source.startswith(header):
        return request.header(source[len(header):])
    if source.startswith(query):
        name = source[len(query):]
        for key, value in parse_qsl(request.raw_query, keep_blank_values=True):
            if key == name:
                return value
        return None
    if source.startswith("stageVariables."):
        variables = request_event.get("stageVariables") or {}
        found = variables.get(source[len("stageVariables."):])
        return None if found is None else str(found)
    if source.startswith("context."):
        context = request_event.get("requestContext") or {}
        entry = context.get(source[len("context."):])
        return None if entry is None else str(entry)
    logger.warning("identity source %r of a Lambda authorizer is not supported", source)
    return None


def _invoke(cloud: Cloud, functions: LambdaRuntime, api: Any, authorizer: Any,
            event: dict[str, Any]) -> Mapping[str, Any] | AuthorizerRejection:
    output = _invoke_function(cloud, functions, str(api.id), authorizer,
                              authorizer.authorizer_uri, authorizer.authorizer_credentials,
                              event)
    if isinstance(output, AuthorizerRejection):
        return output
    if "principalId" not in output or not isinstance(output.get("policyDocument"), Mapping):
        logger.info("authorizer %s returned no principalId and policyDocument", authorizer.id)
        return _configuration_error()
    return output


def _invoke_function(cloud: Cloud, functions: LambdaRuntime, api_id: str, authorizer: Any,
                     uri: Any, credentials: Any,
                     event: dict[str, Any]) -> Mapping[str, Any] | AuthorizerRejection:
    """Invoke the authorizer's function; return its output or the rejection it causes."""
    found = _FUNCTION_IN_URI.search(str(uri or ""))
    if found is None:
        logger.warning("authorizer %s has no Lambda function URI", authorizer.id)
        return _configuration_error()
    function = found["function"]
    source_arn = (f"arn:aws:execute-api:{cloud.region}:{cloud.account_id}:{api_id}/"
                  f"authorizers/{authorizer.id}")
    name, _, qualifier = function.partition(":function:")[2].partition(":")
    base = function if not qualifier else function[: -len(qualifier) - 1]
    if not gateway_may_invoke(cloud, base, qualifier or None, source_arn,
                              str(credentials) if credentials else None):
        return _configuration_error()
    try:
        result = functions.invoke(base, json.dumps(event).encode(),
                                  qualifier=qualifier or None)
    except AwsError as error:
        logger.warning("authorizer %s could not invoke %s: %s", authorizer.id, name, error)
        return _configuration_error()

    if result.function_error is not None:
        try:
            message = result.payload.get("errorMessage")
        except (ValueError, AttributeError):
            message = None
        # The function rejects the token by failing with the message "Unauthorized".
        if message == "Unauthorized":
            return _unauthorized()
        logger.info("authorizer %s failed: %s", authorizer.id, message)
        return _configuration_error()
    try:
        output = result.payload
    except ValueError:
        output = None
    if not isinstance(output, Mapping):
        logger.info("authorizer %s returned %r, not a JSON object", authorizer.id, output)
        return _configuration_error()
    return output


def _decide(cloud: Cloud, output: Mapping[str, Any],
            method_arn: str) -> AuthorizerResult | AuthorizerRejection:
    try:
        policy = parse_policy(output["policyDocument"], PolicyKind.IDENTITY)
    except MalformedPolicyError as error:
        logger.info("authorizer policy is invalid: %s", error)
        return _configuration_error()
    context = output.get("context") or {}
    if not isinstance(context, Mapping) or any(
            isinstance(value, (dict, list)) for value in context.values()):
        # Context values may only be strings, numbers or booleans.
        return _configuration_error()

    principal = f"arn:aws:iam::{cloud.account_id}:user/authorizer-principal"
    request = AuthorizationRequest(principal=principal, action="execute-api:Invoke",
                                   resource=method_arn, principal_type=PrincipalType.USER,
                                   context={"aws:CurrentTime": cloud.authorizer.clock()})
    decision = evaluate(request, [policy])
    if not decision.allowed:
        message = "User is not authorized to access this resource"
        if decision.reason is Reason.EXPLICIT_DENY:
            message += " with an explicit deny"
        return AuthorizerRejection(403, "AccessDeniedException", {"Message": message})
    usage_key = output.get("usageIdentifierKey")
    return AuthorizerResult(
        principal_id=str(output["principalId"]),
        context={str(key): _context_text(value) for key, value in context.items()},
        usage_identifier_key=str(usage_key) if usage_key is not None else None)


def _context_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# --- HTTP APIs -------------------------------------------------------------------------------


def run_http_lambda_authorizer(cloud: Cloud, functions: LambdaRuntime, api: Any,
                               authorizer: Any, request: DataPlaneRequest, route_arn: str,
                               request_event: Mapping[str, Any]
                               ) -> dict[str, Any] | AuthorizerRejection:
    """Authorize a request to an HTTP API route with a Lambda authorizer.

    ``request_event`` is the request as a proxy event in the authorizer's payload format.
    Returns the authorizer's context, which reaches the integration as
    ``requestContext.authorizer.lambda``. Sources:
    https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-lambda-authorizer.html
    """
    forbidden = AuthorizerRejection(403, "Forbidden", {"message": "Forbidden"})
    failed = AuthorizerRejection(500, "InternalServerError",
                                 {"message": "Internal Server Error"})
    sources = authorizer.identity_source or []
    if isinstance(sources, str):
        sources = [part.strip() for part in sources.split(",")]
    values: list[str] = []
    for source in sources:
        value = _http_identity_value(str(source), request, request_event)
        if not value:
            return AuthorizerRejection(401, "Unauthorized", {"message": "Unauthorized"})
        values.append(value)

    version = str(authorizer.auth_payload_format_version or "2.0")
    event = {key: value for key, value in request_event.items()
             if key not in ("body", "isBase64Encoded")}
    if version == "2.0":
        event.update({"type": "REQUEST", "routeArn": route_arn, "identitySource": values})
    else:
        event.update({"type": "REQUEST", "methodArn": route_arn,
                      "identitySource": ",".join(values)})

    ttl = _ttl_or_zero(authorizer.auth_result_ttl)
    cache: dict[tuple[str, str, tuple[str, ...]], _Cached] = cloud.service_state.setdefault(
        _CACHE_STATE, {})
    cache_key = (str(api.api_id), str(authorizer.id), tuple(values))
    now = cloud.authorizer.clock()
    cached = cache.get(cache_key) if ttl > 0 and values else None
    if cached is not None and cached.expires > now:
        output: Mapping[str, Any] = cached.output
    else:
        invoked = _invoke_function(cloud, functions, str(api.api_id), authorizer,
                                   authorizer.authorizer_uri, authorizer.auth_creds_arn, event)
        if isinstance(invoked, AuthorizerRejection):
            return failed if invoked.status == 500 else invoked
        output = invoked
        if ttl > 0 and values:
            cache[cache_key] = _Cached(now + timedelta(seconds=ttl), output)

    if authorizer.enable_simple_response and version == "2.0":
        if output.get("isAuthorized") is not True:
            return forbidden
        context = output.get("context") or {}
        return dict(context) if isinstance(context, Mapping) else {}
    if "principalId" not in output or not isinstance(output.get("policyDocument"), Mapping):
        return failed
    decided = _decide(cloud, output, route_arn)
    if isinstance(decided, AuthorizerRejection):
        return forbidden if decided.status == 403 else failed
    context = output.get("context") or {}
    return {**(dict(context) if isinstance(context, Mapping) else {}),
            "principalId": decided.principal_id}


def _ttl_or_zero(value: Any) -> int:
    # HTTP API authorizers cache only when a TTL is set.
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def _http_identity_value(source: str, request: DataPlaneRequest,
                         request_event: Mapping[str, Any]) -> str | None:
    if source.startswith("$request.header."):
        return request.header(source[len("$request.header."):])
    if source.startswith("$request.querystring."):
        name = source[len("$request.querystring."):]
        for key, value in parse_qsl(request.raw_query, keep_blank_values=True):
            if key == name:
                return value
        return None
    if source.startswith("$stageVariables."):
        variables = request_event.get("stageVariables") or {}
        found = variables.get(source[len("$stageVariables."):])
        return None if found is None else str(found)
    if source.startswith("$context."):
        context = request_event.get("requestContext") or {}
        entry = context.get(source[len("$context."):])
        return None if entry is None else str(entry)
    logger.warning("identity source %r of an HTTP API authorizer is not supported", source)
    return None
