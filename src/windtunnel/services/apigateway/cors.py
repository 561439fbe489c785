"""CORS of HTTP APIs: preflight responses and the CORS headers of responses.

With a CORS configuration, API Gateway responds to preflight ``OPTIONS`` requests itself, even
without an OPTIONS route, and adds the configured CORS headers to the integration's
responses, ignoring CORS headers that the integration returns. Source:
https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-cors.html
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from windtunnel.cloud.dataplane import DataPlaneRequest
from windtunnel.cloud.messages import AwsResponse

__all__ = ["add_cors_headers", "preflight_response"]


def _configuration(api: Any) -> dict[str, Any] | None:
    configuration = getattr(api, "cors_configuration", None)
    if not isinstance(configuration, Mapping):
        return None
    # The API stores the keys as its JSON wire shape writes them (allowOrigins).
    return {str(key).lower(): value for key, value in configuration.items()}


def _allowed_origin(configuration: Mapping[str, Any], origin: str | None) -> str | None:
    if origin is None:
        return None
    origins = [str(value) for value in configuration.get("alloworigins") or []]
    if "*" in origins:
        return "*"
    return origin if origin in origins else None


def _joined(values: Any) -> str:
    return ",".join(str(value) for value in values or [])


def preflight_response(api: Any, request: DataPlaneRequest,
                       request_id: str) -> AwsResponse | None:
    """Respond to a CORS preflight request when the API has a CORS configuration, else None."""
    configuration = _configuration(api)
    if configuration is None or request.method.upper() != "OPTIONS":
        return None
    if request.header("Access-Control-Request-Method") is None:
        return None
    headers = {"apigw-requestid": request_id}
    origin = _allowed_origin(configuration, request.header("Origin"))
    if origin is not None:
        headers["access-control-allow-origin"] = origin
        if configuration.get("allowmethods"):
            headers["access-control-allow-methods"] = _joined(configuration["allowmethods"])
        if configuration.get("allowheaders"):
            headers["access-control-allow-headers"] = _joined(configuration["allowheaders"])
        if configuration.get("maxage") is not None:
            headers["access-control-max-age"] = str(configuration["maxage"])
        if configuration.get("allowcredentials"):
            headers["access-control-allow-credentials"] = "true"
    return AwsResponse(204, headers, b"")


def add_cors_headers(api: Any, request: DataPlaneRequest, response: AwsResponse) -> None:
    """Replace the response's CORS headers with those the API's configuration gives."""
    configuration = _configuration(api)
    if configuration is None:
        return
    for name in list(response.headers):
        if name.lower().startswith("access-control-"):
            del response.headers[name]
    origin = _allowed_origin(configuration, request.header("Origin"))
    if origin is None:
        return
    response.headers["access-control-allow-origin"] = origin
    if configuration.get("exposeheaders"):
        response.headers["access-control-expose-headers"] = _joined(
            configuration["exposeheaders"])
    if configuration.get("allowcredentials"):
        response.headers["access-control-allow-credentials"] = "true"
