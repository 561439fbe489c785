"""REST API integrations other than Lambda proxy: AWS, HTTP and HTTP_PROXY.

An ``AWS`` integration with a Lambda URI invokes the function with the rendered request
template as its event; one that names another service runs in ``service_integrations.py``.
The function's result, or its error, is the integration response body, and a Lambda
error's ``errorMessage`` selects the integration response:
https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-custom-integrations.html
https://docs.aws.amazon.com/apigateway/latest/developerguide/handle-errors-in-lambda-integration.html
A mapped ``X-Amz-Invocation-Type: 'Event'`` header invokes the function asynchronously:
https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-integration-async.html

``HTTP`` and ``HTTP_PROXY`` integrations call an HTTP endpoint. windtunnel sends them only
to loopback hosts (127.0.0.0/8, ::1, localhost); any other host gets 500 and a log line
that names it, and no traffic leaves the machine.

The API's ``binaryMediaTypes`` and the ``contentHandling`` settings convert payloads as
``content_handling.py`` describes.

Limitations:
    VPC links and TLS client certificates are not supported. HTTPS endpoints must present
    a certificate that Python trusts.
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import logging
import re
import ssl
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from windtunnel.cloud.dataplane import DataPlaneRequest
from windtunnel.cloud.messages import AwsResponse
from windtunnel.cloud.protocols import AwsError
from windtunnel.services.apigateway.gateway_responses import GatewayError
from windtunnel.services.apigateway.mapping import (
    EndpointResponse,
    MappingFailed,
    MethodRequest,
    configuration_error,
    map_integration_response,
    map_request_parameters,
    transform_request_body,
)
from windtunnel.services.apigateway.permissions import gateway_may_invoke
from windtunnel.services.apigateway.service_integrations import run_service_integration

if TYPE_CHECKING:
    from windtunnel.cloud.pipeline import Cloud
    from windtunnel.iam.enforcement import Principal
    from windtunnel.runtime.functions import LambdaRuntime

__all__ = ["IntegrationCall", "function_of", "run_http_integration",
           "run_lambda_integration"]

logger = logging.getLogger(__name__)

_STAGE_VARIABLE = re.compile(r"\$\{stageVariables\.([A-Za-z0-9_.\-]+)\}")
_PATH_PARAMETER = re.compile(r"\{([A-Za-z0-9_.\-]+)\+?\}")
_LAMBDA_URI = re.compile(r"^arn:[^:]+:apigateway:[^:]+:lambda:path/[^/]+/functions/.+/invocations$")

# The default and maximum integration timeout of a REST API, in milliseconds:
# https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html
_DEFAULT_TIMEOUT_MS = 29_000

# Headers that describe one connection and are not forwarded by HTTP_PROXY.
_HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-connection", "transfer-encoding",
                         "upgrade", "te", "trailer", "host", "content-length"})


@dataclass(frozen=True)
class IntegrationCall:
    """One request to a method's integration, with what the integration may use."""

    cloud: Cloud
    functions: LambdaRuntime
    api_id: str
    method_definition: Any
    """moto's ``Method``, with ``method_integration`` and ``method_responses``."""
    request: DataPlaneRequest
    method: MethodRequest
    source_arn: str
    """The ``execute-api`` ARN of the request: the source ARN of a Lambda invocation."""
    caller: Principal | None
    request_id_headers: dict[str, str]

    @property
    def integration(self) -> Any:
        """moto's ``Integration`` of the method."""
        return self.method_definition.method_integration

    def with_binary_media_types(self) -> IntegrationCall:
        """Return this call with the API's ``binaryMediaTypes`` in its method request."""
        from moto.apigateway.models import apigateway_backends

        apis = apigateway_backends[self.cloud.account_id][self.cloud.region].apis
        api = apis.get(self.api_id)
        types = tuple(str(media_type) for media_type in
                      (getattr(api, "binaryMediaTypes", None) or ()))
        return replace(self, method=replace(self.method, binary_media_types=types))


def function_of(uri: str, variables: dict[str, str]) -> tuple[str, str | None]:
    """Return the function ARN and qualifier that a Lambda integration URI names.

    The URI has the form ``arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/
    {function ARN}/invocations``, and may refer to stage variables.
    """
    uri = _STAGE_VARIABLE.sub(lambda match: variables.get(match.group(1), ""), uri)
    function = uri.split("/functions/", 1)[-1]
    function = function.removesuffix("/invocations")
    name_and_qualifier = function.split(":function:", 1)
    if len(name_and_qualifier) == 2 and ":" in name_and_qualifier[1]:
        name, qualifier = name_and_qualifier[1].split(":", 1)
        return f"{name_and_qualifier[0]}:function:{name}", qualifier
    return function, None


def _not_emulated(message: str) -> MappingFailed:
    body = json.dumps({"message": message}).encode()
    return MappingFailed(GatewayError("API_CONFIGURATION_ERROR", 500, "Internal server error",
                                      "InternalServerErrorException", body=body))


# --- AWS (Lambda) ----------------------------------------------------------------------

def run_lambda_integration(call: IntegrationCall) -> AwsResponse:
    """Run an ``AWS`` integration: invoke a Lambda function (non-proxy) or call a service.

    Raises MappingFailed with the gateway error that ends the request.
    """
    call = call.with_binary_media_types()
    integration = call.integration
    uri = str(getattr(integration, "uri", "") or "")
    if not _LAMBDA_URI.match(uri):
        return run_service_integration(call)

    payload = transform_request_body(integration, call.method)
    parameters = map_request_parameters(integration, call.method)
    invocation_type = "RequestResponse"
    for name, value in parameters.header.items():
        if name.lower() == "x-amz-invocation-type" and value in ("Event", "RequestResponse"):
            invocation_type = value

    function_arn, qualifier = function_of(uri, call.method.stage_variables)
    if not gateway_may_invoke(call.cloud, function_arn, qualifier, call.source_arn,
                              getattr(integration, "credentials", None), call.caller):
        raise MappingFailed(configuration_error())
    if not payload.strip():
        # NOTE: an empty integration request body is sent to Lambda as {}; what AWS sends
        # for it is not documented.
        payload = b"{}"
    try:
        result = call.functions.invoke(function_arn, payload, qualifier=qualifier,
                                       invocation_type=invocation_type)
    except AwsError as error:
        # Not found, or a payload that is not JSON: Lambda rejects the invocation and API
        # Gateway returns 500.
        logger.warning("REST API %s could not invoke %s: %s", call.api_id, function_arn,
                       error)
        raise MappingFailed(configuration_error()) from error

    if result.function_error is not None:
        error_payload = result.error or {}
        message = error_payload.get("errorMessage")
        logger.info("REST API %s: function %s failed (%s)", call.api_id,
                    result.function_name, result.error_summary)
        endpoint = EndpointResponse(200, {}, result.raw_payload,
                                    selection_value="" if message is None else str(message),
                                    lambda_error=True)
    else:
        # NOTE: a successful invocation is matched against its status code, as LocalStack's
        # AWS-validated tests show; the AWS documentation describes only error matching.
        endpoint = EndpointResponse(200, {}, result.raw_payload, selection_value="200")
    return map_integration_response(integration, call.method_definition, endpoint,
                                    call.method, call.request_id_headers)


# --- HTTP and HTTP_PROXY ---------------------------------------------------------------

def run_http_integration(call: IntegrationCall) -> AwsResponse:
    """Run an ``HTTP`` or ``HTTP_PROXY`` integration against a loopback endpoint.

    Raises MappingFailed with the gateway error that ends the request.
    """
    call = call.with_binary_media_types()
    integration = call.integration
    proxy = str(getattr(integration, "integration_type", "")) == "HTTP_PROXY"
    parameters = map_request_parameters(integration, call.method)
    body = call.request.body if proxy else transform_request_body(integration, call.method)

    uri = _STAGE_VARIABLE.sub(
        lambda match: call.method.stage_variables.get(match.group(1), ""),
        str(getattr(integration, "uri", "") or ""))
    uri = _PATH_PARAMETER.sub(
        lambda match: quote(parameters.path.get(match.group(1), match.group(0)), safe="/"),
        uri)
    parts = urlsplit(uri)
    host = parts.hostname or ""
    if not _is_loopback(host):
        logger.warning("REST API %s: HTTP integration to %s not sent; windtunnel sends HTTP "
                       "integrations only to 127.0.0.1 or localhost", call.api_id, host)
        raise _not_emulated(f"windtunnel sends HTTP integrations only to 127.0.0.1 or "
                            f"localhost; the integration URI names the host {host!r}.")

    query = [parts.query] if parts.query else []
    if proxy and call.request.raw_query:
        query.append(call.request.raw_query)
    query.extend(f"{quote(name, safe='')}={quote(value, safe='')}"
                 for name, value in parameters.querystring.items())
    target = (parts.path or "/") + ("?" + "&".join(query) if query else "")

    headers: dict[str, str] = {}
    if proxy:
        for name, value in call.request.headers:
            if name.lower() not in _HOP_BY_HOP:
                headers[name] = value
    elif body:
        headers["Content-Type"] = call.method.content_type
    headers.update(parameters.header)

    method = str(getattr(integration, "http_method", None) or call.request.method).upper()
    if method == "ANY":
        method = call.request.method.upper()
    timeout = int(getattr(integration, "timeout_in_millis", None) or _DEFAULT_TIMEOUT_MS)
    status, response_headers, content = _send(parts.scheme, host, parts.port, method, target,
                                              headers, body, timeout / 1000, call.api_id)

    if proxy:
        forwarded = {name: value for name, value in response_headers.items()
                     if name.lower() not in _HOP_BY_HOP}
        forwarded.update(call.request_id_headers)
        return AwsResponse(status, forwarded, content)
    endpoint = EndpointResponse(status, response_headers, content, selection_value=str(status))
    return map_integration_response(integration, call.method_definition, endpoint,
                                    call.method, call.request_id_headers)


def _send(scheme: str, host: str, port: int | None, method: str, target: str,
          headers: dict[str, str], body: bytes, timeout: float, api_id: str
          ) -> tuple[int, dict[str, str], bytes]:
    connection: http.client.HTTPConnection
    if scheme == "https":
        connection = http.client.HTTPSConnection(host, port, timeout=timeout,
                                                 context=ssl.create_default_context())
    else:
        connection = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        connection.request(method, target, body=body or None, headers=headers)
        response = connection.getresponse()
        content = response.read()
        return response.status, dict(response.getheaders()), content
    except TimeoutError as error:
        logger.info("REST API %s: HTTP integration %s %s timed out", api_id, method, target)
        raise MappingFailed(GatewayError(
            "INTEGRATION_TIMEOUT", 504, "Endpoint request timed out",
            "InternalServerErrorException")) from error
    except (OSError, http.client.HTTPException) as error:
        # NOTE: which gateway response AWS returns when the endpoint refuses the
        # connection is not documented; INTEGRATION_FAILURE (504) is used here.
        logger.warning("REST API %s: HTTP integration %s %s failed: %s", api_id, method,
                       target, error)
        raise MappingFailed(GatewayError(
            "INTEGRATION_FAILURE", 504, "Internal server error",
            "InternalServerErrorException")) from error
    finally:
        connection.close()


def _is_loopback(host: str) -> bool:
    """Tell whether ``host`` is this machine: localhost, 127.0.0.0/8 or ::1."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
