"""GraphQL subscriptions over AppSync's real-time WebSocket protocol, on 127.0.0.1.

A real WebSocket client (the websockets package) connects to the served stack. Sources:
- CLIENT = https://docs.aws.amazon.com/appsync/latest/devguide/real-time-websocket-client.html
  (the graphql-ws subprotocol, the base64 ``header`` parameter, ``connection_init`` and
  ``connection_ack`` with ``connectionTimeoutMs`` 300000, ``ka``, ``start`` with
  ``payload.data`` and ``extensions.authorization``, ``start_ack``, ``data``, ``stop`` and
  ``complete``, ``error`` and ``connection_error`` with ``errorType`` entries)
- REALTIME = https://docs.aws.amazon.com/appsync/latest/devguide/aws-appsync-real-time-data.html
  (``@aws_subscribe``, subscription arguments filter on equal result fields, the
  subscriber gets the fields the mutation selected and null for the others)
- ENHANCED = https://docs.aws.amazon.com/appsync/latest/devguide/aws-appsync-real-time-enhanced-filtering.html
  (``$extensions.setSubscriptionFilter`` in the subscription's response template,
  ``filterGroup`` entries OR-ed, ``filters`` AND-ed, the operators)
- AUTHZ = https://docs.aws.amazon.com/appsync/latest/devguide/security-authz.html
  ("Not Authorized to access FIELD on type TYPE", ``$util.unauthorized``)
"""

from __future__ import annotations

import base64
import json
import socket as socket_module
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from windtunnel import EmulatedStack, GraphqlSubscriptionError, Stack

CLIENT = "https://docs.aws.amazon.com/appsync/latest/devguide/real-time-websocket-client.html"
REALTIME = "https://docs.aws.amazon.com/appsync/latest/devguide/aws-appsync-real-time-data.html"
ENHANCED = ("https://docs.aws.amazon.com/appsync/latest/devguide/"
            "aws-appsync-real-time-enhanced-filtering.html")
AUTHZ = "https://docs.aws.amazon.com/appsync/latest/devguide/security-authz.html"

SCHEMA = """
type Ticket { id: ID! group: String severity: Int tags: [String] }
type Mutation {
  createTicket(id: ID!, group: String, severity: Int, tags: [String]): Ticket
  evictThenCreate(id: ID!): Ticket
}
type Query { ticket(id: ID!): Ticket }
type Subscription {
  onCreate(group: String): Ticket @aws_subscribe(mutations: ["createTicket"])
  onSevere: Ticket @aws_subscribe(mutations: ["createTicket"])
  onRed: Ticket @aws_subscribe(mutations: ["createTicket"])
  onRejected: Ticket @aws_subscribe(mutations: ["createTicket"])
  onIamOnly: Ticket @aws_subscribe(mutations: ["createTicket"]) @aws_iam
  onInvalidated: Ticket @aws_subscribe(mutations: ["createTicket"])
  onIncomplete: Ticket @aws_subscribe(mutations: ["createTicket"])
}
"""
SUBSCRIPTION_REQUEST = '{"version": "2018-05-29", "payload": {}}'
RED_CODE = """
import { extensions, util } from '@aws-appsync/utils';
export function request(ctx) { return { payload: {} }; }
export function response(ctx) {
  const filter = util.transform.toSubscriptionFilter({ tags: { contains: 'red' } });
  extensions.setSubscriptionFilter(filter);
  return null;
}
"""


def _resolver(type_name: str, field: str, response: str) -> dict[str, Any]:
    return {"Type": "AWS::AppSync::Resolver", "DependsOn": ["Schema", "None"], "Properties": {
        "ApiId": {"Fn::GetAtt": "Api.ApiId"}, "TypeName": type_name, "FieldName": field,
        "DataSourceName": "none", "RequestMappingTemplate": SUBSCRIPTION_REQUEST
        if type_name == "Subscription" else
        '{"version": "2018-05-29", "payload": $util.toJson($ctx.args)}',
        "ResponseMappingTemplate": response}}


def _template() -> dict[str, Any]:
    severe = ('$extensions.setSubscriptionFilter({"filterGroup": [{"filters": ['
              '{"fieldName": "severity", "operator": "ge", "value": 7},'
              '{"fieldName": "group", "operator": "in", "value": ["ops", "db"]}]}]})'
              '$util.toJson(null)')
    return {"Resources": {
        "Api": {"Type": "AWS::AppSync::GraphQLApi", "Properties": {
            "Name": "tickets", "AuthenticationType": "API_KEY",
            "AdditionalAuthenticationProviders": [{"AuthenticationType": "AWS_IAM"}]}},
        "Key": {"Type": "AWS::AppSync::ApiKey",
                "Properties": {"ApiId": {"Fn::GetAtt": "Api.ApiId"}}},
        "Schema": {"Type": "AWS::AppSync::GraphQLSchema", "Properties": {
            "ApiId": {"Fn::GetAtt": "Api.ApiId"}, "Definition": SCHEMA}},
        "None": {"Type": "AWS::AppSync::DataSource", "Properties": {
            "ApiId": {"Fn::GetAtt": "Api.ApiId"}, "Name": "none", "Type": "NONE"}},
        "Create": _resolver("Mutation", "createTicket", "$util.toJson($ctx.result)"),
        "Evict": _resolver("Mutation", "evictThenCreate",
                           '$extensions.evictFromApiCache("Query", "ticket", '
                           '{"context.arguments.id": $ctx.args.id})$util.toJson($ctx.result)'),
        "Severe": _resolver("Subscription", "onSevere", severe),
        "Rejected": _resolver("Subscription", "onRejected", "$util.unauthorized()"),
        "Incomplete": _resolver("Subscription", "onIncomplete", "$util.toJson({})"),
        "Invalidated": _resolver("Subscription", "onInvalidated",
                                 '$extensions.invalidateSubscriptions({"subscriptionField": '
                                 '"onCreate", "payload": {}})$util.toJson(null)'),
        "Red": {"Type": "AWS::AppSync::Resolver", "DependsOn": ["Schema", "None"],
                "Properties": {"ApiId": {"Fn::GetAtt": "Api.ApiId"},
                               "TypeName": "Subscription", "FieldName": "onRed",
                               "DataSourceName": "none", "Code": RED_CODE,
                               "Runtime": {"Name": "APPSYNC_JS", "RuntimeVersion": "1.0.0"}}},
    }, "Outputs": {
        "Key": {"Value": {"Fn::GetAtt": "Key.ApiKey"}},
        "RealtimeUrl": {"Value": {"Fn::GetAtt": "Api.RealtimeUrl"}},
        "GraphQLUrl": {"Value": {"Fn::GetAtt": "Api.GraphQLUrl"}},
    }}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatedStack]:
    root: Path = tmp_path_factory.mktemp("realtime")
    (root / "template.json").write_text(json.dumps(_template()))
    with Stack.local(root / "template.json", stack_name="realtime") as loaded:
        loaded.serve()
        yield loaded


def encoded(headers: dict[str, str], *, url_safe: bool = False) -> str:
    text = json.dumps(headers).encode()
    if url_safe:
        return base64.urlsafe_b64encode(text).decode().rstrip("=")
    return base64.b64encode(text).decode()


def auth(stack: EmulatedStack) -> dict[str, str]:
    host = stack.outputs["GraphQLUrl"].split("/")[2]
    return {"x-api-key": stack.outputs["Key"], "host": host}


def open_socket(stack: EmulatedStack, headers: dict[str, str] | None = None,
                subprotocols: list[str] | None = None) -> ClientConnection:
    url = stack.outputs["RealtimeUrl"]
    query = f"?header={encoded(headers if headers is not None else auth(stack))}&payload=e30="
    return connect(url + query, subprotocols=subprotocols or ["graphql-ws"],
                   open_timeout=10)


def receive(socket: ClientConnection, timeout: float = 5) -> dict[str, Any]:
    """Return the next message that is not a keep-alive."""
    while True:
        message: dict[str, Any] = json.loads(socket.recv(timeout=timeout))
        if message.get("type") != "ka":
            return message


def start(socket: ClientConnection, stack: EmulatedStack, query: str,
          variables: dict[str, Any] | None = None, subscription_id: str = "sub-1",
          authorization: dict[str, str] | None = None) -> dict[str, Any]:
    data = json.dumps({"query": query, "variables": variables or {}})
    socket.send(json.dumps({"id": subscription_id, "type": "start", "payload": {
        "data": data, "extensions": {"authorization": authorization
                                     if authorization is not None else auth(stack)}}}))
    return receive(socket)


def create(stack: EmulatedStack, ticket_id: str, group: str | None = None,
           severity: int | None = None, tags: list[str] | None = None,
           selection: str = "id group severity tags") -> None:
    response = stack.graphql(
        f"mutation M($id: ID!, $group: String, $severity: Int, $tags: [String]) "
        f"{{ createTicket(id: $id, group: $group, severity: $severity, tags: $tags) "
        f"{{ {selection} }} }}",
        {"id": ticket_id, "group": group, "severity": severity, "tags": tags},
        headers={"x-api-key": stack.outputs["Key"]})
    assert response.status_code == 200, response.text
    assert "errors" not in response.json(), response.text


def data_ids(socket: ClientConnection, field: str, timeout: float = 0.5) -> list[str]:
    """Return the ticket IDs of the data messages that arrive within ``timeout``."""
    ids = []
    while True:
        try:
            message = receive(socket, timeout)
        except TimeoutError:
            return ids
        assert message["type"] == "data", message
        ids.append(message["payload"]["data"][field]["id"])


def test_real_time_url_output_is_local(stack: EmulatedStack) -> None:
    """The RealtimeUrl output (wss://{dns}/graphql) points at the local endpoint."""
    assert stack.outputs["RealtimeUrl"].startswith("ws://127.0.0.1:")
    assert stack.outputs["RealtimeUrl"].endswith("/graphql")


def test_connection_init_is_acknowledged(stack: EmulatedStack) -> None:
    """CLIENT: connection_ack carries connectionTimeoutMs; ka messages follow."""
    with open_socket(stack) as socket:
        assert socket.subprotocol == "graphql-ws"
        socket.send(json.dumps({"type": "connection_init"}))

        ack = json.loads(socket.recv(timeout=5))
        keep_alive = json.loads(socket.recv(timeout=5))

    assert ack == {"type": "connection_ack", "payload": {"connectionTimeoutMs": 300000}}
    assert keep_alive == {"type": "ka"}


def test_header_in_a_subprotocol_authorizes(stack: EmulatedStack) -> None:
    """CLIENT: the headers may come as a header-{base64url} subprotocol instead."""
    url = stack.outputs["RealtimeUrl"]
    protocols = ["graphql-ws", f"header-{encoded(auth(stack), url_safe=True)}"]
    with connect(url, subprotocols=protocols, open_timeout=10) as socket:
        socket.send(json.dumps({"type": "connection_init"}))
        assert receive(socket)["type"] == "connection_ack"


def test_missing_subprotocol_is_rejected(stack: EmulatedStack) -> None:
    """CLIENT: clients must ask for the graphql-ws subprotocol."""
    with pytest.raises(InvalidStatus) as rejected:
        open_socket(stack, subprotocols=["chat"])

    assert rejected.value.response.status_code == 400


def test_invalid_key_gets_connection_error(stack: EmulatedStack) -> None:
    """CLIENT, AUTHZ: a connection with an unknown API key gets connection_error with an
    UnauthorizedException, and the server closes the connection."""
    with open_socket(stack, {"x-api-key": "da2-unknown", "host": "x"}) as socket:
        socket.send(json.dumps({"type": "connection_init"}))
        error = receive(socket)
        with pytest.raises(ConnectionClosed):
            socket.recv(timeout=5)

    assert error == {"type": "connection_error", "payload": {"errors": [
        {"errorType": "UnauthorizedException",
         "message": "You are not authorized to make this call.", "errorCode": 401}]}}


def test_mutation_reaches_subscriber(stack: EmulatedStack) -> None:
    """REALTIME: start_ack, then a data message per mutation; a field the mutation did not
    select is null."""
    with open_socket(stack) as socket:
        socket.send(json.dumps({"type": "connection_init"}))
        receive(socket)
        ack = start(socket, stack, "subscription { onCreate { id group severity } }")

        create(stack, "t-1", "ops", 3, selection="id group")
        data = receive(socket)

    assert ack == {"id": "sub-1", "type": "start_ack"}
    assert data == {"id": "sub-1", "type": "data", "payload": {
        "data": {"onCreate": {"id": "t-1", "group": "ops", "severity": None}}}}


def test_arguments_filter_on_equal_fields(stack: EmulatedStack) -> None:
    """REALTIME: a subscription argument delivers only results whose field is equal."""
    with open_socket(stack) as socket:
        assert start(socket, stack, 'subscription { onCreate(group: "db") { id } }') == \
            {"id": "sub-1", "type": "start_ack"}

        create(stack, "t-2", "ops")
        create(stack, "t-3", "db")

        assert data_ids(socket, "onCreate") == ["t-3"]


def test_enhanced_filter_from_vtl(stack: EmulatedStack) -> None:
    """ENHANCED: all filters of a group must hold (severity >= 7 and group in a list)."""
    with open_socket(stack) as socket:
        assert start(socket, stack, "subscription { onSevere { id } }")["type"] == "start_ack"

        create(stack, "t-4", "ops", 9)
        create(stack, "t-5", "ops", 2)
        create(stack, "t-6", "web", 9)
        create(stack, "t-7", "db", 7)

        assert data_ids(socket, "onSevere") == ["t-4", "t-7"]


def test_enhanced_filter_from_javascript(stack: EmulatedStack) -> None:
    """ENHANCED: an APPSYNC_JS resolver sets the filter with extensions and
    util.transform.toSubscriptionFilter; contains tests list membership."""
    with open_socket(stack) as socket:
        assert start(socket, stack, "subscription { onRed { id } }")["type"] == "start_ack"

        create(stack, "t-8", tags=["blue"])
        create(stack, "t-9", tags=["red", "blue"])

        assert data_ids(socket, "onRed") == ["t-9"]


def test_stop_ends_delivery(stack: EmulatedStack) -> None:
    """CLIENT: stop gets complete, and later mutations are not delivered."""
    with open_socket(stack) as socket:
        start(socket, stack, "subscription { onCreate { id } }", subscription_id="s-stop")
        socket.send(json.dumps({"id": "s-stop", "type": "stop"}))
        complete = receive(socket)

        create(stack, "t-10")

        assert complete == {"id": "s-stop", "type": "complete"}
        assert data_ids(socket, "onCreate") == []


def test_unauthorized_rejects_subscription(stack: EmulatedStack) -> None:
    """AUTHZ: $util.unauthorized() in the subscription's resolver rejects it."""
    with open_socket(stack) as socket:
        error = start(socket, stack, "subscription { onRejected { id } }")

    assert error["type"] == "error"
    assert error["id"] == "sub-1"
    assert [entry["errorType"] for entry in error["payload"]["errors"]] == ["Unauthorized"]


def test_field_directive_rejects_mode(stack: EmulatedStack) -> None:
    """AUTHZ: an @aws_iam subscription field rejects an API key subscriber."""
    with open_socket(stack) as socket:
        error = start(socket, stack, "subscription { onIamOnly { id } }")

    assert error["type"] == "error"
    assert error["payload"]["errors"][0]["message"] == \
        "Not Authorized to access onIamOnly on type Subscription"


def test_query_over_start_is_not_supported(stack: EmulatedStack) -> None:
    """CLIENT: only subscriptions run over the real-time channel."""
    with open_socket(stack) as socket:
        error = start(socket, stack, '{ ticket(id: "t-1") { id } }')

    assert error == {"id": "sub-1", "type": "error", "payload": {"errors": [
        {"errorType": "UnsupportedOperation",
         "message": "Operation not supported through the realtime channel"}]}}


def test_invalid_subscription_gets_errors(stack: EmulatedStack) -> None:
    """CLIENT: a subscription that does not validate gets an error with its entries."""
    with open_socket(stack) as socket:
        error = start(socket, stack, "subscription { onCreate { nope } }")

    assert error["type"] == "error"
    assert "nope" in error["payload"]["errors"][0]["message"]


def test_start_needs_authorization(stack: EmulatedStack) -> None:
    """CLIENT: every start carries its own authorization headers."""
    with open_socket(stack) as socket:
        error = start(socket, stack, "subscription { onCreate { id } }", authorization={})

    assert error["type"] == "error"
    assert error["payload"]["errors"][0]["errorType"] == "UnauthorizedException"


def test_invalidation_named_as_unsupported(stack: EmulatedStack) -> None:
    """ENHANCED: invalidateSubscriptions is not emulated, and the error names it."""
    with open_socket(stack) as socket:
        error = start(socket, stack, "subscription { onInvalidated { id } }")

    assert error["type"] == "error"
    assert "invalidateSubscriptions" in error["payload"]["errors"][0]["message"]


def test_aws_hostname_reaches_realtime(stack: EmulatedStack) -> None:
    """CLIENT: {dns}.appsync-realtime-api.{region}.amazonaws.com/graphql in the Host header
    reaches the API's real-time endpoint."""
    label = stack.outputs["GraphQLUrl"].split("/")[-2]
    port = int(stack.serve().rsplit(":", 1)[1])
    url = f"ws://{label}.appsync-realtime-api.us-east-1.amazonaws.com/graphql"
    with socket_module.create_connection(("127.0.0.1", port), timeout=10) as raw, \
            connect(f"{url}?header={encoded(auth(stack))}", sock=raw,
                    subprotocols=["graphql-ws"],
                    open_timeout=10) as socket:
        socket.send(json.dumps({"type": "connection_init"}))
        assert receive(socket)["type"] == "connection_ack"


def test_stack_api_subscription(stack: EmulatedStack) -> None:
    """stack.graphql.subscribe runs the same protocol in process."""
    key = {"x-api-key": stack.outputs["Key"]}
    with stack.graphql.subscribe('subscription { onCreate(group: "qa") { id group } }',
                                 headers=key) as subscription:
        create(stack, "t-11", "web")
        create(stack, "t-12", "qa")

        assert subscription.next() == {"data": {"onCreate": {"id": "t-12", "group": "qa"}}}
        assert subscription.pending() == []


def test_stack_api_raises_rejections(stack: EmulatedStack) -> None:
    """stack.graphql.subscribe raises the errors AppSync would send."""
    with pytest.raises(GraphqlSubscriptionError) as rejected:
        stack.graphql.subscribe("subscription { onIamOnly { id } }",
                                headers={"x-api-key": stack.outputs["Key"]})

    assert rejected.value.errors[0]["message"] == \
        "Not Authorized to access onIamOnly on type Subscription"


@pytest.mark.parametrize(("message", "error_type"), [
    ("not json", "MalformedMessage"),
    (json.dumps({"type": "connection_terminate"}), "UnsupportedOperation"),
    (json.dumps({"type": "start", "payload": {}}), "MalformedMessage"),
    (json.dumps({"id": "x", "type": "stop"}), "MalformedMessage"),
])
def test_bad_message_keeps_connection(stack: EmulatedStack, message: str,
                                                          error_type: str) -> None:
    """CLIENT: a message the server cannot act on gets an error message; the connection
    serves on."""
    with open_socket(stack) as socket:
        socket.send(message)
        error = receive(socket)
        socket.send(json.dumps({"type": "connection_init"}))
        ack = receive(socket)

    assert error["type"] == "error"
    assert error["payload"]["errors"][0]["errorType"] == error_type
    assert ack["type"] == "connection_ack"


def test_duplicate_id_is_rejected(stack: EmulatedStack) -> None:
    """A second start with the ID of an active subscription gets an error."""
    with open_socket(stack) as socket:
        first = start(socket, stack, "subscription { onCreate { id } }", subscription_id="d")
        second = start(socket, stack, "subscription { onCreate { id } }", subscription_id="d")

    assert first["type"] == "start_ack"
    assert second["type"] == "error"
    assert second["id"] == "d"


def test_handshake_needs_version_13(stack: EmulatedStack) -> None:
    """RFC 6455, section 4.2.1: an upgrade request must carry Sec-WebSocket-Version 13."""
    port = int(stack.serve().rsplit(":", 1)[1])
    path = stack.outputs["RealtimeUrl"].split(str(port), 1)[1]
    request = (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
               f"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
               f"Sec-WebSocket-Version: 8\r\nSec-WebSocket-Protocol: graphql-ws\r\n\r\n")
    with socket_module.create_connection(("127.0.0.1", port), timeout=10) as raw:
        raw.sendall(request.encode())
        answer = raw.recv(4096)

    assert answer.startswith(b"HTTP/1.1 400 ")


# A subscription resolver that returns an object without the type's required fields is
# rejected: https://repost.aws/questions/QUeNP_iKH2Rpyk0K3994COZA (the answer's workaround
# returns a complete object, or null).
INCOMPLETE = "https://repost.aws/questions/QUeNP_iKH2Rpyk0K3994COZA"


def test_incomplete_result_rejects_subscription(stack: EmulatedStack) -> None:
    """INCOMPLETE: {} for a Ticket (whose id is required) rejects the subscription."""
    with open_socket(stack) as socket:
        error = start(socket, stack, "subscription { onIncomplete { id } }")

    assert error["type"] == "error"
    assert "Ticket.id" in error["payload"]["errors"][0]["message"]


# GraphqlApi in the API reference: ``uris`` and ``dns`` map GRAPHQL and REALTIME.
GRAPHQL_API = "https://docs.aws.amazon.com/appsync/latest/APIReference/API_GraphqlApi.html"


def test_api_lists_its_realtime_uri(stack: EmulatedStack) -> None:
    """GRAPHQL_API: GetGraphqlApi and ListGraphqlApis give both URIs and hostnames."""
    appsync = stack.client("appsync")
    label = stack.outputs["GraphQLUrl"].split("/")[-2]
    api_id = appsync.list_graphql_apis()["graphqlApis"][0]["apiId"]

    api = appsync.get_graphql_api(apiId=api_id)["graphqlApi"]

    assert api["uris"] == {
        "GRAPHQL": f"https://{label}.appsync-api.us-east-1.amazonaws.com/graphql",
        "REALTIME": f"wss://{label}.appsync-realtime-api.us-east-1.amazonaws.com/graphql"}
    assert api["dns"] == {"GRAPHQL": f"{label}.appsync-api.us-east-1.amazonaws.com",
                          "REALTIME": f"{label}.appsync-realtime-api.us-east-1.amazonaws.com"}


@pytest.fixture(scope="module")
def iam_keys(stack: EmulatedStack) -> tuple[str, str]:
    """Return the access key of an IAM user that may call appsync:GraphQL; windtunnel
    verifies the signatures made with keys it issued."""
    iam = stack.client("iam")
    iam.create_user(UserName="subscriber")
    iam.put_user_policy(UserName="subscriber", PolicyName="graphql", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "appsync:GraphQL", "Resource": "*"}]}))
    key = iam.create_access_key(UserName="subscriber")["AccessKey"]
    return key["AccessKeyId"], key["SecretAccessKey"]


def iam_headers(stack: EmulatedStack, keys: tuple[str, str], path: str,
                body: str) -> dict[str, str]:
    """Return the headers of a POST to the API's ``path``, signed with SigV4 as CLIENT
    describes for AWS_IAM (``/graphql/connect`` with ``{}`` for the connection)."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    label = stack.outputs["GraphQLUrl"].split("/")[-2]
    host = f"{label}.appsync-api.us-east-1.amazonaws.com"
    request = AWSRequest(method="POST", url=f"https://{host}{path}", data=body,
                         headers={"accept": "application/json, text/javascript",
                                  "content-encoding": "amz-1.0",
                                  "content-type": "application/json; charset=UTF-8"})
    SigV4Auth(Credentials(*keys), "appsync", "us-east-1").add_auth(request)
    # The signer signs the host from the URL; the client sends it with the other headers.
    return {**dict(request.headers.items()), "host": host}


def test_iam_signed_connection_and_start(stack: EmulatedStack,
                                         iam_keys: tuple[str, str]) -> None:
    """CLIENT, AUTHZ: a SigV4-signed connection and start reach an @aws_iam field."""
    data = json.dumps({"query": "subscription { onIamOnly { id } }", "variables": {}})
    connect_headers = iam_headers(stack, iam_keys, "/graphql/connect", "{}")
    with open_socket(stack, connect_headers) as socket:
        socket.send(json.dumps({"type": "connection_init"}))
        ack = receive(socket)
        socket.send(json.dumps({"id": "iam-1", "type": "start", "payload": {
            "data": data,
            "extensions": {"authorization": iam_headers(stack, iam_keys, "/graphql", data)}}}))
        started = receive(socket)

        create(stack, "t-13")
        delivered = receive(socket)

    assert ack["type"] == "connection_ack"
    assert started == {"id": "iam-1", "type": "start_ack"}
    assert delivered["payload"]["data"] == {"onIamOnly": {"id": "t-13"}}


def test_iam_signature_of_other_body_rejected(stack: EmulatedStack,
                                              iam_keys: tuple[str, str]) -> None:
    """CLIENT: the connection's signature covers /graphql/connect and the {} body."""
    with open_socket(stack, iam_headers(stack, iam_keys, "/graphql/connect", "[]")) as socket:
        socket.send(json.dumps({"type": "connection_init"}))
        error = receive(socket)

    assert error["type"] == "connection_error"
    assert error["payload"]["errors"][0]["errorType"] == "UnauthorizedException"


def test_iam_headers_without_host_rejected(stack: EmulatedStack,
                                           iam_keys: tuple[str, str]) -> None:
    """CLIENT: the header parameter must carry host; a signature cannot be checked
    without it."""
    headers = iam_headers(stack, iam_keys, "/graphql/connect", "{}")
    del headers["host"]
    with open_socket(stack, headers) as socket:
        socket.send(json.dumps({"type": "connection_init"}))
        error = receive(socket)

    assert error["type"] == "connection_error"
    assert error["payload"]["errors"][0]["errorType"] == "UnauthorizedException"


def test_cache_eviction_keeps_mutation(stack: EmulatedStack) -> None:
    """https://docs.aws.amazon.com/appsync/latest/devguide/extensions.html: a mutation's
    response template may call evictFromApiCache. Without a cache it evicts nothing, and
    the mutation returns its value."""
    response = stack.graphql('mutation { evictThenCreate(id: "t-14") { id } }',
                             headers={"x-api-key": stack.outputs["Key"]})

    assert response.json() == {"data": {"evictThenCreate": {"id": "t-14"}}}
