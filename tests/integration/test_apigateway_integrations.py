"""REST API HTTP and HTTP_PROXY integrations against a backend on 127.0.0.1.

Sources:
- HTTP proxy and custom HTTP integrations:
  https://docs.aws.amazon.com/apigateway/latest/developerguide/setup-http-integrations.html
- Parameter mappings (``integration.request.*`` from method request parameters, context
  variables and literals; ``method.response.header.*`` from integration response headers)
  and template selection:
  https://docs.aws.amazon.com/apigateway/latest/developerguide/request-response-data-mappings.html
- ``selectionPattern`` against the HTTP status code of an HTTP integration, and the
  INTEGRATION_TIMEOUT gateway response (504):
  https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-integration-settings-integration-response.html
  https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html
windtunnel sends integrations only to loopback hosts; other hosts get 500 and a log line.
"""

from __future__ import annotations

import http.server
import json
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from windtunnel import Stack


@dataclass
class Backend:
    """A loopback HTTP server that records requests and responds by path."""

    port: int
    received: list[dict[str, object]] = field(default_factory=list)


@pytest.fixture(scope="module")
def backend() -> Iterator[Backend]:
    state = Backend(port=0)

    class Handler(http.server.BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            state.received.append({"method": self.command, "path": self.path,
                                   "headers": dict(self.headers.items()),
                                   "body": body.decode()})
            if self.path.startswith("/slow"):
                time.sleep(0.5)
            status = 404 if "missing" in self.path else 200
            payload = json.dumps({"path": self.path, "body": body.decode()}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("X-Backend", "loopback")
            self.send_header("Content-Length", str(len(payload)))
            try:
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                # The slow path's caller timed out and closed the connection.
                pass

        do_GET = do_POST = do_PUT = _answer

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.port = server.server_port
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


TEMPLATE = """
Resources:
  Api:
    Type: AWS::ApiGateway::RestApi
    Properties: {Name: backends}
  Proxy:
    Type: AWS::ApiGateway::Resource
    Properties: {RestApiId: !Ref Api, ParentId: !GetAtt Api.RootResourceId, PathPart: proxy}
  ProxyAll:
    Type: AWS::ApiGateway::Resource
    Properties: {RestApiId: !Ref Api, ParentId: !Ref Proxy, PathPart: "{proxy+}"}
  ProxyAny:
    Type: AWS::ApiGateway::Method
    Properties:
      RestApiId: !Ref Api
      ResourceId: !Ref ProxyAll
      HttpMethod: ANY
      AuthorizationType: NONE
      RequestParameters: {method.request.path.proxy: true}
      Integration:
        Type: HTTP_PROXY
        IntegrationHttpMethod: ANY
        Uri: http://127.0.0.1:%(port)s/upstream/{proxy}
        RequestParameters:
          integration.request.path.proxy: method.request.path.proxy
          integration.request.header.X-Forwarded-Stage: context.stage
  Orders:
    Type: AWS::ApiGateway::Resource
    Properties: {RestApiId: !Ref Api, ParentId: !GetAtt Api.RootResourceId, PathPart: orders}
  Order:
    Type: AWS::ApiGateway::Resource
    Properties: {RestApiId: !Ref Api, ParentId: !Ref Orders, PathPart: "{id}"}
  OrderPut:
    Type: AWS::ApiGateway::Method
    Properties:
      RestApiId: !Ref Api
      ResourceId: !Ref Order
      HttpMethod: PUT
      AuthorizationType: NONE
      RequestParameters: {method.request.path.id: true, method.request.header.X-Tenant: false}
      Integration:
        Type: HTTP
        IntegrationHttpMethod: POST
        Uri: http://127.0.0.1:%(port)s/backend/{orderId}
        RequestParameters:
          integration.request.path.orderId: method.request.path.id
          integration.request.querystring.source: "'api'"
          integration.request.header.X-Tenant: method.request.header.X-Tenant
        RequestTemplates:
          application/json: '{"order": "$input.params(''id'')", "qty": $input.path(''$.qty'')}'
        IntegrationResponses:
          - StatusCode: "200"
            ResponseParameters:
              method.response.header.X-Backend: integration.response.header.X-Backend
            ResponseTemplates:
              application/json: '{"stored": $input.json(''$.body'')}'
          - StatusCode: "400"
            SelectionPattern: "4\\\\d{2}"
            ResponseTemplates: {application/json: '{"problem": "not found upstream"}'}
      MethodResponses:
        - StatusCode: "200"
          ResponseParameters: {method.response.header.X-Backend: true}
        - StatusCode: "400"
  Remote:
    Type: AWS::ApiGateway::Resource
    Properties: {RestApiId: !Ref Api, ParentId: !GetAtt Api.RootResourceId, PathPart: remote}
  RemoteGet:
    Type: AWS::ApiGateway::Method
    Properties:
      RestApiId: !Ref Api
      ResourceId: !Ref Remote
      HttpMethod: GET
      AuthorizationType: NONE
      Integration:
        Type: HTTP_PROXY
        IntegrationHttpMethod: GET
        Uri: https://backend.example.com/data
  Slow:
    Type: AWS::ApiGateway::Resource
    Properties: {RestApiId: !Ref Api, ParentId: !GetAtt Api.RootResourceId, PathPart: slow}
  SlowGet:
    Type: AWS::ApiGateway::Method
    Properties:
      RestApiId: !Ref Api
      ResourceId: !Ref Slow
      HttpMethod: GET
      AuthorizationType: NONE
      Integration:
        Type: HTTP_PROXY
        IntegrationHttpMethod: GET
        Uri: http://127.0.0.1:%(port)s/slow
        TimeoutInMillis: 100
  Deployment:
    Type: AWS::ApiGateway::Deployment
    DependsOn: [ProxyAny, OrderPut, RemoteGet, SlowGet]
    Properties: {RestApiId: !Ref Api, StageName: prod}
"""


@pytest.fixture(scope="module")
def api(backend: Backend, tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    root: Path = tmp_path_factory.mktemp("backends")
    (root / "template.yaml").write_text(TEMPLATE % {"port": backend.port})
    with Stack.local(root, stack_name="backends") as stack:
        yield stack.http


def test_http_proxy_forwards_request(api: httpx.Client, backend: Backend) -> None:
    """HTTP_PROXY forwards the method, the mapped path, the query, headers and body, and
    returns the backend's status, headers and body unchanged."""
    response = api.post("/proxy/a/b?x=1", content=b"payload",
                         headers={"X-Custom": "kept"})

    assert response.status_code == 200
    assert response.headers["X-Backend"] == "loopback"
    assert response.json() == {"path": "/upstream/a/b?x=1", "body": "payload"}
    received = backend.received[-1]
    assert received["method"] == "POST"
    headers = received["headers"]
    assert isinstance(headers, dict)
    assert headers["X-Custom"] == "kept"
    assert headers["X-Forwarded-Stage"] == "prod"


def test_http_proxy_passes_error_status(api: httpx.Client) -> None:
    """A backend error status reaches the client as it is."""
    response = api.get("/proxy/missing")

    assert response.status_code == 404


def test_http_maps_request_and_response(api: httpx.Client, backend: Backend) -> None:
    """An HTTP integration sends the rendered template to the mapped URI and maps the
    backend's response through the default integration response."""
    response = api.put("/orders/o-9", json={"qty": 3}, headers={"X-Tenant": "acme"})

    received = backend.received[-1]
    assert received["method"] == "POST"
    assert received["path"] == "/backend/o-9?source=api"
    assert json.loads(str(received["body"])) == {"order": "o-9", "qty": 3}
    headers = received["headers"]
    assert isinstance(headers, dict)
    assert headers["X-Tenant"] == "acme"
    assert response.status_code == 200
    assert response.headers["X-Backend"] == "loopback"
    assert response.json() == {"stored": '{"order": "o-9", "qty": 3}'}


def test_http_status_selects_response(api: httpx.Client) -> None:
    """The backend's status code is matched against selectionPattern: 404 selects 4\\d{2}."""
    response = api.put("/orders/missing", json={"qty": 1})

    assert response.status_code == 400
    assert response.json() == {"problem": "not found upstream"}


def test_remote_host_not_contacted(api: httpx.Client,
                                   caplog: pytest.LogCaptureFixture) -> None:
    """An integration URI that is not loopback returns 500 and logs the host."""
    with caplog.at_level(logging.WARNING, logger="windtunnel.services.apigateway"):
        response = api.get("/remote")

    assert response.status_code == 500
    assert "backend.example.com" in response.json()["message"]
    assert any("backend.example.com" in record.getMessage() for record in caplog.records)


def test_integration_timeout(api: httpx.Client) -> None:
    """A backend slower than timeoutInMillis gives 504 Endpoint request timed out."""
    response = api.get("/slow")

    assert response.status_code == 504
    assert response.json() == {"message": "Endpoint request timed out"}
