"""Unusual and invalid API requests get API Gateway's responses; the server serves on.

Every request goes over a socket to the served endpoint, as a client would send it.

Sources, per case:
- Payload quota of 10 MB for REST and HTTP APIs:
  https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html
  The 413 text ``HTTP content length exceeded 10485760 bytes.`` (media type ``text;
  charset=utf-8``) and, for a body over Lambda's 6 MB invocation quota, 413
  ``{"message": "Request Too Long"}`` with ``x-amzn-ErrorType: BadRequestException``
  are responses recorded from AWS in https://github.com/koki-develop/lgtm-generator/issues/10
- Lambda's 6 MB synchronous invocation payload quota:
  https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
- Body validation failure, 400 ``Invalid request body``:
  https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-method-request-validation.html
- ``headers`` keeps the last value of a repeated header and ``multiValueHeaders`` all of
  them; the same for query strings:
  https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html
- REST APIs pass the path and path parameters percent-encoded as sent (an event recorded
  from AWS with ``"ID": "my-id%2F100"`` in https://github.com/aws/aws-sam-cli/issues/3524),
  and HTTP APIs send them decoded:
  https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html
- A header line with whitespace before the colon gets 400 (RFC 9112, section 5.1):
  https://www.rfc-editor.org/rfc/rfc9112#section-5.1
- A trailing slash selects the same REST resource: AWS's sample
  https://github.com/aws-samples/serverless-test-samples (python-test-samples/apigw-lambda)
  calls its ``/hello`` method at ``.../Prod/hello/`` in an integration test against AWS.
- Dot segments are removed from a path (RFC 3986, section 5.2.4):
  https://www.rfc-editor.org/rfc/rfc3986#section-5.2.4
"""

from __future__ import annotations

import http.client
import json
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from windtunnel import EmulatedStack, Stack

HANDLER = '''
import json

def echo(event, context):
    return {"statusCode": 200, "body": json.dumps(event)}
'''

TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
Globals:
  Function: {Runtime: python3.12, CodeUri: src/, Handler: app.echo, MemorySize: 256}
Resources:
  Rest:
    Type: AWS::Serverless::Api
    Properties:
      StageName: live
      Models:
        Item:
          type: object
          required: [sku]
          properties: {sku: {type: string}}
  Echo:
    Type: AWS::Serverless::Function
    Properties:
      Events:
        Item: {Type: Api, Properties: {RestApiId: !Ref Rest, Path: "/items/{id}", Method: GET}}
        Plain: {Type: Api, Properties: {RestApiId: !Ref Rest, Path: /plain, Method: POST}}
        Validated:
          Type: Api
          Properties:
            RestApiId: !Ref Rest
            Path: /validated
            Method: POST
            RequestModel: {Model: Item, Required: true, ValidateBody: true}
        HttpItem: {Type: HttpApi, Properties: {Path: "/items/{id}", Method: GET}}
        HttpPlain: {Type: HttpApi, Properties: {Path: /plain, Method: POST}}
"""

TOO_LONG_TEXT = b"HTTP content length exceeded 10485760 bytes."


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Served:
    stack: EmulatedStack
    port: int

    def rest_path(self, path: str) -> str:
        return f"/_aws/execute-api/{self.stack.physical_id('Rest')}/live{path}"

    def http_path(self, path: str) -> str:
        return f"/_aws/execute-api/{self.stack.physical_id('ServerlessHttpApi')}{path}"

    def call(self, method: str, path: str, headers: list[tuple[str, str]] | None = None,
             body: bytes = b"", connection: http.client.HTTPConnection | None = None
             ) -> Reply:
        """Send one request; ``path`` goes out as given, without normalization."""
        own = connection is None
        connection = connection or http.client.HTTPConnection("127.0.0.1", self.port,
                                                              timeout=60)
        try:
            connection.putrequest(method, path, skip_accept_encoding=True)
            for name, value in headers or []:
                connection.putheader(name, value)
            connection.putheader("Content-Length", str(len(body)))
            connection.endheaders(body)
            response = connection.getresponse()
            return Reply(response.status, dict(response.getheaders()), response.read())
        finally:
            if own:
                connection.close()

    def raw(self, request: bytes) -> bytes:
        """Send bytes that http.client would refuse to send, and return the response."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as sock:
            sock.sendall(request)
            received = b""
            while b"\r\n\r\n" not in received:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                received += chunk
            return received

    def healthy(self) -> bool:
        """Tell whether an ordinary request still succeeds."""
        return self.call("GET", self.rest_path("/items/1")).status == 200


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root: Path = tmp_path_factory.mktemp("bad-input")
    (root / "src").mkdir()
    (root / "src" / "app.py").write_text(HANDLER)
    (root / "template.yaml").write_text(TEMPLATE)
    with Stack.local(root, stack_name="bad-input") as stack:
        url = stack.serve(0)
        yield Served(stack, int(url.rsplit(":", 1)[1]))


# --- payload size ------------------------------------------------------------------------

@pytest.mark.parametrize("api", ["rest", "http"])
def test_body_over_10_mb(served: Served, api: str) -> None:
    """A body over 10 MB gets 413 and AWS's text; the same connection serves on."""
    path = served.rest_path("/plain") if api == "rest" else served.http_path("/plain")
    connection = http.client.HTTPConnection("127.0.0.1", served.port, timeout=60)
    try:
        too_large = served.call("POST", path, body=b"x" * (10 * 1024 * 1024 + 1),
                                connection=connection)
        after = served.call("GET", served.rest_path("/items/1"), connection=connection)
    finally:
        connection.close()

    assert too_large.status == 413
    assert too_large.body == TOO_LONG_TEXT
    assert too_large.headers["Content-Type"] == "text; charset=utf-8"
    assert after.status == 200


def test_body_of_exactly_10_mb_passes_gateway(served: Served) -> None:
    """A body of exactly 10 MB is within API Gateway's quota but over Lambda's 6 MB, so a
    Lambda proxy integration gets 413 Request Too Long."""
    reply = served.call("POST", served.rest_path("/plain"), body=b"x" * (10 * 1024 * 1024))

    assert reply.status == 413
    assert reply.body == b'{"message": "Request Too Long"}'
    assert reply.headers["x-amzn-ErrorType"] == "BadRequestException"
    assert served.healthy()


def test_chunked_body_over_10_mb(served: Served) -> None:
    """A chunked body without Content-Length is held to the same 10 MB quota."""
    connection = http.client.HTTPConnection("127.0.0.1", served.port, timeout=60)
    try:
        chunks = (b"y" * (1024 * 1024) for _ in range(11))
        connection.request("POST", served.rest_path("/plain"), body=chunks,
                           encode_chunked=True)
        response = connection.getresponse()
        status, body = response.status, response.read()
    finally:
        connection.close()

    assert status == 413
    assert body == TOO_LONG_TEXT
    assert served.healthy()


# --- malformed JSON ----------------------------------------------------------------------

def test_malformed_json_without_validator(served: Served) -> None:
    """Without a validator the body reaches the function unchanged."""
    reply = served.call("POST", served.rest_path("/plain"),
                        headers=[("Content-Type", "application/json")], body=b'{"sku": ')

    assert reply.status == 200
    assert reply.json()["body"] == '{"sku": '


@pytest.mark.parametrize("body", [b'{"sku": ', b"not json", b"\xff\xfe"])
def test_malformed_json_with_validator(served: Served, body: bytes) -> None:
    """With body validation, a body that is not JSON is an invalid request body."""
    reply = served.call("POST", served.rest_path("/validated"),
                        headers=[("Content-Type", "application/json")], body=body)

    assert reply.status == 400
    assert reply.json() == {"message": "Invalid request body"}
    assert reply.headers["x-amzn-ErrorType"] == "BadRequestException"


def test_malformed_json_http_api(served: Served) -> None:
    """HTTP APIs have no validators: the body reaches the function unchanged."""
    reply = served.call("POST", served.http_path("/plain"),
                        headers=[("Content-Type", "application/json")], body=b"{oops")

    assert reply.status == 200
    assert reply.json()["body"] == "{oops"


# --- headers ----------------------------------------------------------------------------

def test_repeated_headers_rest(served: Served) -> None:
    """``headers`` keeps the last value; ``multiValueHeaders`` keeps each value apart."""
    reply = served.call("GET", served.rest_path("/items/1"),
                        headers=[("X-Tag", "one"), ("X-Tag", "two, three")])

    event = reply.json()
    assert event["headers"]["X-Tag"] == "two, three"
    assert event["multiValueHeaders"]["X-Tag"] == ["one", "two, three"]


def test_repeated_headers_http_api(served: Served) -> None:
    """Payload format 2.0 joins the values of a repeated header with commas."""
    reply = served.call("GET", served.http_path("/items/1"),
                        headers=[("X-Tag", "one"), ("X-Tag", "two")])

    assert reply.json()["headers"]["x-tag"] == "one,two"


@pytest.mark.parametrize("line", [b"X-Bad : 1", b"Bad Header: 1", b"no-colon-here"])
def test_malformed_header_line(served: Served, line: bytes) -> None:
    """A malformed header line gets 400, and the server serves the next request."""
    request = (f"GET {served.rest_path('/items/1')} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
               .encode() + line + b"\r\nContent-Length: 0\r\n\r\n")

    response = served.raw(request)

    assert response.startswith(b"HTTP/1.1 400 ")
    assert served.healthy()


# --- paths -------------------------------------------------------------------------------

@pytest.mark.parametrize(("sent", "path_parameter"), [
    ("a%20b", "a%20b"),
    ("my-id%2F100", "my-id%2F100"),
    ("caf%C3%A9", "caf%C3%A9"),
    ("plus+sign", "plus+sign"),
])
def test_encoded_path_rest(served: Served, sent: str, path_parameter: str) -> None:
    """REST APIs keep the path and its parameters percent-encoded as sent."""
    reply = served.call("GET", served.rest_path(f"/items/{sent}"))

    event = reply.json()
    assert reply.status == 200
    assert event["pathParameters"] == {"id": path_parameter}
    assert event["path"] == f"/items/{sent}"
    assert event["requestContext"]["path"] == f"/live/items/{sent}"


@pytest.mark.parametrize(("sent", "decoded"), [
    ("a%20b", "a b"),
    ("caf%C3%A9", "café"),
])
def test_encoded_path_http_api(served: Served, sent: str, decoded: str) -> None:
    """HTTP APIs send ``rawPath`` and ``pathParameters`` URL-decoded."""
    reply = served.call("GET", served.http_path(f"/items/{sent}"))

    event = reply.json()
    assert reply.status == 200
    assert event["pathParameters"] == {"id": decoded}
    assert event["rawPath"] == f"/items/{decoded}"


def test_dot_segments_removed(served: Served) -> None:
    """``..`` removes the segment before it, as RFC 3986 normalization does, and never
    leaves the API that the URL names."""
    inside = served.call("GET", served.rest_path("/items/../items/7"))
    above_stage = served.call("GET", served.rest_path("/../items/7"))
    above_api = served.call("GET", served.rest_path("/../../../items/7"))

    assert inside.status == 200
    assert inside.json()["path"] == "/items/7"
    # Without its stage the request names the stage "items", which does not exist.
    assert above_stage.status == 403
    assert above_stage.json() == {"message": "Forbidden"}
    assert above_api.status == 403
    assert above_api.json() == {"message": "Forbidden"}
    assert served.healthy()


# --- query strings -----------------------------------------------------------------------

def test_repeated_query_keys(served: Served) -> None:
    """The single-value map keeps the last value; the multi-value map keeps all."""
    reply = served.call("GET", served.rest_path("/items/1?tag=a&tag=b&tag=&x=%26"))

    event = reply.json()
    assert event["queryStringParameters"] == {"tag": "", "x": "&"}
    assert event["multiValueQueryStringParameters"] == {"tag": ["a", "b", ""], "x": ["&"]}


def test_trailing_slash_rest(served: Served) -> None:
    """``/plain/`` reaches the ``/plain`` resource, and the permission that SAM scopes to
    ``.../POST/plain`` lets API Gateway invoke the function."""
    reply = served.call("POST", served.rest_path("/plain/"), body=b"hello")

    assert reply.status == 200
    assert reply.json()["body"] == "hello"
    assert reply.json()["resource"] == "/plain"
