"""Dispatch ``/_aws/execute-api/{api id}/...`` requests to the REST or HTTP API they name.

Limitations:
    WebSocket APIs, custom domain names and private APIs are not served.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from windtunnel.cloud.dataplane import DataPlaneRequest
from windtunnel.cloud.messages import AwsResponse

if TYPE_CHECKING:
    from windtunnel.cloud.pipeline import Cloud
    from windtunnel.runtime.functions import LambdaRuntime

__all__ = ["ExecuteApiPlane"]


class ExecuteApiPlane:
    """Serves the APIs deployed in one cloud."""

    plane = "execute-api"

    def __init__(self, cloud: Cloud, functions: LambdaRuntime) -> None:
        self.cloud = cloud
        self.functions = functions

    def __call__(self, request: DataPlaneRequest) -> AwsResponse:
        """Handle one request to an API's URL and return the response."""
        api_id, _, rest = request.path.lstrip("/").partition("/")
        path = "/" + rest
        if api_id in self._rest_api_ids():
            from windtunnel.services.apigateway.rest import handle_rest_api

            return handle_rest_api(self.cloud, self.functions, api_id, request, path)
        if api_id in self._http_api_ids():
            from windtunnel.services.apigateway.http_api import handle_http_api

            return handle_http_api(self.cloud, self.functions, api_id, request, path)
        # No API has this ID: in AWS its hostname would not resolve. Say so plainly.
        body = {"message": f"No REST or HTTP API with ID {api_id!r} is deployed here."}
        return AwsResponse(404, {"Content-Type": "application/json",
                                 "x-amzn-ErrorType": "NotFoundException"},
                           json.dumps(body).encode())

    def _rest_api_ids(self) -> set[str]:
        from moto.apigateway.models import apigateway_backends

        backend = apigateway_backends[self.cloud.account_id][self.cloud.region]
        return set(backend.apis)

    def _http_api_ids(self) -> set[str]:
        from moto.apigatewayv2.models import apigatewayv2_backends

        backend = apigatewayv2_backends[self.cloud.account_id][self.cloud.region]
        return set(backend.apis)
