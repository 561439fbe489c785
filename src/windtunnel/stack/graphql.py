"""``stack.graphql``: send GraphQL requests to a stack's AppSync API, in process.

Requests go through the same emulation as requests to the endpoint's
``/_aws/appsync-api/{api id}/graphql`` URLs, without a socket.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import httpx

from windtunnel.cloud.server import EndpointApp
from windtunnel.errors import WindtunnelError

if TYPE_CHECKING:
    from windtunnel.stack.local import EmulatedStack

__all__ = ["StackGraphql"]

_API_TYPE = "AWS::AppSync::GraphQLApi"


class StackGraphql:
    """Sends GraphQL queries and mutations to the GraphQL APIs of one stack."""

    def __init__(self, stack: EmulatedStack) -> None:
        self._stack = stack

    def __call__(self, query: str, variables: Mapping[str, Any] | None = None, *,
                 operation_name: str | None = None, api: str | None = None,
                 headers: Mapping[str, str] | None = None) -> httpx.Response:
        """POST a GraphQL request and return the HTTP response.

        ``api`` is the logical ID of the GraphQL API, needed when the stack has several.
        ``headers`` carry the credentials: ``x-api-key``, or ``Authorization`` with a
        user pool token.
        """
        body: dict[str, Any] = {"query": query}
        if variables is not None:
            body["variables"] = dict(variables)
        if operation_name is not None:
            body["operationName"] = operation_name
        with self.client(api) as client:
            return client.post("/graphql", json=body, headers=dict(headers or {}))

    def client(self, api: str | None = None) -> httpx.Client:
        """Return an HTTP client whose base URL is the API's GraphQL endpoint."""
        cloud = self._stack.environment.cloud
        base = f"{cloud.endpoint_url}/_aws/appsync-api/{self.api_id(api)}"
        transport = httpx.WSGITransport(app=EndpointApp(cloud))
        return httpx.Client(transport=transport, base_url=base)

    def api_id(self, api: str | None = None) -> str:
        """Return the API ID of the stack's GraphQL API, chosen by logical ID."""
        resources = self._stack.deployed.resources
        apis = [resource for resource in resources.values()
                if resource.resource_type == _API_TYPE
                and (api is None or resource.logical_id == api)]
        if len(apis) != 1:
            names = ", ".join(resource.logical_id for resource in resources.values()
                              if resource.resource_type == _API_TYPE) or "none"
            raise WindtunnelError(f"stack {self._stack.name} has no single GraphQL API to "
                                  f"choose (GraphQL APIs: {names}); pass api=LOGICAL_ID")
        return str(apis[0].attributes["ApiId"])
