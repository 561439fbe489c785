"""Gateway responses of REST APIs: the errors API Gateway returns, with their customizations.

Every error that the REST data plane returns instead of an integration's response goes
through :func:`gateway_response`. An API may customize a response type
(``AWS::ApiGateway::GatewayResponse`` or ``x-amazon-apigateway-gateway-responses``) with a
status code, header mappings and body templates. A type without its own customization
takes ``DEFAULT_4XX`` or ``DEFAULT_5XX``, by its default status code. Sources:
https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-gatewayResponse-definition.html
https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html

Limitations:
    A gateway response template is rendered by the Velocity engine of mapping templates,
    which substitutes the same ``$context`` and ``$stageVariables`` references as AWS's
    simple substitution but also runs Velocity directives that AWS would print as text.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from windtunnel.cloud.messages import AwsResponse
from windtunnel.vtl import VtlError, render_mapping_template

__all__ = ["DEFAULT_STATUS", "ErrorScope", "GatewayError", "error_for_rejection",
           "gateway_response"]

logger = logging.getLogger(__name__)

# Each response type with its default status code, from the table in
# https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html
# DEFAULT_4XX and DEFAULT_5XX have none: they keep the status of the error they stand for.
DEFAULT_STATUS: Mapping[str, int | None] = {
    "ACCESS_DENIED": 403,
    "API_CONFIGURATION_ERROR": 500,
    "AUTHORIZER_CONFIGURATION_ERROR": 500,
    "AUTHORIZER_FAILURE": 500,
    "BAD_REQUEST_PARAMETERS": 400,
    "BAD_REQUEST_BODY": 400,
    "DEFAULT_4XX": None,
    "DEFAULT_5XX": None,
    "EXPIRED_TOKEN": 403,
    "INTEGRATION_FAILURE": 504,
    "INTEGRATION_TIMEOUT": 504,
    "INVALID_API_KEY": 403,
    "INVALID_SIGNATURE": 403,
    "MISSING_AUTHENTICATION_TOKEN": 403,
    "QUOTA_EXCEEDED": 429,
    "REQUEST_TOO_LARGE": 413,
    "RESOURCE_NOT_FOUND": 404,
    "THROTTLED": 429,
    "UNAUTHORIZED": 401,
    "UNSUPPORTED_MEDIA_TYPE": 415,
    "WAF_FILTERED": 403,
}

# The body template of a gateway response that sets none.
_DEFAULT_TEMPLATE = '{"message":$context.error.messageString}'

# Response types by the x-amzn-ErrorType of the rejections that authorizers, IAM
# authorization and API keys return.
_TYPE_BY_ERROR = {
    "MissingAuthenticationTokenException": "MISSING_AUTHENTICATION_TOKEN",
    "InvalidSignatureException": "INVALID_SIGNATURE",
    "AccessDeniedException": "ACCESS_DENIED",
    "UnauthorizedException": "UNAUTHORIZED",
    "Unauthorized": "UNAUTHORIZED",
    "AuthorizerConfigurationException": "AUTHORIZER_CONFIGURATION_ERROR",
    "TooManyRequestsException": "THROTTLED",
    "LimitExceededException": "QUOTA_EXCEEDED",
}


@dataclass(frozen=True)
class GatewayError:
    """An error that API Gateway returns instead of the integration's response."""

    response_type: str
    status: int
    message: str | None
    """``$context.error.message``. None renders ``$context.error.messageString`` as null."""
    error_type: str
    """The ``x-amzn-ErrorType`` header."""
    body: bytes | None = None
    """The body without customization, when it is not the default ``{"message":...}``."""
    validation_error: str = ""
    """``$context.error.validationErrorString``: why request validation failed."""


@dataclass(frozen=True)
class ErrorScope:
    """The request data that a gateway response's mappings and templates read."""

    request_id: str
    extended_request_id: str
    context: Mapping[str, Any] = field(default_factory=dict)
    """The ``$context`` variables, without ``error``."""
    stage_variables: Mapping[str, str] = field(default_factory=dict)
    params: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    """The method request parameters by location: ``path``, ``querystring``, ``header``."""
    accept: str | None = None


def error_for_rejection(status: int, error_type: str, message: str | None,
                        body: Mapping[str, Any] | None = None) -> GatewayError:
    """Return the gateway error for a rejection by an authorizer, IAM or an API key check.

    ``body`` is the rejection's own body when it differs from ``{"message": ...}``, as for
    a Lambda authorizer's explicit deny (``{"Message": ...}``).
    """
    response_type = _TYPE_BY_ERROR.get(error_type)
    if response_type is None and error_type == "ForbiddenException" and status == 403:
        # The API key check is the one rejection that returns ForbiddenException.
        response_type = "INVALID_API_KEY"
    if response_type is None and status == 403:
        response_type = "ACCESS_DENIED"
    if response_type is None and error_type == "InternalServerError" and status == 500:
        response_type = "AUTHORIZER_FAILURE"
    if response_type is None:
        response_type = "DEFAULT_5XX" if status >= 500 else "DEFAULT_4XX"
    encoded = None
    if body is not None:
        encoded = json.dumps(dict(body), separators=(",", ":")).encode()
    return GatewayError(response_type, status, message, error_type, encoded)


def gateway_response(api: Any, error: GatewayError, scope: ErrorScope) -> AwsResponse:
    """Return the response for ``error``, applying the API's customization of its type.

    ``api`` is moto's ``RestAPI``, or None where no API applies (a stage that does not
    exist has no deployment whose gateway responses could apply).
    """
    customization, status = _customization(api, error)
    headers = {"Content-Type": "application/json", "x-amzn-ErrorType": error.error_type,
               "x-amzn-RequestId": scope.request_id,
               "x-amz-apigw-id": scope.extended_request_id}
    if customization is None:
        body = error.body
        if body is None:
            body = json.dumps({"message": error.message}, separators=(",", ":")).encode()
        return AwsResponse(status, headers, body)

    context = dict(scope.context)
    context["error"] = {
        "message": error.message,
        "messageString": json.dumps(error.message),
        "responseType": error.response_type,
        "validationErrorString": error.validation_error,
    }
    for name, value in _response_headers(customization, context, scope).items():
        headers[name] = value

    templates = dict(getattr(customization, "response_templates", None) or {})
    content_type, template = _select_template(templates, scope.accept)
    if content_type is not None:
        headers["Content-Type"] = content_type
    try:
        body_text = render_mapping_template(
            template, params=scope.params, context=context,
            stage_variables=scope.stage_variables)
    except VtlError as failure:
        logger.warning("gateway response %s: template failed: %s", error.response_type,
                       failure)
        body_text = json.dumps({"message": error.message}, separators=(",", ":"))
    return AwsResponse(status, headers, body_text.encode("utf-8"))


def _customization(api: Any, error: GatewayError) -> tuple[Any, int]:
    """Return the customization that applies to ``error`` (or None) and the status code.

    A type's own customization wins. Otherwise DEFAULT_4XX or DEFAULT_5XX applies by the
    type's default status code, and its status code, if it sets one, replaces the
    error's.
    """
    responses: Mapping[str, Any] = (getattr(api, "gateway_responses", None) or {}
                                    if api is not None else {})
    own = responses.get(error.response_type)
    if own is not None:
        return own, _status(own, error.status)
    default_status = DEFAULT_STATUS.get(error.response_type) or error.status
    fallback = responses.get("DEFAULT_5XX" if default_status >= 500 else "DEFAULT_4XX")
    if fallback is not None:
        return fallback, _status(fallback, error.status)
    return None, error.status


def _status(customization: Any, status: int) -> int:
    code = getattr(customization, "status_code", None)
    if code is None or str(code).strip() == "":
        return status
    try:
        return int(str(code))
    except ValueError:
        logger.warning("gateway response status code %r is not a number; using %s", code,
                       status)
        return status


def _select_template(templates: Mapping[str, Any], accept: str | None
                     ) -> tuple[str | None, str]:
    """Select the body template by the Accept header, else application/json, else the first."""
    usable = {str(key): str(value) for key, value in templates.items() if value is not None}
    if not usable:
        return None, _DEFAULT_TEMPLATE
    if accept:
        media_type = accept.split(",", 1)[0].split(";", 1)[0].strip().lower()
        if media_type in usable:
            return media_type, usable[media_type]
    if "application/json" in usable:
        return "application/json", usable["application/json"]
    content_type = next(iter(usable))
    return content_type, usable[content_type]


def _response_headers(customization: Any, context: Mapping[str, Any], scope: ErrorScope
                      ) -> dict[str, str]:
    """Evaluate ``gatewayresponse.header.*`` mappings. A source without a value sets nothing."""
    headers: dict[str, str] = {}
    for target, source in (getattr(customization, "response_parameters", None) or {}).items():
        location, _, name = str(target).removeprefix("gatewayresponse.").partition(".")
        if location != "header" or not name:
            logger.warning("gateway response parameter %s is not a header mapping; skipped",
                           target)
            continue
        value = _source_value(str(source), context, scope)
        if value is not None:
            headers[name] = value
    return headers


def _source_value(source: str, context: Mapping[str, Any], scope: ErrorScope) -> str | None:
    """Return the value of a mapping expression: a literal, a request parameter, a
    stage variable or a context variable."""
    if len(source) >= 2 and source.startswith("'") and source.endswith("'"):
        return source[1:-1]
    if source.startswith("method.request."):
        location, _, name = source.removeprefix("method.request.").partition(".")
        values = scope.params.get(location, {})
        if location == "header":
            lowered = {key.lower(): value for key, value in values.items()}
            return lowered.get(name.lower())
        return values.get(name)
    if source.startswith("stageVariables."):
        return scope.stage_variables.get(source.removeprefix("stageVariables."))
    if source.startswith("context."):
        value: Any = context
        for part in source.removeprefix("context.").split("."):
            if not isinstance(value, Mapping) or part not in value:
                return None
            value = value[part]
        return None if value is None else str(value)
    logger.warning("gateway response mapping source %s is not supported; skipped", source)
    return None
