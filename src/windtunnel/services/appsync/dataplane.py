"""Serve ``/_aws/appsync-api/{api}/graphql``: GraphQL queries and mutations over HTTP POST.

``{api}`` is the API ID or the DNS label of the API's GraphQL URL (the form that stack
outputs take locally). A request is authorized, parsed and validated against the API's
schema, and executed with the API's resolvers. The response has AppSync's shape:
``data`` with null in place of each failed field, and ``errors`` entries with ``path``,
``data``, ``errorType``, ``errorInfo``, ``locations`` and ``message``. Sources:
https://docs.aws.amazon.com/appsync/latest/devguide/troubleshooting-and-common-mistakes.html
and https://docs.aws.amazon.com/appsync/latest/devguide/resolver-util-reference.html
(the error entries of ``$util.error`` and ``$util.appendError``), and
https://spec.graphql.org/October2021/#sec-Errors (``path``, ``locations``, null fields).

Subscription operations are served by the real-time endpoint (``realtime.py``); a
subscription sent here gets an error. A successful mutation is published to the
subscriptions that ``@aws_subscribe`` ties to it.

Limitations:
- Messages of syntax and validation errors are graphql-core's, not graphql-java's
  ("Validation error of type FieldUndefined: ..."), and carry no ``errorType``.
- Only POST is served; AppSync's handling of GET requests is not emulated.
- ``queryDepthLimit`` and ``resolverCountLimit`` are not enforced.
"""

from __future__ import annotations

import datetime
import json
import logging
import random
import threading
import uuid
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from graphql import (
    GraphQLError,
    GraphQLResolveInfo,
    GraphQLSchema,
    OperationType,
    execute_sync,
    parse,
    validate,
)

from windtunnel.cloud.dataplane import DataPlaneRequest
from windtunnel.cloud.messages import AwsResponse
from windtunnel.deploy.resources.appsync import dns_label, graphql_api_configuration
from windtunnel.services.appsync.auth import Caller, Rejection, authenticate, field_denial
from windtunnel.services.appsync.datasources import DataSourceInvoker
from windtunnel.services.appsync.resolvers import ResolverError, ResolverScope, resolve_field
from windtunnel.services.appsync.schema import build_appsync_schema
from windtunnel.services.appsync.subscriptions import SubscriptionHub, top_level_fields
from windtunnel.vtl.appsync import GraphqlError
from windtunnel.vtl.appsync_json import to_plain

if TYPE_CHECKING:
    from windtunnel.cloud.pipeline import Cloud

__all__ = ["GraphqlPlane", "error_entry", "error_response"]

logger = logging.getLogger(__name__)

_RANDOM_SEED = 20101
_JSON = "application/json;charset=UTF-8"


# Parsed and validated queries kept per schema before the cache starts over.
_DOCUMENTS_KEPT = 1024


class GraphqlPlane:
    """Serves the GraphQL APIs deployed in one cloud."""

    plane = "appsync-api"

    def __init__(self, cloud: Cloud, *, now: Callable[[], datetime.datetime] | None = None,
                 randomness: random.Random | None = None) -> None:
        """``now`` is the clock for API key expiry, tokens and ``$util.time`` (a stack
        passes its virtual clock), and ``randomness`` the source of generated IDs."""
        self.cloud = cloud
        self.now = now or cloud.authorizer.clock
        self.random = randomness or random.Random(_RANDOM_SEED)
        self.invoker = DataSourceInvoker(cloud)
        self._schemas: dict[tuple[str, str], GraphQLSchema] = {}
        self._documents: dict[tuple[int, str], tuple[Any, list[GraphQLError]]] = {}
        self._lock = threading.Lock()
        self.hub = SubscriptionHub()
        """The subscriptions started on the real-time endpoints of the cloud's APIs."""

    def __call__(self, request: DataPlaneRequest) -> AwsResponse:
        """Handle one request to an API's GraphQL URL and return the response."""
        label, _, rest = request.path.lstrip("/").partition("/")
        api = self.find_api(label)
        if api is None or rest.rstrip("/") != "graphql":
            return error_response(404, "NotFoundException",
                                   f"No GraphQL API with ID {label!r} is deployed here.")
        if request.method.upper() != "POST":
            return error_response(405, "MethodNotAllowedException",
                                   f"The {request.method} method is not supported; send "
                                   f"GraphQL requests with POST.")
        body = _read_body(request.body)
        if isinstance(body, AwsResponse):
            return body

        api_id = api.api_id
        configuration = graphql_api_configuration(self.cloud.service_state, api_id)
        caller = authenticate(self.cloud, api_id, configuration.api, request, body, self.now())
        if isinstance(caller, Rejection):
            return error_response(caller.status, caller.error_type, caller.message)
        schema = self.schema_of(api)
        if isinstance(schema, AwsResponse):
            return schema
        return self._execute(api_id, schema, caller, request, body)

    def find_api(self, label: str) -> Any:
        """Return the API whose ID or GraphQL DNS label is ``label``, or None."""
        from moto.appsync.models import appsync_backends

        apis = appsync_backends[self.cloud.account_id][self.cloud.region].graphql_apis
        if label in apis:
            return apis[label]
        for api_id, api in apis.items():
            # The GraphQL URL's DNS label derives from the API ID (see the deploy handler).
            if dns_label(api_id) == label.lower():
                return api
        return None

    def schema_of(self, api: Any) -> GraphQLSchema | AwsResponse:
        """Return the API's executable schema, or the error response when it has none."""
        stored = getattr(api, "graphql_schema", None)
        definition = getattr(stored, "definition", None)
        if not definition:
            return error_response(400, "BadRequestException",
                                   f"The GraphQL API {api.api_id} has no schema.")
        key = (api.api_id, definition)
        with self._lock:
            schema = self._schemas.get(key)
            if schema is None:
                try:
                    schema = build_appsync_schema(definition)
                except (GraphQLError, TypeError) as error:
                    return error_response(400, "BadRequestException",
                                           f"The schema of GraphQL API {api.api_id} is not "
                                           f"valid: {error}")
                self._schemas[key] = schema
        return schema

    def checked_document(self, schema: GraphQLSchema, query: str
                         ) -> tuple[Any, list[GraphQLError]] | GraphQLError:
        """Return the parsed query and its validation problems, or its syntax error.

        Clients send the same few queries again and again: each is parsed and validated
        once per schema.
        """
        checked = self._documents.get((id(schema), query))
        if checked is None:
            try:
                document = parse(query)
            except GraphQLError as error:
                return error
            checked = (document, validate(schema, document))
            with self._lock:
                if len(self._documents) >= _DOCUMENTS_KEPT:
                    self._documents.clear()
                self._documents[(id(schema), query)] = checked
        return checked

    def scope(self, configuration: Any, caller: Caller, headers: Mapping[str, str],
              variables: dict[str, Any],
              authorize: Callable[[GraphQLResolveInfo[Any]], None]) -> ResolverScope:
        """Return the state that one request's resolvers share."""
        return ResolverScope(
            configuration=configuration,
            invoker=self.invoker,
            identity=caller.identity,
            headers={name.lower(): value for name, value in headers.items()},
            domain_name=None,
            variables=variables,
            now=self.now,
            randomness=self.random,
            authorize=authorize,
        )

    def _execute(self, api_id: str, schema: GraphQLSchema, caller: Caller,
                 request: DataPlaneRequest, body: dict[str, Any]) -> AwsResponse:
        query = body.get("query")
        if not isinstance(query, str) or not query.strip():
            return _graphql_response({"data": None, "errors": [
                {"message": "The query is missing.", "errorType": "MalformedHttpRequestException"}
            ]})
        checked = self.checked_document(schema, query)
        if isinstance(checked, GraphQLError):
            return _graphql_response({"data": None, "errors": [error_entry(checked)]})
        document, problems = checked
        if problems:
            return _graphql_response({"data": None,
                                      "errors": [error_entry(problem) for problem in problems]})
        operation_name = body.get("operationName")
        operation_name = operation_name if isinstance(operation_name, str) else None
        operation, fields = top_level_fields(document, operation_name)
        if operation == OperationType.SUBSCRIPTION:
            # NOTE: the message is windtunnel's; AWS does not document the response to a
            # subscription sent to the GraphQL endpoint.
            return _graphql_response({"data": None, "errors": [{
                "message": "Subscriptions are served by the API's real-time endpoint over "
                           "WebSocket, not by the GraphQL endpoint.",
                "errorType": "UnsupportedOperation"}]})

        configuration = graphql_api_configuration(self.cloud.service_state, api_id)
        api = configuration.api

        def authorize(info: GraphQLResolveInfo[Any]) -> None:
            reason = field_denial(self.cloud, api_id, api, caller, info, request.source_ip)
            if reason is not None:
                raise ResolverError(GraphqlError(reason, "Unauthorized"))

        variables = body.get("variables") or {}
        headers: dict[str, str] = {}
        for name, value in request.headers:
            headers[name.lower()] = value
        scope = self.scope(configuration, caller, headers,
                           variables if isinstance(variables, dict) else {}, authorize)
        result = execute_sync(schema, document, context_value=scope,
                              variable_values=scope.variables,
                              operation_name=operation_name,
                              field_resolver=resolve_field)
        errors = [error_entry(error) for error in result.errors or []]
        errors.extend(_appended_entry(error, info) for error, info in scope.appended)
        payload: dict[str, Any] = {"data": result.data}
        if errors:
            payload["errors"] = errors
        if operation == OperationType.MUTATION and result.data:
            for field_node in fields:
                key = field_node.alias.value if field_node.alias else field_node.name.value
                self.hub.publish(api_id, schema, field_node.name.value, result.data.get(key))
        return _graphql_response(payload)


def _read_body(raw: bytes) -> dict[str, Any] | AwsResponse:
    # NOTE: the message of a body that is not JSON is windtunnel's; AWS does not document it.
    try:
        body = json.loads(raw or b"")
    except ValueError:
        return error_response(400, "MalformedHttpRequestException",
                               "Invalid JSON payload in POST request.")
    if not isinstance(body, dict):
        return error_response(400, "MalformedHttpRequestException",
                               "Invalid JSON payload in POST request.")
    return body


def _locations(error: GraphQLError) -> list[dict[str, Any]] | None:
    if not error.locations:
        return None
    return [{"line": location.line, "column": location.column, "sourceName": None}
            for location in error.locations]


def error_entry(error: GraphQLError) -> dict[str, Any]:
    """Render a GraphQL error as AppSync lists it."""
    original = error.original_error
    if isinstance(original, ResolverError):
        return {"path": error.path, "data": to_plain(original.error.data),
                "errorType": original.error.error_type,
                "errorInfo": to_plain(original.error.error_info),
                "locations": _locations(error), "message": original.error.message}
    return {"path": error.path, "data": None, "errorType": None, "errorInfo": None,
            "locations": _locations(error), "message": error.message}


def _appended_entry(error: GraphqlError, info: GraphQLResolveInfo[Any]) -> dict[str, Any]:
    locations = []
    for node in info.field_nodes:
        if node.loc is not None:
            location = node.loc.source.get_location(node.loc.start)
            locations.append({"line": location.line, "column": location.column,
                              "sourceName": None})
    return {"path": info.path.as_list(), "data": to_plain(error.data),
            "errorType": error.error_type, "errorInfo": to_plain(error.error_info),
            "locations": locations, "message": error.message}


def _graphql_response(payload: dict[str, Any]) -> AwsResponse:
    return AwsResponse(200, {"Content-Type": _JSON, "x-amzn-RequestId": str(uuid.uuid4())},
                       json.dumps(payload).encode())


def error_response(status: int, error_type: str, message: str) -> AwsResponse:
    """Return an error that rejects a request before execution, in AppSync's shape."""
    body = {"errors": [{"errorType": error_type, "message": message}]}
    return AwsResponse(status, {"Content-Type": _JSON, "x-amzn-ErrorType": error_type,
                                "x-amzn-RequestId": str(uuid.uuid4())},
                       json.dumps(body).encode())
