"""Data mapping of REST API non-proxy integrations: templates, parameters and responses.

The request side selects a request template by the Content-Type (``application/json``
when absent) and applies the integration's ``passthroughBehavior`` when none matches. It
also maps ``integration.request.*`` parameters. The response side selects an integration
response by its ``selectionPattern``, maps ``method.response.header.*`` parameters and
renders the response template chosen by the Accept header. Sources:
https://docs.aws.amazon.com/apigateway/latest/developerguide/request-response-data-mappings.html
https://docs.aws.amazon.com/apigateway/latest/developerguide/integration-passthrough-behaviors.html
https://docs.aws.amazon.com/apigateway/latest/developerguide/handle-errors-in-lambda-integration.html

Binary payloads and ``contentHandling`` follow ``content_handling.py``: templates map
text payloads only.

Limitations:
    ``$context.requestOverride`` and ``$context.responseOverride`` are not applied.
    ``method.request.multivalue*`` sources are not supported.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from windtunnel.cloud.dataplane import DataPlaneRequest
from windtunnel.cloud.messages import AwsResponse
from windtunnel.services.apigateway.content_handling import (
    CONVERT_TO_BINARY,
    CONVERT_TO_TEXT,
    ConversionFailed,
    convert_request_payload,
    convert_response_payload,
)
from windtunnel.services.apigateway.gateway_responses import GatewayError
from windtunnel.vtl import VtlError, render_mapping_template
from windtunnel.vtl.jsonpath import JsonPathError, evaluate_jsonpath

__all__ = [
    "EndpointResponse",
    "IntegrationRequest",
    "MappingFailed",
    "MethodRequest",
    "configuration_error",
    "content_handling_of",
    "map_integration_response",
    "map_request_parameters",
    "method_request",
    "transform_request_body",
]

logger = logging.getLogger(__name__)

_PASSTHROUGH_BEHAVIORS = ("WHEN_NO_MATCH", "WHEN_NO_TEMPLATES", "NEVER")


class MappingFailed(Exception):
    """Raised when a mapping step ends the request with a gateway error."""

    def __init__(self, error: GatewayError) -> None:
        super().__init__(error.message)
        self.error = error


def configuration_error() -> GatewayError:
    """Return API_CONFIGURATION_ERROR: 500 ``Internal server error``."""
    return GatewayError("API_CONFIGURATION_ERROR", 500, "Internal server error",
                        "InternalServerErrorException",
                        body=b'{"message": "Internal server error"}')


@dataclass(frozen=True)
class MethodRequest:
    """The method request as mapping templates and parameter mappings read it."""

    body: bytes
    params: dict[str, dict[str, str]]
    """Parameters by location: ``path``, ``querystring`` and ``header``."""
    context: dict[str, Any]
    """The ``$context`` variables."""
    stage_variables: dict[str, str]
    content_type: str
    """The media type of the Content-Type header, ``application/json`` when absent."""
    accept: str | None
    binary_media_types: tuple[str, ...] = ()
    """The API's ``binaryMediaTypes``, which tell binary payloads from text."""

    @property
    def text(self) -> str:
        """The body as text; invalid UTF-8 bytes are replaced."""
        return self.body.decode("utf-8", errors="replace")


def method_request(request: DataPlaneRequest, path_parameters: Mapping[str, str],
                   context: Mapping[str, Any], stage_variables: Mapping[str, str]
                   ) -> MethodRequest:
    """Collect what the mappings of one request read."""
    headers: dict[str, str] = {}
    for name, value in request.headers:
        headers.setdefault(name, value)
    query: dict[str, str] = {}
    for name, value in parse_qsl(request.raw_query, keep_blank_values=True):
        # A repeated query parameter maps its last value, as in the proxy event.
        query[name] = value
    content_type = (request.header("Content-Type") or "application/json")
    return MethodRequest(
        body=request.body,
        params={"path": dict(path_parameters), "querystring": query, "header": headers},
        context=dict(context),
        stage_variables=dict(stage_variables),
        content_type=_media_type(content_type),
        accept=request.header("Accept"),
    )


def _media_type(header: str) -> str:
    return header.split(";", 1)[0].strip().lower()


# --- the integration request -----------------------------------------------------------

def transform_request_body(integration: Any, method: MethodRequest) -> bytes:
    """Return the integration request body: the rendered template or the passed-through body.

    Raises MappingFailed with 415 ``Unsupported Media Type`` when no template matches and
    ``passthroughBehavior`` forbids passing the body through, and with 500 when the template
    fails.
    """
    templates = {_media_type(str(key)): value
                 for key, value in (getattr(integration, "request_templates", None) or {}).items()}
    behavior = str(getattr(integration, "passthrough_behaviour", None) or "WHEN_NO_MATCH").upper()
    if behavior not in _PASSTHROUGH_BEHAVIORS:
        logger.warning("unknown passthroughBehavior %s; treated as WHEN_NO_MATCH", behavior)
        behavior = "WHEN_NO_MATCH"

    try:
        payload = convert_request_payload(method.body, method.content_type,
                                          method.binary_media_types,
                                          content_handling_of(integration))
    except ConversionFailed as error:
        raise MappingFailed(configuration_error()) from error

    if payload.is_text and method.content_type in templates:
        template = templates[method.content_type]
        text = payload.body.decode("utf-8", errors="replace")
        return _render(template or "", method, text, "request").encode("utf-8")

    # NOTE: a binary payload is treated as matching no template, so passthroughBehavior
    # decides whether it passes; AWS documents only that passthrough must be enabled.
    passes = (behavior == "WHEN_NO_MATCH"
              or (behavior == "WHEN_NO_TEMPLATES" and not templates))
    if not passes:
        raise MappingFailed(GatewayError("UNSUPPORTED_MEDIA_TYPE", 415,
                                         "Unsupported Media Type",
                                         "UnsupportedMediaTypeException"))
    return payload.body


def content_handling_of(definition: Any) -> str | None:
    """Return the ``contentHandling`` of an integration or integration response.

    Any value other than CONVERT_TO_BINARY and CONVERT_TO_TEXT (unset, or the console's
    "Passthrough") leaves payloads as they are.
    """
    value = str(getattr(definition, "content_handling", None) or "").upper()
    return value if value in (CONVERT_TO_BINARY, CONVERT_TO_TEXT) else None


def _render(template: str, method: MethodRequest, body: str, side: str) -> str:
    try:
        return render_mapping_template(template, body=body, params=method.params,
                                       context=method.context,
                                       stage_variables=method.stage_variables)
    except VtlError as error:
        # AWS writes "Execution failed due to configuration error: Unable to transform
        # request" to the execution log and returns 500.
        logger.warning("API Gateway: the %s mapping template failed: %s", side, error)
        raise MappingFailed(configuration_error()) from error


@dataclass(frozen=True)
class IntegrationRequest:
    """The integration request parameters that ``requestParameters`` mapped."""

    path: dict[str, str] = field(default_factory=dict)
    querystring: dict[str, str] = field(default_factory=dict)
    header: dict[str, str] = field(default_factory=dict)


def map_request_parameters(integration: Any, method: MethodRequest) -> IntegrationRequest:
    """Evaluate ``integration.request.{path,querystring,header}.NAME`` mappings.

    A source without a value (a parameter the request lacks) maps nothing.
    """
    mapped = IntegrationRequest()
    for target, source in (getattr(integration, "request_parameters", None) or {}).items():
        location, _, name = str(target).removeprefix("integration.request.").partition(".")
        destination = {"path": mapped.path, "querystring": mapped.querystring,
                       "header": mapped.header}.get(location)
        if destination is None or not name:
            logger.warning("integration request parameter %s is not supported; skipped",
                           target)
            continue
        value = _request_source(str(source), method)
        if value is not None:
            destination[name] = value
    return mapped


def _request_source(source: str, method: MethodRequest) -> str | None:
    if source.startswith("method.request.body"):
        return _body_value(source.removeprefix("method.request.body"), method.text)
    if source.startswith("method.request."):
        location, _, name = source.removeprefix("method.request.").partition(".")
        values = method.params.get(location, {})
        if location == "header":
            return _header(values, name)
        return values.get(name)
    return _common_source(source, method)


def _common_source(source: str, method: MethodRequest) -> str | None:
    """Evaluate a literal, a stage variable or a context variable."""
    if len(source) >= 2 and source.startswith("'") and source.endswith("'"):
        return source[1:-1]
    if source.startswith("stageVariables."):
        return method.stage_variables.get(source.removeprefix("stageVariables."))
    if source.startswith("context."):
        value: Any = method.context
        for part in source.removeprefix("context.").split("."):
            if not isinstance(value, Mapping) or part not in value:
                return None
            value = value[part]
        return None if value is None else str(value)
    logger.warning("API Gateway mapping source %s is not supported; skipped", source)
    return None


def _header(headers: Mapping[str, str], name: str) -> str | None:
    lowered = name.lower()
    for key, value in headers.items():
        if key.lower() == lowered:
            return value
    return None


def _body_value(path: str, text: str, *, parse_nested: bool = False) -> str | None:
    """Return the body (``path`` empty) or the JSON field that ``.path`` names, as text."""
    if not path:
        return text
    if not path.startswith("."):
        return None
    try:
        document = json.loads(text) if text.strip() else None
    except ValueError:
        return None
    if parse_nested:
        document = _parse_nested(document)
    try:
        value, found = evaluate_jsonpath(document, "$" + path)
    except JsonPathError as error:
        logger.warning("API Gateway mapping: invalid JSONPath $%s: %s", path, error)
        return None
    if not found or value is None:
        return None
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"))


def _parse_nested(document: Any) -> Any:
    """Parse a Lambda error's ``errorMessage`` when it contains JSON text.

    API Gateway deserializes it for body-to-header mappings of Lambda custom errors:
    https://docs.aws.amazon.com/apigateway/latest/developerguide/handle-errors-in-lambda-integration.html
    """
    if isinstance(document, dict) and isinstance(document.get("errorMessage"), str):
        try:
            nested = json.loads(document["errorMessage"])
        except ValueError:
            return document
        return {**document, "errorMessage": nested}
    return document


# --- the integration response ----------------------------------------------------------

@dataclass(frozen=True)
class EndpointResponse:
    """The backend's response before integration response mapping."""

    status: int
    headers: dict[str, str]
    body: bytes
    selection_value: str
    """The text that ``selectionPattern`` is matched against: a Lambda error's
    ``errorMessage``, or the status code."""
    lambda_error: bool = False


def map_integration_response(integration: Any, method_definition: Any,
                             endpoint: EndpointResponse, method: MethodRequest,
                             request_id_headers: Mapping[str, str]) -> AwsResponse:
    """Turn the backend's response into the method response.

    Raises MappingFailed (500) when no integration response matches and none is the
    default, when the chosen status code has no method response, or when the response
    template fails.
    """
    chosen = _select_integration_response(integration, endpoint.selection_value)
    status = str(getattr(chosen, "status_code", ""))
    method_responses = getattr(method_definition, "method_responses", None) or {}
    if status not in {str(code) for code in method_responses}:
        # "Output mapping refers to an invalid method response" in the execution log.
        logger.warning("API Gateway: integration response %s has no method response with "
                       "that status code; returning 500", status)
        raise MappingFailed(configuration_error())

    try:
        payload = convert_response_payload(
            endpoint.body, _header(endpoint.headers, "Content-Type"), method.accept,
            method.binary_media_types, content_handling_of(chosen))
    except ConversionFailed as error:
        raise MappingFailed(configuration_error()) from error

    headers: dict[str, str] = {}
    body_text = endpoint.body.decode("utf-8", errors="replace")
    for target, source in (getattr(chosen, "response_parameters", None) or {}).items():
        name = str(target).removeprefix("method.response.header.")
        if name == str(target):
            logger.warning("integration response parameter %s is not a header; skipped",
                           target)
            continue
        value = _response_source(str(source), endpoint, body_text, method)
        if value is not None:
            headers[name] = value

    templates = {str(key): value for key, value in
                 (getattr(chosen, "response_templates", None) or {}).items()}
    content_type, template = _response_template(templates, method.accept)
    if template is None or not payload.is_text:
        body = payload.body
    else:
        text = payload.body.decode("utf-8", errors="replace")
        body = _render(template, method, text, "response").encode("utf-8")
    if not any(name.lower() == "content-type" for name in headers):
        headers["Content-Type"] = content_type
    headers.update(request_id_headers)
    return AwsResponse(int(status), headers, body)


def _select_integration_response(integration: Any, selection_value: str) -> Any:
    """Return the integration response whose pattern matches, else the default one.

    API Gateway matches Java regular expressions against the whole value; Python's
    ``re.fullmatch`` is used here, which agrees for the common syntax.
    """
    responses = list((getattr(integration, "integration_responses", None) or {}).values())
    for response in responses:
        pattern = getattr(response, "selection_pattern", None)
        if not pattern:
            continue
        try:
            if re.fullmatch(str(pattern), selection_value):
                return response
        except re.error as error:
            logger.warning("selectionPattern %r is not a valid regular expression: %s",
                           pattern, error)
    for response in responses:
        if not getattr(response, "selection_pattern", None):
            return response
    logger.warning("API Gateway: no integration response matches %r and none is the "
                   "default; returning 500", selection_value)
    raise MappingFailed(configuration_error())


def _response_template(templates: Mapping[str, Any], accept: str | None
                       ) -> tuple[str, str | None]:
    """Select a response template by the Accept header, else application/json, else the first.

    Returns the content type and the template, None when the body passes through
    unmapped: when there is no template, or the selected one is empty.
    """
    if not templates:
        return "application/json", None
    selected = None
    if accept:
        media_type = _media_type(accept.split(",", 1)[0])
        if media_type in templates:
            selected = media_type
    if selected is None:
        selected = "application/json" if "application/json" in templates else next(
            iter(templates))
    template = templates[selected]
    return selected, str(template) if template else None


def _response_source(source: str, endpoint: EndpointResponse, body_text: str,
                     method: MethodRequest) -> str | None:
    if source.startswith("integration.response.header."):
        return _header(endpoint.headers, source.removeprefix("integration.response.header."))
    if source.startswith("integration.response.body"):
        return _body_value(source.removeprefix("integration.response.body"), body_text,
                           parse_nested=endpoint.lambda_error)
    return _common_source(source, method)
