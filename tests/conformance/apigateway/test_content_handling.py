"""REST API binary media types, contentHandling conversions and base64 in proxy integrations.

Sources:
- The request and response conversion tables (Content-Type, Accept, ``binaryMediaTypes``
  and ``contentHandling``), the first Accept media type being the only one read, and the
  500 for text that does not decode as base64:
  https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-payload-encodings-workflow.html
- ``binaryMediaTypes`` from ``x-amazon-apigateway-binary-media-types``:
  https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-payload-encodings.html
  https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-swagger-extensions-binary-media-types.html
- Lambda proxy integrations: a binary request body arrives base64-encoded with
  ``isBase64Encoded: true``, and a base64 response body with ``isBase64Encoded: true`` is
  decoded for a binary Accept type:
  https://docs.aws.amazon.com/apigateway/latest/developerguide/lambda-proxy-binary-media.html
"""

from __future__ import annotations

import base64
import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from windtunnel import Stack

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe\x00binary"

HANDLERS = '''
import base64

def proxy(event, context):
    if event["path"].endswith("/raw"):
        return {"statusCode": 200, "headers": {"Content-Type": "image/png"},
                "body": base64.b64encode(b"\\x89PNG-from-lambda").decode(),
                "isBase64Encoded": True}
    return {"statusCode": 200, "body": str(event["isBase64Encoded"]) + ":" + event["body"]}
'''


def _http_method(path: str, backend: str, *, method: str = "post",
                 request_handling: str | None = None,
                 response_handling: str | None = None,
                 request_template: str | None = None) -> str:
    """Return one OpenAPI path whose HTTP integration calls ``backend`` on the loopback."""
    lines = [
        f"          {path}:",
        f"            {method}:",
        '              responses: {"200": {description: ok, headers: '
        '{Content-Type: {schema: {type: string}}}}}',
        "              x-amazon-apigateway-integration:",
        "                type: http",
        f"                httpMethod: {method.upper()}",
        f"                uri: {backend}",
        "                passthroughBehavior: when_no_match",
    ]
    if request_handling:
        lines.append(f"                contentHandling: {request_handling}")
    if request_template:
        lines.append("                requestTemplates:")
        lines.append(f"                  image/png: '{request_template}'")
    lines += [
        "                responses:",
        "                  default:",
        '                    statusCode: "200"',
        "                    responseParameters:",
        "                      method.response.header.Content-Type: "
        "integration.response.header.Content-Type",
    ]
    if response_handling:
        lines.append(f"                    contentHandling: {response_handling}")
    return "\n".join(lines)


def _template(port: int) -> str:
    base = f"http://127.0.0.1:{port}"
    paths = "\n".join([
        _http_method("/upload", f"{base}/echo"),
        _http_method("/upload-text", f"{base}/echo", request_handling="CONVERT_TO_TEXT",
                     request_template='{"data": "$input.body"}'),
        _http_method("/upload-binary", f"{base}/echo", request_handling="CONVERT_TO_BINARY"),
        _http_method("/image", f"{base}/png", method="get"),
        _http_method("/image-text", f"{base}/png", method="get",
                     response_handling="CONVERT_TO_TEXT"),
        _http_method("/encoded", f"{base}/b64", method="get"),
        _http_method("/encoded-binary", f"{base}/b64", method="get",
                     response_handling="CONVERT_TO_BINARY"),
    ])
    return f"""
Transform: AWS::Serverless-2016-10-31
Resources:
  Proxy:
    Type: AWS::Serverless::Function
    Properties: {{Runtime: python3.12, CodeUri: src/, Handler: app.proxy}}
  ProxyPermission:
    Type: AWS::Lambda::Permission
    Properties: {{Action: lambda:InvokeFunction, FunctionName: !Ref Proxy,
                 Principal: apigateway.amazonaws.com}}
  Api:
    Type: AWS::Serverless::Api
    Properties:
      StageName: dev
      DefinitionBody:
        openapi: "3.0.1"
        info: {{title: binary, version: "1"}}
        x-amazon-apigateway-binary-media-types: [image/png, application/octet-stream]
        paths:
{paths}
          /proxy/{{part}}:
            post:
              x-amazon-apigateway-integration:
                type: aws_proxy
                httpMethod: POST
                uri: !Sub "arn:aws:apigateway:${{AWS::Region}}:lambda:path/2015-03-31/\\
                  functions/${{Proxy.Arn}}/invocations"
"""


@pytest.fixture(scope="module")
def backend_port() -> Iterator[int]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            received = self.rfile.read(length) if length else b""
            self._send("application/json", json.dumps({
                "content_type": self.headers.get("Content-Type"),
                "body": base64.b64encode(received).decode()}).encode())

        def do_GET(self) -> None:
            if self.path == "/png":
                self._send("image/png", PNG)
            else:
                self._send("text/plain", base64.b64encode(PNG))

        def _send(self, content_type: str, payload: bytes) -> None:
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_port
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, backend_port: int
         ) -> Iterator[httpx.Client]:
    root: Path = tmp_path_factory.mktemp("content-handling")
    (root / "src").mkdir()
    (root / "src" / "app.py").write_text(HANDLERS)
    (root / "template.yaml").write_text(_template(backend_port))
    with Stack.local(root, stack_name="content-handling") as stack:
        yield stack.http


def _received(response: httpx.Response) -> bytes:
    """Return the bytes that the loopback backend received."""
    assert response.status_code == 200, response.text
    return base64.b64decode(response.json()["body"])


# --- integration request ---------------------------------------------------------------

def test_binary_request_passes_as_binary(api: httpx.Client) -> None:
    """Binary data with a binary Content-Type and no contentHandling reaches the
    integration as binary data."""
    response = api.post("/upload", content=PNG, headers={"Content-Type": "image/png"})

    assert _received(response) == PNG


def test_convert_to_text_encodes_binary(api: httpx.Client) -> None:
    """CONVERT_TO_TEXT turns a binary payload into a base64 string, which the mapping
    template reads as $input.body."""
    response = api.post("/upload-text", content=PNG, headers={"Content-Type": "image/png"})

    assert json.loads(_received(response)) == {"data": base64.b64encode(PNG).decode()}


def test_convert_to_binary_decodes_text(api: httpx.Client) -> None:
    """CONVERT_TO_BINARY turns a text payload into the base64-decoded blob."""
    response = api.post("/upload-binary", content=base64.b64encode(PNG),
                         headers={"Content-Type": "text/plain"})

    assert _received(response) == PNG


def test_convert_to_binary_rejects_non_base64(api: httpx.Client) -> None:
    """Text that is not base64 cannot be converted: 500, an API configuration error."""
    response = api.post("/upload-binary", content=b"not base64!",
                         headers={"Content-Type": "text/plain"})

    assert response.status_code == 500
    assert response.json() == {"message": "Internal server error"}


def test_text_request_stays_text(api: httpx.Client) -> None:
    """Text data with a text Content-Type and no contentHandling stays text."""
    response = api.post("/upload", content=b'{"a": 1}',
                         headers={"Content-Type": "application/json"})

    assert _received(response) == b'{"a": 1}'


# --- integration response --------------------------------------------------------------

def test_binary_response_binary_accept(api: httpx.Client) -> None:
    """Binary data with a binary Accept type and no contentHandling returns as binary."""
    response = api.get("/image", headers={"Accept": "image/png"})

    assert response.status_code == 200
    assert response.content == PNG
    assert response.headers["Content-Type"] == "image/png"


def test_binary_response_text_accept(api: httpx.Client) -> None:
    """Binary data with a text Accept type and no contentHandling returns base64-encoded."""
    response = api.get("/image", headers={"Accept": "application/json"})

    assert response.status_code == 200
    assert response.content == base64.b64encode(PNG)


def test_only_first_accept_type_counts(api: httpx.Client) -> None:
    """Only the first Accept media type is honoured: a binary type listed second does not
    make the response binary."""
    response = api.get("/image", headers={"Accept": "text/html, image/png"})

    assert response.content == base64.b64encode(PNG)


def test_convert_to_text_response(api: httpx.Client) -> None:
    """CONVERT_TO_TEXT base64-encodes a binary response even for a binary Accept type."""
    response = api.get("/image-text", headers={"Accept": "image/png"})

    assert response.content == base64.b64encode(PNG)


def test_text_response_binary_accept(api: httpx.Client) -> None:
    """Text data with a binary Accept type and no contentHandling returns the
    base64-decoded blob."""
    response = api.get("/encoded", headers={"Accept": "image/png"})

    assert response.content == PNG


def test_text_response_text_accept(api: httpx.Client) -> None:
    """Text data with a text Accept type and no contentHandling stays text."""
    response = api.get("/encoded", headers={"Accept": "text/plain"})

    assert response.content == base64.b64encode(PNG)


def test_convert_to_binary_response(api: httpx.Client) -> None:
    """CONVERT_TO_BINARY base64-decodes a text response even for a text Accept type."""
    response = api.get("/encoded-binary", headers={"Accept": "application/json"})

    assert response.content == PNG


# --- Lambda proxy integrations ---------------------------------------------------------

def test_proxy_binary_request_base64(api: httpx.Client) -> None:
    """A binary request body reaches a proxy function base64-encoded, with
    isBase64Encoded true."""
    response = api.post("/proxy/echo", content=PNG,
                         headers={"Content-Type": "application/octet-stream"})

    flag, _, body = response.text.partition(":")
    assert flag == "True"
    assert base64.b64decode(body) == PNG


def test_proxy_text_request_not_encoded(api: httpx.Client) -> None:
    """A text request body reaches a proxy function as it is, isBase64Encoded false."""
    response = api.post("/proxy/echo", content=b"plain",
                         headers={"Content-Type": "text/plain"})

    assert response.text == "False:plain"


def test_proxy_base64_response_decoded(api: httpx.Client) -> None:
    """A base64 body with isBase64Encoded true is decoded for a binary Accept type."""
    response = api.post("/proxy/raw", headers={"Accept": "image/png"})

    assert response.content == b"\x89PNG-from-lambda"


def test_proxy_base64_response_text_accept(api: httpx.Client) -> None:
    """For a text Accept type the client receives the base64 text of the body."""
    response = api.post("/proxy/raw", headers={"Accept": "application/json"})

    assert base64.b64decode(response.content) == b"\x89PNG-from-lambda"
