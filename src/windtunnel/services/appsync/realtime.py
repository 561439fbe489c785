"""Serve AppSync's real-time endpoint: GraphQL subscriptions over WebSocket.

A client connects to ``wss://{dns label}.appsync-realtime-api.{region}.amazonaws.com/graphql``
(locally ``ws://127.0.0.1:{port}/_aws/appsync-realtime-api/{api}/graphql``) with the
``graphql-ws`` subprotocol. The connection's authorization headers come base64-encoded as
JSON, in the ``header`` query parameter or in a ``header-{base64url}`` subprotocol. Then:

- ``connection_init`` → ``connection_ack`` with ``connectionTimeoutMs``, then ``ka``
  (keep-alive) messages at intervals;
- ``start`` with an ``id`` and ``payload.data`` (the JSON text of ``query``, ``variables``,
  ``operationName``) and ``payload.extensions.authorization`` (the headers that authorize
  the subscription) → ``start_ack``, then ``data`` messages as mutations trigger it;
- ``stop`` → ``complete``;
- problems → ``error`` (with the ``id``) or ``connection_error``, each with a ``payload``
  holding ``errors`` entries of ``errorType`` and ``message``.

Sources: https://docs.aws.amazon.com/appsync/latest/devguide/real-time-websocket-client.html
(the handshake, the header formats per authorization mode, the message types and their
fields, ``connectionTimeoutMs`` of 300000) and
https://docs.aws.amazon.com/appsync/latest/devguide/aws-appsync-real-time-data.html.

Limitations:
- ``ka`` messages go out every :data:`KEEP_ALIVE_SECONDS` of wall time; AWS documents no
  interval, only that a client closes the connection after ``connectionTimeoutMs``
  without one.
- The messages of protocol errors (a message that is not JSON, an unknown type, a start
  without an ID, a duplicate ID) are windtunnel's. NOTE: AWS documents the message types
  and the ``errorType``/``message`` fields, not these texts.
- Connection and subscription quotas (connection duration, subscriptions per connection)
  are not enforced.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any

from graphql import GraphQLError, GraphQLResolveInfo, OperationType, execute_sync

from windtunnel.cloud.dataplane import DataPlaneRequest
from windtunnel.cloud.messages import AwsResponse
from windtunnel.cloud.websocket import WebSocketAcceptance, WebSocketSession
from windtunnel.deploy.resources.appsync import graphql_api_configuration
from windtunnel.services.appsync.auth import Caller, Rejection, authenticate, field_denial
from windtunnel.services.appsync.dataplane import GraphqlPlane, error_entry, error_response
from windtunnel.services.appsync.resolvers import ResolverError, resolve_field
from windtunnel.services.appsync.subscriptions import (
    Subscription,
    check_filter,
    top_level_fields,
)
from windtunnel.vtl.appsync import GraphqlError

__all__ = ["CONNECTION_TIMEOUT_MS", "KEEP_ALIVE_SECONDS", "RealtimeConnection",
           "RealtimePlane"]

logger = logging.getLogger(__name__)

SUBPROTOCOL = "graphql-ws"
CONNECTION_TIMEOUT_MS = 300_000
"""The ``connectionTimeoutMs`` of ``connection_ack``, as AWS's documented example shows."""
KEEP_ALIVE_SECONDS = 60.0
# AppSync names the operation that the real-time endpoint does not run this way.
_NOT_A_SUBSCRIPTION = "Operation not supported through the realtime channel"


class RealtimePlane:
    """Accepts WebSocket connections to the real-time endpoints of the cloud's APIs."""

    plane = "appsync-realtime-api"

    def __init__(self, graphql: GraphqlPlane, *,
                 keep_alive_seconds: float = KEEP_ALIVE_SECONDS) -> None:
        self.graphql = graphql
        self.keep_alive_seconds = keep_alive_seconds

    def __call__(self, request: DataPlaneRequest) -> AwsResponse | WebSocketAcceptance:
        """Accept a connection to an API's real-time endpoint, or reject it."""
        label, _, rest = request.path.lstrip("/").partition("/")
        api = self.graphql.find_api(label)
        if api is None or rest.rstrip("/") != "graphql":
            return error_response(404, "NotFoundException",
                               f"No GraphQL API with ID {label!r} is deployed here.")
        protocols = [protocol.strip() for protocol in
                     (request.header("Sec-WebSocket-Protocol") or "").split(",")]
        if SUBPROTOCOL not in protocols:
            return error_response(400, "BadRequestException",
                               "Connect with the graphql-ws WebSocket subprotocol.")
        headers = _connection_headers(request.raw_query, protocols)
        if headers is None:
            return error_response(400, "BadRequestException",
                               "The header parameter must be a JSON object of headers, "
                               "base64-encoded.")
        connection = RealtimeConnection(self.graphql, api.api_id, label, headers,
                                        request.source_ip,
                                        keep_alive_seconds=self.keep_alive_seconds)
        return WebSocketAcceptance(SUBPROTOCOL, connection.serve)


    def answer_http(self, request: DataPlaneRequest) -> AwsResponse:
        """Reject a plain HTTP request, which the real-time endpoint does not serve."""
        # NOTE: the status and message are windtunnel's, because AWS does not document its
        # response to a request without a WebSocket upgrade.
        return error_response(400, "BadRequestException",
                           "The real-time endpoint accepts WebSocket connections only: "
                           "connect with the graphql-ws subprotocol.")


class RealtimeConnection:
    """One client's connection: its authorization and the subscriptions it started.

    :meth:`serve` runs it over a WebSocket session; :meth:`handle` takes one client
    message, so the Stack API can run the same protocol without a socket.
    """

    def __init__(self, graphql: GraphqlPlane, api_id: str, label: str,
                 headers: Mapping[str, str], source_ip: str, *,
                 keep_alive_seconds: float = KEEP_ALIVE_SECONDS,
                 send: Callable[[dict[str, Any]], bool] | None = None) -> None:
        self.graphql = graphql
        self.api_id = api_id
        self.label = label
        self.headers = dict(headers)
        self.source_ip = source_ip
        self.keep_alive_seconds = keep_alive_seconds
        self._send: Callable[[dict[str, Any]], bool] = send or (lambda message: False)
        self._subscriptions: dict[str, Subscription] = {}
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._keep_alive: threading.Thread | None = None

    # --- transport ---------------------------------------------------------------------

    def serve(self, session: WebSocketSession) -> None:
        """Exchange messages with the client until the WebSocket connection ends."""
        self._send = lambda message: session.send_text(json.dumps(message))
        rejection = self.authenticate_connection()
        if rejection is not None:
            # The client gets the rejection in response to its first message
            # (connection_init), then the connection closes.
            for _ in session.messages():
                break
            self.send_connection_error(rejection)
            session.close(1000)
            return
        try:
            for text in session.messages():
                self.handle_text(text)
        finally:
            self.close()

    def authenticate_connection(self) -> Rejection | None:
        """Check the connection's headers; return the rejection, or None when they hold."""
        caller = self._authenticate(f"/{self.label}/graphql/connect", b"{}", self.headers)
        return caller if isinstance(caller, Rejection) else None

    def send_connection_error(self, rejection: Rejection) -> None:
        """Send the rejection of the connection's authorization as AppSync sends it."""
        logger.info("AppSync API %s: real-time connection rejected: %s", self.api_id,
                    rejection.message)
        self._send({"type": "connection_error", "payload": {"errors": [
            {"errorType": rejection.error_type, "message": rejection.message,
             "errorCode": rejection.status}]}})

    def close(self) -> None:
        """End every subscription of the connection and stop its keep-alive messages."""
        self._closed.set()
        with self._lock:
            subscriptions = list(self._subscriptions.values())
            self._subscriptions.clear()
        for subscription in subscriptions:
            self.graphql.hub.remove(subscription)

    def handle_text(self, text: str) -> None:
        try:
            message = json.loads(text)
        except ValueError:
            self._error(None, "MalformedMessage", "The message is not valid JSON.")
            return
        if not isinstance(message, dict):
            self._error(None, "MalformedMessage", "The message must be a JSON object.")
            return
        self.handle(message)

    # --- the protocol ------------------------------------------------------------------

    def handle(self, message: Mapping[str, Any]) -> None:
        """Act on one client message."""
        kind = message.get("type")
        if kind == "connection_init":
            self._send({"type": "connection_ack",
                        "payload": {"connectionTimeoutMs": CONNECTION_TIMEOUT_MS}})
            self._send({"type": "ka"})
            self._start_keep_alive()
        elif kind == "start":
            self._start(message)
        elif kind == "stop":
            self._stop(message)
        else:
            self._error(message.get("id"), "UnsupportedOperation",
                        f"The message type {kind!r} is not supported; send connection_init, "
                        f"start or stop.")

    def _start_keep_alive(self) -> None:
        if self._keep_alive is not None or self.keep_alive_seconds <= 0:
            return

        def beat() -> None:
            while not self._closed.wait(self.keep_alive_seconds):
                if not self._send({"type": "ka"}):
                    return

        self._keep_alive = threading.Thread(target=beat, name="appsync-realtime-ka",
                                            daemon=True)
        self._keep_alive.start()

    def _start(self, message: Mapping[str, Any]) -> None:
        subscription_id = message.get("id")
        if not isinstance(subscription_id, str) or not subscription_id:
            self._error(None, "MalformedMessage", "A start message needs an id.")
            return
        with self._lock:
            if subscription_id in self._subscriptions:
                self._error(subscription_id, "DuplicatedOperationError",
                            f"A subscription with the id {subscription_id} is already "
                            f"started on this connection.")
                return
        payload = message.get("payload")
        payload = payload if isinstance(payload, Mapping) else {}
        data = payload.get("data")
        try:
            request = json.loads(data) if isinstance(data, str) else None
        except ValueError:
            request = None
        if not isinstance(request, dict):
            self._error(subscription_id, "MalformedMessage",
                        "payload.data must be the JSON text of the GraphQL request.")
            return
        extensions = payload.get("extensions")
        authorization = (extensions or {}).get("authorization") if isinstance(
            extensions, Mapping) else None
        headers = {str(name): str(value) for name, value in authorization.items()} \
            if isinstance(authorization, Mapping) else {}

        caller = self._authenticate(f"/{self.label}/graphql", str(data).encode(), headers,
                                    request)
        if isinstance(caller, Rejection):
            self._error(subscription_id, caller.error_type, caller.message,
                        error_code=caller.status)
            return
        subscription = self._subscribe(subscription_id, request, caller, headers)
        if subscription is None:
            return
        with self._lock:
            self._subscriptions[subscription_id] = subscription
        self.graphql.hub.add(subscription)
        self._send({"id": subscription_id, "type": "start_ack"})

    def _subscribe(self, subscription_id: str, request: Mapping[str, Any], caller: Caller,
                   headers: Mapping[str, str]) -> Subscription | None:
        """Check and run the subscription request; return it, or None after an error."""
        api = self.graphql.find_api(self.label)
        schema = self.graphql.schema_of(api) if api is not None else None
        if schema is None or isinstance(schema, AwsResponse):
            self._error(subscription_id, "BadRequestException",
                        f"The GraphQL API {self.api_id} has no valid schema.")
            return None
        query = request.get("query")
        if not isinstance(query, str) or not query.strip():
            self._error(subscription_id, "MalformedHttpRequestException",
                        "The query is missing.")
            return None
        checked = self.graphql.checked_document(schema, query)
        if isinstance(checked, GraphQLError):
            self._errors(subscription_id, [error_entry(checked)])
            return None
        document, problems = checked
        if problems:
            self._errors(subscription_id, [error_entry(problem)
                                           for problem in problems])
            return None
        operation_name = request.get("operationName")
        operation_name = operation_name if isinstance(operation_name, str) else None
        operation, fields = top_level_fields(document, operation_name)
        if operation != OperationType.SUBSCRIPTION or len(fields) != 1:
            self._error(subscription_id, "UnsupportedOperation", _NOT_A_SUBSCRIPTION)
            return None
        variables = request.get("variables")
        variables = variables if isinstance(variables, dict) else {}

        configuration = graphql_api_configuration(self.graphql.cloud.service_state,
                                                  self.api_id)

        def authorize(info: GraphQLResolveInfo[Any]) -> None:
            reason = field_denial(self.graphql.cloud, self.api_id, configuration.api, caller,
                                  info, self.source_ip)
            if reason is not None:
                raise ResolverError(GraphqlError(reason, "Unauthorized"))

        scope = self.graphql.scope(configuration, caller, headers, variables, authorize)
        # The subscription field's resolver runs once, now: it may reject the
        # subscription or set its filter.
        arguments: dict[str, Any] = {}

        def resolve(source: object, info: GraphQLResolveInfo[Any], **values: Any) -> object:
            if info.parent_type is schema.subscription_type:
                arguments.update(values)
            return resolve_field(source, info, **values)

        result = execute_sync(schema, document, context_value=scope,
                              variable_values=variables, operation_name=operation_name,
                              field_resolver=resolve)
        # Any error rejects the subscription, a value that does not fit the field's type
        # too: resolvers of subscriptions return null or a complete object.
        entries = [error_entry(error) for error in result.errors or []]
        if entries:
            self._errors(subscription_id, entries)
            return None
        subscription_filter = scope.subscription_filters[-1] \
            if scope.subscription_filters else None
        if subscription_filter is not None:
            problem = check_filter(subscription_filter)
            if problem is not None:
                self._error(subscription_id, "BadRequestException", problem)
                return None

        field_node = fields[0]

        def deliver(data: dict[str, Any]) -> bool:
            if self._closed.is_set():
                return False
            return self._send({"id": subscription_id, "type": "data", "payload": data})

        return Subscription(
            subscription_id=subscription_id, api_id=self.api_id,
            field_name=field_node.name.value, arguments=dict(arguments),
            filter=subscription_filter if isinstance(subscription_filter, Mapping) else None,
            document=document, operation_name=operation_name, variables=variables,
            schema=schema, deliver=deliver, owner=self)

    def _stop(self, message: Mapping[str, Any]) -> None:
        subscription_id = message.get("id")
        with self._lock:
            subscription = self._subscriptions.pop(str(subscription_id), None)
        if subscription is None:
            self._error(subscription_id if isinstance(subscription_id, str) else None,
                        "MalformedMessage",
                        f"No subscription with the id {subscription_id} is started on "
                        f"this connection.")
            return
        self.graphql.hub.remove(subscription)
        self._send({"id": subscription_id, "type": "complete"})

    # --- helpers ------------------------------------------------------------------------

    def _authenticate(self, path: str, body: bytes, headers: Mapping[str, str],
                      request: Mapping[str, Any] | None = None) -> Caller | Rejection:
        configuration = graphql_api_configuration(self.graphql.cloud.service_state,
                                                  self.api_id)
        plane_request = DataPlaneRequest(method="POST", path=path, raw_query="",
                                         headers=tuple(headers.items()), body=body,
                                         source_ip=self.source_ip)
        return authenticate(self.graphql.cloud, self.api_id, configuration.api,
                            plane_request, request or {}, self.graphql.now())

    def _error(self, subscription_id: str | None, error_type: str, message: str, *,
               error_code: int | None = None) -> None:
        entry: dict[str, Any] = {"errorType": error_type, "message": message}
        if error_code is not None:
            entry["errorCode"] = error_code
        self._errors(subscription_id, [entry])

    def _errors(self, subscription_id: str | None, entries: list[dict[str, Any]]) -> None:
        logger.info("AppSync API %s (%s): real-time error for %s: %s", self.api_id,
                    self.label, f"subscription {subscription_id}" if subscription_id
                    else "the connection", "; ".join(str(entry.get("errorType") or entry.get(
                        "message")) for entry in entries))
        message: dict[str, Any] = {"type": "error", "payload": {"errors": entries}}
        if subscription_id is not None:
            message = {"id": subscription_id, **message}
        self._send(message)


def _connection_headers(raw_query: str, protocols: list[str]) -> dict[str, str] | None:
    """Return the connection's authorization headers, or None when they do not decode."""
    from urllib.parse import parse_qs

    encoded: str | None = None
    for protocol in protocols:
        if protocol.startswith("header-"):
            encoded = protocol[len("header-"):]
    if encoded is None:
        values = parse_qs(raw_query).get("header")
        encoded = values[0] if values else None
    if encoded is None:
        return {}
    text = encoded.strip().replace("-", "+").replace("_", "/")
    try:
        headers = json.loads(base64.b64decode(text + "=" * (-len(text) % 4)))
    except (binascii.Error, ValueError):
        return None
    if not isinstance(headers, dict):
        return None
    return {str(name): str(value) for name, value in headers.items()}
