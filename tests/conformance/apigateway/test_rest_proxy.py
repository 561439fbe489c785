"""REST APIs with Lambda proxy integrations, called over HTTP at the local execute-api URL.

Sources:
- Lambda proxy event and response (payload format 1.0):
  https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html
- Proxy resources and greedy path variables:
  https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-set-up-simple-proxy.html
- Gateway responses and their status codes:
  https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html
- 403 errors (Missing Authentication Token, Forbidden for a stage that does not exist):
  https://repost.aws/knowledge-center/api-gateway-troubleshoot-403-forbidden
- Binary media types and the Accept header:
  https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-payload-encodings.html
- Which proxy responses are malformed (502): AWS-recorded snapshot of LocalStack's
  ``tests/aws/services/apigateway/test_apigateway_lambda.py::
  test_aws_proxy_response_payload_format_validation``
"""

from __future__ import annotations

import base64
import http.client
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from windtunnel import EmulatedStack, Stack
from windtunnel.cloud.dataplane import DataPlaneRequest
from windtunnel.services.apigateway.rest import handle_rest_api

HANDLERS = '''
import json

def echo(event, context):
    return {"statusCode": 200, "body": json.dumps(event)}

def echo_get(event, context):
    return {"statusCode": 200, "body": json.dumps({"handler": "echo_get",
                                                   "resource": event["resource"]})}

def respond(event, context):
    # The client sends the proxy response it wants back.
    return json.loads(event["body"])

def fail(event, context):
    raise ValueError("bad input")
'''

TEMPLATE = '''
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Runtime: python3.12
    CodeUri: src/
    Timeout: 3
Resources:
  Api:
    Type: AWS::Serverless::Api
    Properties:
      StageName: dev
      BinaryMediaTypes: ["image/png"]
      Variables: {color: blue}
  Strict:
    Type: AWS::Serverless::Api
    Properties: {StageName: prod}
  Echo:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.echo
      Events:
        Items: {Type: Api, Properties: {RestApiId: !Ref Api, Path: /items, Method: get}}
        Special:
          Type: Api
          Properties: {RestApiId: !Ref Api, Path: /items/special, Method: get}
        Item: {Type: Api, Properties: {RestApiId: !Ref Api, Path: "/items/{id}", Method: any}}
        Order:
          Type: Api
          Properties:
            RestApiId: !Ref Api
            Path: "/users/{userId}/orders/{orderId}"
            Method: get
        Files:
          Type: Api
          Properties: {RestApiId: !Ref Api, Path: "/files/{proxy+}", Method: any}
        Proxy: {Type: Api, Properties: {RestApiId: !Ref Api, Path: "/{proxy+}", Method: any}}
        Pets: {Type: Api, Properties: {RestApiId: !Ref Strict, Path: /pets, Method: get}}
  EchoGet:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.echo_get
      Events:
        Item: {Type: Api, Properties: {RestApiId: !Ref Api, Path: "/items/{id}", Method: get}}
  Respond:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.respond
      Events:
        Respond: {Type: Api, Properties: {RestApiId: !Ref Api, Path: /respond, Method: post}}
  Fail:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.fail
      Events:
        Fail: {Type: Api, Properties: {RestApiId: !Ref Api, Path: /fail, Method: get}}
'''


@dataclass
class Reply:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Apis:
    stack: EmulatedStack
    endpoint: str
    main_id: str
    strict_id: str

    def call(self, method: str, path: str, *, api_id: str | None = None,
             headers: list[tuple[str, str]] | None = None, body: bytes = b"") -> Reply:
        """Send one request to ``/_aws/execute-api/{api id}{path}`` and return the reply.

        Repeated headers are sent repeated.
        """
        address = urlsplit(self.endpoint)
        connection = http.client.HTTPConnection(address.hostname or "127.0.0.1",
                                                address.port, timeout=30)
        try:
            connection.putrequest(method, f"/_aws/execute-api/{api_id or self.main_id}{path}",
                                  skip_accept_encoding=True)
            for name, value in headers or []:
                connection.putheader(name, value)
            connection.putheader("Content-Length", str(len(body)))
            connection.endheaders(body)
            response = connection.getresponse()
            return Reply(response.status, response.headers, response.read())
        finally:
            connection.close()


@pytest.fixture(scope="module")
def apis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Apis]:
    root = tmp_path_factory.mktemp("rest")
    (root / "src").mkdir()
    (root / "src" / "app.py").write_text(HANDLERS)
    (root / "template.yaml").write_text(TEMPLATE)
    with Stack.local(root, stack_name="rest") as stack:
        endpoint = stack.serve(port=0)
        resources = stack.deployed.resources
        yield Apis(stack, endpoint, resources["Api"].physical_id,
                   resources["Strict"].physical_id)


def _resource_id(apis: Apis, api_id: str, path: str) -> str:
    resources = apis.stack.client("apigateway").get_resources(restApiId=api_id)["items"]
    return str(next(resource["id"] for resource in resources if resource["path"] == path))


# --- route selection -------------------------------------------------------------------

ROUTES = [
    # (method, path after the stage, expected resource, expected pathParameters)
    ("GET", "/items", "/items", None),
    ("GET", "/items/special", "/items/special", None),
    ("DELETE", "/items/42", "/items/{id}", {"id": "42"}),
    ("GET", "/users/u1/orders/o9", "/users/{userId}/orders/{orderId}",
     {"userId": "u1", "orderId": "o9"}),
    ("GET", "/files/a/b/c.txt", "/files/{proxy+}", {"proxy": "a/b/c.txt"}),
    ("PUT", "/anything/else", "/{proxy+}", {"proxy": "anything/else"}),
    ("GET", "/items/1/extra", "/{proxy+}", {"proxy": "items/1/extra"}),
]


@pytest.mark.parametrize(("method", "path", "resource", "parameters"), ROUTES)
def test_route_selection(apis: Apis, method: str, path: str, resource: str,
                         parameters: dict[str, str] | None) -> None:
    """A literal part beats {param}, which beats {proxy+}, whose key is "proxy"."""
    reply = apis.call(method, "/dev" + path)

    assert reply.status == 200, reply.body
    event = reply.json()
    assert event["resource"] == resource
    assert event["path"] == path
    assert event["httpMethod"] == method
    assert event["pathParameters"] == parameters
    assert event["requestContext"]["resourcePath"] == resource


def test_method_beats_any(apis: Apis) -> None:
    """A resource's GET method takes GET requests; its ANY method takes the others."""
    assert apis.call("GET", "/dev/items/7").json() == {"handler": "echo_get",
                                                        "resource": "/items/{id}"}
    assert apis.call("PATCH", "/dev/items/7").json()["httpMethod"] == "PATCH"


MISSING_ROUTES = [
    # (method, path) on the API whose only method is GET /pets
    ("GET", "/prod/nothing"),
    ("POST", "/prod/pets"),
    ("GET", "/prod"),
    ("GET", "/prod/pets/1"),
]


@pytest.mark.parametrize(("method", "path"), MISSING_ROUTES)
def test_missing_route_or_method_is_403(apis: Apis, method: str, path: str) -> None:
    """A path or method with no resource method returns 403 Missing Authentication Token."""
    reply = apis.call(method, path, api_id=apis.strict_id)

    assert reply.status == 403
    assert reply.json() == {"message": "Missing Authentication Token"}
    assert reply.headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"


def test_root_is_not_matched_by_greedy_proxy(apis: Apis) -> None:
    """{proxy+} needs at least one path part, so the stage root has no method here."""
    reply = apis.call("GET", "/dev")

    assert reply.status == 403
    assert reply.json() == {"message": "Missing Authentication Token"}


def test_unknown_stage_is_403_forbidden(apis: Apis) -> None:
    """A stage that the API does not have returns 403 Forbidden."""
    reply = apis.call("GET", "/staging/pets", api_id=apis.strict_id)

    assert reply.status == 403
    assert reply.json() == {"message": "Forbidden"}
    assert reply.headers["x-amzn-ErrorType"] == "ForbiddenException"


# --- the event -------------------------------------------------------------------------

def test_event_fields(apis: Apis) -> None:
    """The payload format 1.0 event carries the request, its stage and its context."""
    before = int(time.time() * 1000)
    reply = apis.call("GET", "/dev/items?a=1&a=2&b=x%20y", headers=[
        ("X-Custom", "one"), ("User-Agent", "conformance/1.0"),
    ])

    assert reply.status == 200, reply.body
    event = reply.json()
    assert event["resource"] == "/items"
    assert event["path"] == "/items"
    assert event["httpMethod"] == "GET"
    assert event["headers"]["X-Custom"] == "one"
    assert event["multiValueHeaders"]["X-Custom"] == ["one"]
    assert event["queryStringParameters"] == {"a": "2", "b": "x y"}
    assert event["multiValueQueryStringParameters"] == {"a": ["1", "2"], "b": ["x y"]}
    assert event["pathParameters"] is None
    assert event["stageVariables"] == {"color": "blue"}
    assert event["body"] is None
    assert event["isBase64Encoded"] is False

    context = event["requestContext"]
    assert context["accountId"] == "123456789012"
    assert context["apiId"] == apis.main_id
    assert context["resourceId"] == _resource_id(apis, apis.main_id, "/items")
    assert context["resourcePath"] == "/items"
    assert context["httpMethod"] == "GET"
    assert context["path"] == "/dev/items"
    assert context["stage"] == "dev"
    assert context["protocol"] == "HTTP/1.1"
    assert context["requestId"] == reply.headers["x-amzn-RequestId"]
    assert context["extendedRequestId"] == reply.headers["x-amz-apigw-id"]
    assert before <= context["requestTimeEpoch"] <= int(time.time() * 1000)
    assert time.strptime(context["requestTime"], "%d/%b/%Y:%H:%M:%S +0000")
    assert context["identity"]["sourceIp"] == "127.0.0.1"
    assert context["identity"]["userAgent"] == "conformance/1.0"
    assert context["domainName"] == f"{apis.main_id}.execute-api.us-east-1.amazonaws.com"
    assert context["domainPrefix"] == apis.main_id


def test_event_repeated_headers(apis: Apis) -> None:
    """A repeated header keeps its last value in headers and all in multiValueHeaders."""
    # The HTTP server joins repeated headers (WSGI has one value per name), so the request
    # goes to the handler directly.
    request = DataPlaneRequest(method="GET", path=f"/{apis.main_id}/dev/items", raw_query="",
                               headers=(("X-Repeat", "one"), ("x-repeat", "two")), body=b"")
    environment = apis.stack.environment

    response = handle_rest_api(environment.cloud, environment.functions, apis.main_id,
                               request, "/dev/items")

    event = json.loads(response.body)
    assert event["headers"] == {"X-Repeat": "two"}
    assert event["multiValueHeaders"] == {"X-Repeat": ["one", "two"]}
    assert event["queryStringParameters"] is None
    assert event["multiValueQueryStringParameters"] is None


def test_event_text_body(apis: Apis) -> None:
    """A body whose type is not a binary media type arrives as text."""
    reply = apis.call("POST", "/dev/items/5", headers=[("Content-Type", "application/json")],
                      body=b'{"sku": "A1"}')

    event = reply.json()
    assert event["body"] == '{"sku": "A1"}'
    assert event["isBase64Encoded"] is False
    assert event["pathParameters"] == {"id": "5"}


def test_event_binary_body(apis: Apis) -> None:
    """A body whose Content-Type is a binary media type of the API arrives base64-encoded."""
    data = bytes(range(256))
    reply = apis.call("POST", "/dev/items/5", headers=[("Content-Type", "image/png")],
                      body=data)

    event = reply.json()
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == data


# --- the response ----------------------------------------------------------------------

ACCEPTED_RESPONSES = [
    # (proxy response, expected status, expected headers, expected body)
    ({"statusCode": 201, "headers": {"X-A": "1"}, "body": "made"}, 201, {"X-A": "1"},
     b"made"),
    ({"statusCode": "201", "body": "text"}, 201, {}, b"text"),
    ({"headers": {"X-Only": "yes"}}, 200, {"X-Only": "yes"}, b""),
    ({"statusCode": 200, "headers": None, "body": "ok"}, 200, {}, b"ok"),
    ({"statusCode": 200, "headers": {"X-M": "a"}, "multiValueHeaders": {"X-M": ["b", "c"]}},
     200, {"X-M": "b, c"}, b""),
    ({"statusCode": 404, "headers": {"Content-Type": "text/plain"}, "body": "none"}, 404,
     {"Content-Type": "text/plain"}, b"none"),
]


@pytest.mark.parametrize(("proxy_response", "status", "headers", "body"), ACCEPTED_RESPONSES)
def test_proxy_response(apis: Apis, proxy_response: dict[str, Any], status: int,
                        headers: dict[str, str], body: bytes) -> None:
    """The function's statusCode, headers and body become the HTTP response."""
    reply = apis.call("POST", "/dev/respond", body=json.dumps(proxy_response).encode())

    assert reply.status == status, reply.body
    for name, value in headers.items():
        assert reply.headers[name] == value
    assert reply.body == body
    assert reply.headers["x-amzn-RequestId"]
    assert reply.headers["x-amz-apigw-id"]


def test_boolean_header_value_is_accepted(apis: Apis) -> None:
    """A boolean header value does not make the response malformed."""
    proxy_response = {"statusCode": 200, "headers": {"X-Flag": True}, "body": ""}
    reply = apis.call("POST", "/dev/respond", body=json.dumps(proxy_response).encode())

    assert reply.status == 200


MALFORMED_RESPONSES = [
    {},
    "just a string",
    {"statusCode": "test"},
    {"statusCode": 200, "unknownKey": 1},
    {"statusCode": 200, "multiValueHeaders": {"X-A": "not a list"}},
]


@pytest.mark.parametrize("proxy_response", MALFORMED_RESPONSES)
def test_malformed_proxy_response_is_502(apis: Apis, proxy_response: Any) -> None:
    """A result that is not a valid proxy response returns 502 Internal server error."""
    reply = apis.call("POST", "/dev/respond", body=json.dumps(proxy_response).encode())

    assert reply.status == 502
    assert reply.json() == {"message": "Internal server error"}
    assert reply.headers["x-amzn-ErrorType"] == "InternalServerErrorException"


def test_function_error_is_502(apis: Apis) -> None:
    """A function that raises returns 502 Internal server error."""
    reply = apis.call("GET", "/dev/fail")

    assert reply.status == 502
    assert reply.json() == {"message": "Internal server error"}


def test_base64_body_decoded_for_binary_accept(apis: Apis) -> None:
    """isBase64Encoded bodies are decoded when the first Accept type is a binary type."""
    data = bytes(range(256))
    proxy_response = {"statusCode": 200, "headers": {"Content-Type": "image/png"},
                      "body": base64.b64encode(data).decode(), "isBase64Encoded": True}

    reply = apis.call("POST", "/dev/respond", headers=[("Accept", "image/png")],
                      body=json.dumps(proxy_response).encode())

    assert reply.status == 200
    assert reply.body == data


def test_base64_body_kept_for_text_accept(apis: Apis) -> None:
    """Without a binary Accept type, the client receives the base64 text."""
    encoded = base64.b64encode(b"\x89PNG").decode()
    proxy_response = {"statusCode": 200, "headers": {"Content-Type": "image/png"},
                      "body": encoded, "isBase64Encoded": True}

    reply = apis.call("POST", "/dev/respond", headers=[("Accept", "application/json")],
                      body=json.dumps(proxy_response).encode())

    assert reply.body == encoded.encode()


# --- integrations that cannot run ------------------------------------------------------

def _add_method(apis: Apis, path_part: str, integration: dict[str, Any]) -> None:
    """Add GET /{path_part} to the strict API with ``integration`` and redeploy it."""
    client = apis.stack.client("apigateway")
    root_id = _resource_id(apis, apis.strict_id, "/")
    resource = client.create_resource(restApiId=apis.strict_id, parentId=root_id,
                                      pathPart=path_part)
    client.put_method(restApiId=apis.strict_id, resourceId=resource["id"],
                      httpMethod="GET", authorizationType="NONE")
    client.put_integration(restApiId=apis.strict_id, resourceId=resource["id"],
                           httpMethod="GET", **integration)
    client.create_deployment(restApiId=apis.strict_id, stageName="prod")


def test_missing_function_is_500(apis: Apis) -> None:
    """A Lambda integration whose function does not exist is an API configuration error,
    which returns 500."""
    function_arn = "arn:aws:lambda:us-east-1:123456789012:function:does-not-exist"
    _add_method(apis, "gone", {
        "type": "AWS_PROXY", "integrationHttpMethod": "POST",
        "uri": f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/"
               f"{function_arn}/invocations",
    })

    reply = apis.call("GET", "/prod/gone", api_id=apis.strict_id)

    assert reply.status == 500
    assert reply.json() == {"message": "Internal server error"}


def test_remote_http_integration_is_reported(apis: Apis) -> None:
    """windtunnel sends no HTTP integration off the machine and names the host instead."""
    _add_method(apis, "proxied", {"type": "HTTP", "integrationHttpMethod": "GET",
                                  "uri": "http://backend.example.com/backend"})

    reply = apis.call("GET", "/prod/proxied", api_id=apis.strict_id)

    assert reply.status == 500
    assert "backend.example.com" in reply.json()["message"]


def test_mock_without_integration_response(apis: Apis) -> None:
    """A MOCK integration with no integration response is a configuration error: 500
    Internal server error (how-to-mock-integration.html)."""
    _add_method(apis, "mocked", {"type": "MOCK",
                                 "requestTemplates": {"application/json": '{"statusCode": 200}'}})

    reply = apis.call("GET", "/prod/mocked", api_id=apis.strict_id)

    assert reply.status == 500
    assert reply.json() == {"message": "Internal server error"}


# --- an example application ------------------------------------------------------------

CART = Path(__file__).resolve().parents[3] / "examples" / "cart"


def test_cart_example_round_trip() -> None:
    """The serverless.yml cart serves POST /{userId}/items and GET /{userId} at stage dev."""
    with Stack.local(CART, isolation="thread") as stack:
        endpoint = stack.serve(port=0)
        api_id = next(resource.physical_id for resource in stack.deployed.resources.values()
                      if resource.resource_type == "AWS::ApiGateway::RestApi")
        apis = Apis(stack, endpoint, api_id, api_id)
        line = {"sku": "A1", "quantity": 2, "price": 3.5}

        added = apis.call("POST", "/dev/u1/items", headers=[("Content-Type", "application/json")],
                          body=json.dumps(line).encode())
        cart = apis.call("GET", "/dev/u1")

    assert added.status // 100 == 2, stack.environment.functions.invocations[-1].raw_payload
    assert cart.status == 200, cart.body
    assert cart.json()["userId"] == "u1"
    assert cart.json()["itemCount"] == 2
