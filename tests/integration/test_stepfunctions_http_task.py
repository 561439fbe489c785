"""The HTTP Task: a call to an HTTPS API through an EventBridge connection, on loopback.

Sources (https://docs.aws.amazon.com/step-functions/latest/dg/call-https-apis.html):
- Parameters ApiEndpoint, Method, Authentication.ConnectionArn (required), Headers,
  QueryParameters, RequestBody, and Transform.RequestBodyEncoding URL_ENCODED with
  RequestEncodingOptions.ArrayFormat (INDICES, REPEAT, COMMAS, BRACKETS).
- The connection's authorization (API key, Basic, OAuth) is added to the request.
- The output has Headers, ResponseBody, StatusCode and StatusText; a failed request
  fails with States.Http.StatusCode.<code>, a connection failure with States.Http.Socket.
windtunnel sends requests only to loopback hosts; the server here listens on 127.0.0.1.
"""

from __future__ import annotations

import json
import threading
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest

from windtunnel import EmulatedStack, Stack

TEMPLATE = """
Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Statement:
          - {Effect: Allow, Principal: {Service: states.amazonaws.com}, Action: sts:AssumeRole}
  Connection:
    Type: AWS::Events::Connection
    Properties:
      AuthorizationType: API_KEY
      AuthParameters:
        ApiKeyAuthParameters: {ApiKeyName: x-api-key, ApiKeyValue: secret-key}
Outputs:
  RoleArn: {Value: !GetAtt Role.Arn}
  ConnectionArn: {Value: !GetAtt Connection.Arn}
"""


class _Payments(BaseHTTPRequestHandler):
    requests: ClassVar[list[dict[str, Any]]] = []
    status = 201

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode()
        type(self).requests.append({"method": self.command, "path": self.path,
                                    "headers": dict(self.headers), "body": body})
        reply = json.dumps({"charge": "ch_1", "status": type(self).status}).encode()
        self.send_response(type(self).status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    do_GET = do_POST = _answer

    def log_message(self, *_: Any) -> None:
        """Keep the test output quiet."""


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Payments)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatedStack]:
    root = tmp_path_factory.mktemp("http-task")
    (root / "template.yaml").write_text(TEMPLATE)
    with Stack.local(root) as loaded:
        yield loaded


@pytest.fixture(autouse=True)
def _clear() -> None:
    _Payments.requests.clear()
    _Payments.status = 201


def _run(stack: EmulatedStack, parameters: dict[str, Any], body: Any = None) -> dict[str, Any]:
    client = stack.client("stepfunctions")
    definition = {"StartAt": "Call", "States": {"Call": {
        "Type": "Task", "Resource": "arn:aws:states:::http:invoke",
        "Parameters": {**parameters, "Authentication": {
            "ConnectionArn": stack.outputs["ConnectionArn"]}},
        "End": True}}}
    name = f"http-{abs(hash(json.dumps(parameters, sort_keys=True))) % 10**8}"
    arn = client.create_state_machine(name=name, definition=json.dumps(definition),
                                      roleArn=stack.outputs["RoleArn"])["stateMachineArn"]
    execution = client.start_execution(stateMachineArn=arn, input=json.dumps(body or {}))
    return dict(client.describe_execution(executionArn=execution["executionArn"]))


def test_a_post_sends_json_with_the_connections_key(stack: EmulatedStack,
                                                    server: str) -> None:
    described = _run(stack, {"ApiEndpoint": f"{server}/charges", "Method": "POST",
                             "QueryParameters": {"currency": "EUR"},
                             "RequestBody": {"amount": 1250}})

    output = json.loads(described["output"])
    [request] = _Payments.requests
    assert described["status"] == "SUCCEEDED"
    assert output["StatusCode"] == 201
    assert output["StatusText"] == "Created"
    assert output["ResponseBody"] == {"charge": "ch_1", "status": 201}
    assert output["Headers"]["Content-Type"] == ["application/json"]
    assert request["path"] == "/charges?currency=EUR"
    assert request["headers"]["x-api-key"] == "secret-key"
    assert json.loads(request["body"]) == {"amount": 1250}


def test_url_encoded_bodies_follow_the_array_format(stack: EmulatedStack, server: str) -> None:
    _run(stack, {"ApiEndpoint": f"{server}/forms", "Method": "POST",
                 "RequestBody": {"sku": ["a", "b"], "note": "x y"},
                 "Transform": {"RequestBodyEncoding": "URL_ENCODED",
                               "RequestEncodingOptions": {"ArrayFormat": "BRACKETS"}}})

    [request] = _Payments.requests
    assert urllib.parse.parse_qsl(request["body"]) == [("sku[]", "a"), ("sku[]", "b"),
                                                      ("note", "x y")]
    assert request["headers"]["Content-Type"] == "application/x-www-form-urlencoded"


def test_an_error_status_fails_the_task(stack: EmulatedStack, server: str) -> None:
    _Payments.status = 402

    described = _run(stack, {"ApiEndpoint": f"{server}/charges", "Method": "POST",
                             "RequestBody": {"amount": 1}})

    assert (described["status"], described["error"]) == ("FAILED",
                                                        "States.Http.StatusCode.402")


def test_only_loopback_hosts_are_called(stack: EmulatedStack) -> None:
    described = _run(stack, {"ApiEndpoint": "https://api.example.com/v1/charges",
                             "Method": "GET"})

    assert (described["status"], described["error"]) == ("FAILED", "States.Http.Socket")
    assert "loopback" in described["cause"]
