"""HTTP API (API Gateway v2) data plane: route selection and Lambda proxy integrations.

Every request goes over HTTP to the local endpoint, as a client would send it.

Sources:
- Routes: https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-routes.html
- Payload formats 1.0 and 2.0 and response inference:
  https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html
- Error responses of HTTP APIs ({"message":"Not Found"}, {"message":"Internal Server
  Error"}): https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-troubleshooting-lambda.html
"""

from __future__ import annotations

import http.client
import json
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from windtunnel import EmulatedStack, Stack
from windtunnel.cloud.dataplane import DataPlaneRequest
from windtunnel.services.apigateway.http_api import handle_http_api

ROUTES_DOC = "https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-routes.html"
LAMBDA_DOC = ("https://docs.aws.amazon.com/apigateway/latest/developerguide/"
              "http-api-develop-integrations-lambda.html")

HANDLERS = '''
import base64, json

def echo(event, context):
    return {"statusCode": 200, "headers": {"content-type": "application/json"},
            "body": json.dumps(event)}

def plain_object(event, context):
    return {"message": "Hello from Lambda!"}

def plain_string(event, context):
    return "Hello from Lambda!"

def custom(event, context):
    return {"statusCode": 201, "headers": {"x-custom": "yes", "x-count": 3},
            "cookies": ["session=abc; Secure", "theme=dark"], "body": "created"}

def binary(event, context):
    return {"statusCode": 200, "isBase64Encoded": True,
            "body": base64.b64encode(b"\\x00\\x01raw").decode()}

def fail(event, context):
    raise ValueError("bad input")

def no_status_v1(event, context):
    return {"message": "format 1.0 needs statusCode"}
'''

TEMPLATE = '''
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Runtime: python3.12
    CodeUri: src/
    Timeout: 3
Resources:
  Echo:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.echo
      Events:
        DogOne: {Type: HttpApi, Properties: {Path: /pets/dog/1, Method: get}}
        DogById: {Type: HttpApi, Properties: {Path: "/pets/dog/{id}", Method: get}}
        PetsGreedy: {Type: HttpApi, Properties: {Path: "/pets/{proxy+}", Method: get}}
        AnyGreedy: {Type: HttpApi, Properties: {Path: "/{proxy+}", Method: any}}
        Items: {Type: HttpApi, Properties: {Path: "/items/{id}", Method: post}}
        StagedItem:
          Type: HttpApi
          Properties: {ApiId: !Ref Staged, Path: "/items/{id}", Method: get}
        StagedDefault: {Type: HttpApi, Properties: {ApiId: !Ref Staged}}
        VersionOne:
          Type: HttpApi
          Properties:
            ApiId: !Ref Bare
            Path: "/v1/{name}"
            Method: get
            PayloadFormatVersion: "1.0"
  PlainObject:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.plain_object
      Events:
        Route: {Type: HttpApi, Properties: {ApiId: !Ref Bare, Path: /object, Method: get}}
  PlainString:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.plain_string
      Events:
        Route: {Type: HttpApi, Properties: {ApiId: !Ref Bare, Path: /string, Method: get}}
  Custom:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.custom
      Events:
        Route: {Type: HttpApi, Properties: {ApiId: !Ref Bare, Path: /custom, Method: get}}
  Binary:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.binary
      Events:
        Route: {Type: HttpApi, Properties: {ApiId: !Ref Bare, Path: /binary, Method: get}}
  Fail:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.fail
      Events:
        Route: {Type: HttpApi, Properties: {ApiId: !Ref Bare, Path: /fail, Method: get}}
  NoStatusV1:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.no_status_v1
      Events:
        Route:
          Type: HttpApi
          Properties:
            ApiId: !Ref Bare
            Path: /v1-no-status
            Method: get
            PayloadFormatVersion: "1.0"
  Staged:
    Type: AWS::Serverless::HttpApi
    Properties:
      StageName: prod
      StageVariables: {color: blue}
  Bare:
    Type: AWS::Serverless::HttpApi
  Proxy:
    Type: AWS::ApiGatewayV2::Api
    Properties:
      Name: http-proxy
      ProtocolType: HTTP
      Target: https://example.com
'''


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes
    header_list: list[tuple[str, str]]

    def all_headers(self, name: str) -> list[str]:
        """Return every value of a header that the response repeats."""
        return [value for key, value in self.header_list if key.lower() == name.lower()]

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Served:
    stack: EmulatedStack
    url: str

    def api_id(self, logical_id: str) -> str:
        return self.stack.physical_id(logical_id)

    def call(self, api: str, path: str, method: str = "GET",
             headers: list[tuple[str, str]] | None = None, body: bytes | None = None
             ) -> Reply:
        """Send a request to ``path`` of API ``api`` (a logical ID) and return the reply.

        http.client sends repeated headers as given, which urllib.request would merge.
        """
        parts = urllib.parse.urlsplit(self.url)
        connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port,
                                                timeout=30)
        try:
            connection.putrequest(method, f"/_aws/execute-api/{self.api_id(api)}{path}")
            for name, value in headers or []:
                connection.putheader(name, value)
            connection.putheader("Content-Length", str(len(body or b"")))
            connection.endheaders(body)
            response = connection.getresponse()
            header_list = response.getheaders()
            return Reply(response.status, dict(header_list), response.read(), header_list)
        finally:
            connection.close()

    def event(self, api: str, path: str, method: str = "GET",
              headers: list[tuple[str, str]] | None = None, body: bytes | None = None
              ) -> dict[str, Any]:
        """Return the event that the echo function received for a request."""
        reply = self.call(api, path, method, headers, body)
        assert reply.status == 200, reply.body
        event: dict[str, Any] = reply.json()
        return event


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("http_api")
    (root / "src").mkdir()
    (root / "src" / "app.py").write_text(HANDLERS)
    (root / "template.yaml").write_text(TEMPLATE)
    with Stack.local(root, stack_name="httpapi") as stack:
        yield Served(stack, stack.serve(port=0))


# The example routes and requests of "Routing API requests" on the routes page.
ROUTE_SELECTION = [
    ("GET", "/pets/dog/1", "GET /pets/dog/1"),
    ("GET", "/pets/dog/2", "GET /pets/dog/{id}"),
    ("GET", "/pets/cat/1", "GET /pets/{proxy+}"),
    ("POST", "/test/5", "ANY /{proxy+}"),
]


@pytest.mark.parametrize(("method", "path", "route_key"), ROUTE_SELECTION)
def test_route_selection_most_specific(served: Served, method: str, path: str,
                                       route_key: str) -> None:
    """The most specific route wins; a method route beats ANY (source: ROUTES_DOC)."""
    event = served.event("ServerlessHttpApi", path, method)

    assert event["routeKey"] == route_key
    assert event["requestContext"]["routeKey"] == route_key


def test_default_route_catches_unmatched(served: Served) -> None:
    """$default catches a request that no other route matches (source: ROUTES_DOC)."""
    event = served.event("Staged", "/prod/orders/7", "DELETE")

    assert event["routeKey"] == "$default"
    assert event["rawPath"] == "/prod/orders/7"
    assert "pathParameters" not in event


def test_no_route_is_not_found(served: Served) -> None:
    """A request that matches no route gets 404 {"message":"Not Found"} (ROUTES_DOC)."""
    reply = served.call("Bare", "/missing")

    assert reply.status == 404
    assert reply.json() == {"message": "Not Found"}


def test_method_mismatch_is_not_found(served: Served) -> None:
    """A path whose route has another method and no ANY route is not found (ROUTES_DOC)."""
    reply = served.call("Bare", "/object", "POST")

    assert reply.status == 404
    assert reply.json() == {"message": "Not Found"}


def test_unknown_stage_without_default_stage(served: Served) -> None:
    """Without a $default stage, a path that names no stage is not found (ROUTES_DOC)."""
    reply = served.call("Staged", "/items/1")

    assert reply.status == 404
    assert reply.json() == {"message": "Not Found"}


def test_path_parameters_greedy_and_plain(served: Served) -> None:
    """pathParameters contains plain and greedy variables, URL-decoded (ROUTES_DOC)."""
    plain = served.event("ServerlessHttpApi", "/pets/dog/a%20b")
    greedy = served.event("ServerlessHttpApi", "/pets/cat/small/1")

    assert plain["pathParameters"] == {"id": "a b"}
    assert greedy["pathParameters"] == {"proxy": "cat/small/1"}


def test_event_v2_query_string(served: Served) -> None:
    """Repeated query keys are joined with commas; rawQueryString is as sent (LAMBDA_DOC)."""
    event = served.event("ServerlessHttpApi", "/pets/dog/1?parameter1=value1"
                         "&parameter1=value2&parameter2=value")

    assert event["rawQueryString"] == "parameter1=value1&parameter1=value2&parameter2=value"
    assert event["queryStringParameters"] == {"parameter1": "value1,value2",
                                              "parameter2": "value"}


def test_event_v2_headers_and_cookies(served: Served) -> None:
    """Header names are lowercased, repeated headers joined with commas, and cookies
    moved out of the headers into the cookies list (LAMBDA_DOC)."""
    event = served.event("ServerlessHttpApi", "/pets/dog/1", headers=[
        ("X-Repeated", "value1"), ("X-Repeated", "value2"),
        ("Cookie", "cookie1=a; cookie2=b"), ("User-Agent", "agent")])

    assert event["headers"]["x-repeated"] == "value1,value2"
    assert event["cookies"] == ["cookie1=a", "cookie2=b"]
    assert "cookie" not in event["headers"]
    assert event["requestContext"]["http"]["userAgent"] == "agent"


def test_event_v2_key_fields(served: Served) -> None:
    """The 2.0 event has the documented top-level and requestContext fields (LAMBDA_DOC)."""
    api_id = served.api_id("ServerlessHttpApi")

    event = served.event("ServerlessHttpApi", "/items/42", "POST",
                         headers=[("Content-Type", "application/json")], body=b'{"a": 1}')

    assert event["version"] == "2.0"
    assert event["routeKey"] == "POST /items/{id}"
    assert event["rawPath"] == "/items/42"
    assert event["body"] == '{"a": 1}'
    assert event["isBase64Encoded"] is False
    assert event["pathParameters"] == {"id": "42"}
    assert "stageVariables" not in event
    assert "queryStringParameters" not in event
    context = event["requestContext"]
    assert context["accountId"] == "123456789012"
    assert context["apiId"] == api_id
    assert context["domainName"] == f"{api_id}.execute-api.us-east-1.amazonaws.com"
    assert context["domainPrefix"] == api_id
    assert context["http"]["method"] == "POST"
    assert context["http"]["path"] == "/items/42"
    assert context["http"]["protocol"] == "HTTP/1.1"
    assert context["http"]["sourceIp"] == "127.0.0.1"
    assert context["stage"] == "$default"
    assert isinstance(context["requestId"], str)
    assert isinstance(context["timeEpoch"], int)
    assert context["time"].endswith(" +0000")


def test_event_v2_named_stage(served: Served) -> None:
    """A named stage stays in rawPath and http.path, and stage variables are passed
    (LAMBDA_DOC lists the fields; the stage prefix is seen in payloads that users recorded
    from AWS)."""
    event = served.event("Staged", "/prod/items/9")

    assert event["routeKey"] == "GET /items/{id}"
    assert event["rawPath"] == "/prod/items/9"
    assert event["requestContext"]["http"]["path"] == "/prod/items/9"
    assert event["requestContext"]["stage"] == "prod"
    assert event["pathParameters"] == {"id": "9"}
    assert event["stageVariables"] == {"color": "blue"}


def test_event_v1_shape(served: Served) -> None:
    """Payload format 1.0 sends the REST-like event with version 1.0 (LAMBDA_DOC)."""
    event = served.event("Bare", "/v1/fido?a=1&a=2", headers=[("X-Custom", "one")])

    assert event["version"] == "1.0"
    assert event["resource"] == "/v1/{name}"
    assert event["path"] == "/v1/fido"
    assert event["httpMethod"] == "GET"
    assert event["headers"]["x-custom"] == "one"
    assert event["multiValueHeaders"]["x-custom"] == ["one"]
    assert event["multiValueQueryStringParameters"] == {"a": ["1", "2"]}
    assert event["pathParameters"] == {"name": "fido"}
    assert event["stageVariables"] is None
    assert event["body"] is None
    assert event["isBase64Encoded"] is False
    assert event["requestContext"]["stage"] == "$default"
    assert event["requestContext"]["identity"]["sourceIp"] == "127.0.0.1"


def test_response_object_without_status(served: Served) -> None:
    """A JSON object without statusCode becomes a 200 with the object as a JSON body and
    content-type application/json (LAMBDA_DOC, format 2.0 response)."""
    reply = served.call("Bare", "/object")

    assert reply.status == 200
    assert reply.headers["Content-Type"] == "application/json"
    assert reply.json() == {"message": "Hello from Lambda!"}


def test_response_string_without_status(served: Served) -> None:
    """A returned string becomes the body as is (LAMBDA_DOC, format 2.0 response)."""
    reply = served.call("Bare", "/string")

    assert reply.status == 200
    assert reply.headers["Content-Type"] == "application/json"
    assert reply.body == b"Hello from Lambda!"


def test_response_with_status_headers_cookies(served: Served) -> None:
    """statusCode, headers and body are used as given; cookies become Set-Cookie
    (LAMBDA_DOC, format 2.0 response)."""
    reply = served.call("Bare", "/custom")

    assert reply.status == 201
    assert reply.headers["x-custom"] == "yes"
    assert reply.headers["x-count"] == "3"
    assert reply.all_headers("Set-Cookie") == ["session=abc; Secure", "theme=dark"]
    assert reply.body == b"created"


def test_response_base64_body(served: Served) -> None:
    """isBase64Encoded true sends the decoded bytes (LAMBDA_DOC, format 2.0 response)."""
    reply = served.call("Bare", "/binary")

    assert reply.status == 200
    assert reply.body == b"\x00\x01raw"


def test_function_error_is_internal_error(served: Served) -> None:
    """A function error gives 500 {"message":"Internal Server Error"} (the HTTP API
    Lambda troubleshooting page)."""
    reply = served.call("Bare", "/fail")

    assert reply.status == 500
    assert reply.json() == {"message": "Internal Server Error"}


def test_v1_response_without_status_is_error(served: Served) -> None:
    """Format 1.0 infers nothing: output without statusCode gives 500 (LAMBDA_DOC and
    https://repost.aws/knowledge-center/api-gateway-status-codes-http-api)."""
    reply = served.call("Bare", "/v1-no-status")

    assert reply.status == 500
    assert reply.json() == {"message": "Internal Server Error"}


def test_http_proxy_integration_not_emulated(served: Served) -> None:
    """An HTTP_PROXY integration gets a 500 that names the integration type (windtunnel
    limitation, not AWS behavior)."""
    reply = served.call("Proxy", "/anything")

    assert reply.status == 500
    assert "HTTP_PROXY" in reply.json()["message"]


def test_missing_authorizer_function_is_500(served: Served) -> None:
    """A Lambda authorizer whose function does not exist fails the request with 500, as an
    authorizer that API Gateway cannot invoke does (http-api-lambda-authorizer.html)."""
    client = served.stack.client("apigatewayv2")
    api_id = served.api_id("Bare")
    authorizer = client.create_authorizer(
        ApiId=api_id, AuthorizerType="REQUEST", Name="lambda",
        IdentitySource=["$request.header.Authorization"], AuthorizerPayloadFormatVersion="2.0",
        AuthorizerUri="arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/"
                      "arn:aws:lambda:us-east-1:123456789012:function:authorize/invocations")
    integration = client.create_integration(
        ApiId=api_id, IntegrationType="AWS_PROXY", PayloadFormatVersion="2.0",
        IntegrationUri="arn:aws:lambda:us-east-1:123456789012:function:backend")
    client.create_route(ApiId=api_id, RouteKey="GET /secured", AuthorizationType="CUSTOM",
                        AuthorizerId=authorizer["AuthorizerId"],
                        Target=f"integrations/{integration['IntegrationId']}")

    reply = served.call("Bare", "/secured", headers=[("Authorization", "token")])

    assert reply.status == 500
    assert reply.json() == {"message": "Internal Server Error"}


def test_jwt_from_unknown_issuer_unauthorized(served: Served) -> None:
    """A JWT authorizer whose issuer is not an embedded user pool cannot verify tokens
    locally, so every request answers 401 Unauthorized, as for an invalid token."""
    client = served.stack.client("apigatewayv2")
    api_id = served.api_id("Bare")
    authorizer = client.create_authorizer(
        ApiId=api_id, AuthorizerType="JWT", Name="jwt",
        IdentitySource=["$request.header.Authorization"],
        JwtConfiguration={"Audience": ["app"], "Issuer": "https://issuer.example.com"})
    client.create_route(ApiId=api_id, RouteKey="GET /jwt", AuthorizationType="JWT",
                        AuthorizerId=authorizer["AuthorizerId"])

    reply = served.call("Bare", "/jwt")

    assert reply.status == 401
    assert reply.json() == {"message": "Unauthorized"}


def test_repeated_headers_both_formats(served: Served) -> None:
    """Format 2.0 joins a repeated header with commas; format 1.0 lists each value in
    multiValueHeaders and keeps the last in headers (LAMBDA_DOC).

    The request goes straight to the handler because the local HTTP server (WSGI) merges
    repeated headers before the data plane receives them.
    """
    environment = served.stack.environment
    headers = (("X-Repeated", "one"), ("X-Repeated", "two"))

    def send(path: str) -> dict[str, Any]:
        request = DataPlaneRequest(method="GET", path=path, raw_query="", headers=headers,
                                   body=b"")
        reply = handle_http_api(environment.cloud, environment.functions,
                                served.api_id("Bare") if path.startswith("/v1")
                                else served.api_id("ServerlessHttpApi"), request, path)
        assert reply.status == 200, reply.body
        event: dict[str, Any] = json.loads(reply.body)
        return event

    version_two = send("/pets/dog/1")
    version_one = send("/v1/fido")

    assert version_two["headers"]["x-repeated"] == "one,two"
    assert version_one["multiValueHeaders"]["x-repeated"] == ["one", "two"]
    assert version_one["headers"]["x-repeated"] == "two"
