"""``stack.graphql``: send GraphQL requests to a stack's AppSync API, in process.

Requests go through the same emulation as requests to the endpoint's
``/_aws/appsync-api/{api id}/graphql`` URLs, without a socket. Subscriptions started with
``subscribe`` run AppSync's real-time protocol in process: the same authorization,
resolver, filters and ``data`` payloads as over the real-time endpoint's WebSocket.
"""

from __future__ import annotations

import json
import queue
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import httpx

from windtunnel.cloud.server import EndpointApp
from windtunnel.errors import WindtunnelError
from windtunnel.services.appsync.realtime import RealtimeConnection

if TYPE_CHECKING:
    from windtunnel.stack.local import EmulatedStack

__all__ = ["GraphqlSubscription", "GraphqlSubscriptionError", "StackGraphql"]

_API_TYPE = "AWS::AppSync::GraphQLApi"


class GraphqlSubscriptionError(WindtunnelError):
    """A subscription that AppSync rejected; ``errors`` are the entries it sent."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        self.errors = errors
        summary = "; ".join(f"{entry.get('errorType')}: {entry.get('message')}"
                            for entry in errors)
        super().__init__(f"the subscription was rejected: {summary}")


class GraphqlSubscription:
    """A started subscription: the ``data`` payloads that mutations delivered to it."""

    def __init__(self, connection: RealtimeConnection, messages: queue.SimpleQueue[Any],
                 subscription_id: str) -> None:
        self._connection = connection
        self._messages = messages
        self.subscription_id = subscription_id

    def next(self, timeout: float = 1.0) -> dict[str, Any]:
        """Return the next payload (``{"data": ...}``, with ``errors`` when some fields
        failed); raise TimeoutError when none arrives within ``timeout`` seconds."""
        while True:
            try:
                message = self._messages.get(timeout=timeout)
            except queue.Empty:
                raise TimeoutError(f"no subscription data within {timeout} s") from None
            if message.get("type") == "data":
                payload: dict[str, Any] = message["payload"]
                return payload

    def pending(self) -> list[dict[str, Any]]:
        """Return the payloads delivered and not yet read, without waiting."""
        payloads: list[dict[str, Any]] = []
        while True:
            try:
                message = self._messages.get_nowait()
            except queue.Empty:
                return payloads
            if message.get("type") == "data":
                payloads.append(message["payload"])

    def close(self) -> None:
        """Stop the subscription."""
        self._connection.close()

    def __enter__(self) -> GraphqlSubscription:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


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

    def subscribe(self, query: str, variables: Mapping[str, Any] | None = None, *,
                  operation_name: str | None = None, api: str | None = None,
                  headers: Mapping[str, str] | None = None) -> GraphqlSubscription:
        """Start a subscription and return it; raise GraphqlSubscriptionError when AppSync
        would reject it (credentials, validation, the field's authorization or resolver).

        ``headers`` authorize both the connection and the subscription, as a client's
        ``header`` parameter and ``extensions.authorization`` do.
        """
        from windtunnel.services.appsync.dataplane import GraphqlPlane

        plane = self._stack.environment.cloud.data_planes[GraphqlPlane.plane]
        assert isinstance(plane, GraphqlPlane)
        api_id = self.api_id(api)
        messages: queue.SimpleQueue[dict[str, Any]] = queue.SimpleQueue()

        def send(message: dict[str, Any]) -> bool:
            messages.put(message)
            return True

        authorization = dict(headers or {})
        connection = RealtimeConnection(plane, api_id, api_id, authorization, "127.0.0.1",
                                        keep_alive_seconds=0, send=send)
        rejection = connection.authenticate_connection()
        if rejection is not None:
            raise GraphqlSubscriptionError([{"errorType": rejection.error_type,
                                             "message": rejection.message,
                                             "errorCode": rejection.status}])
        data: dict[str, Any] = {"query": query, "variables": dict(variables or {})}
        if operation_name is not None:
            data["operationName"] = operation_name
        subscription_id = str(uuid.uuid4())
        connection.handle({"id": subscription_id, "type": "start", "payload": {
            "data": json.dumps(data), "extensions": {"authorization": authorization}}})
        answer = messages.get_nowait()
        if answer.get("type") != "start_ack":
            connection.close()
            raise GraphqlSubscriptionError(list(answer.get("payload", {}).get("errors", [])))
        return GraphqlSubscription(connection, messages, subscription_id)

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
