"""CORS of HTTP APIs: API Gateway responds to preflights and sets the CORS headers itself.

Source: https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-cors.html
("API Gateway automatically sends a response to preflight OPTIONS requests, even if there
isn't an OPTIONS route configured for your API", and it "ignores CORS headers returned
from your backend integration")
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from windtunnel import EmulatedStack, Stack

HANDLER = """
def handler(event, context):
    return {"statusCode": 200, "headers": {"Access-Control-Allow-Origin": "*"},
            "body": "ok"}
"""

TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
Resources:
  Api:
    Type: AWS::Serverless::HttpApi
    Properties:
      CorsConfiguration:
        AllowOrigins: [https://app.example.com]
        AllowMethods: [GET, POST]
        AllowHeaders: [content-type, authorization]
        ExposeHeaders: [x-total]
        MaxAge: 600
        AllowCredentials: true
  Items:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: app.handler
      CodeUri: src/
      Events:
        Get:
          Type: HttpApi
          Properties: {ApiId: !Ref Api, Path: /items, Method: GET}
"""


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatedStack]:
    root: Path = tmp_path_factory.mktemp("cors")
    (root / "src").mkdir()
    (root / "src" / "app.py").write_text(HANDLER)
    (root / "template.yaml").write_text(TEMPLATE)
    with Stack.local(root, stack_name="cors") as loaded:
        yield loaded


def test_preflight_answered_without_route(stack: EmulatedStack) -> None:
    """An OPTIONS preflight gets 204 with the configured CORS headers and runs nothing."""
    response = stack.http.options("/items", headers={
        "Origin": "https://app.example.com", "Access-Control-Request-Method": "POST"})

    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == "https://app.example.com"
    assert response.headers["access-control-allow-methods"] == "GET,POST"
    assert response.headers["access-control-allow-headers"] == "content-type,authorization"
    assert response.headers["access-control-max-age"] == "600"
    assert response.headers["access-control-allow-credentials"] == "true"
    assert stack.invocations == []


def test_preflight_from_other_origin(stack: EmulatedStack) -> None:
    """A preflight from an origin not in AllowOrigins gets no CORS headers."""
    response = stack.http.options("/items", headers={
        "Origin": "https://evil.example.com", "Access-Control-Request-Method": "GET"})

    assert response.status_code == 204
    assert "access-control-allow-origin" not in response.headers


def test_response_gets_configured_headers(stack: EmulatedStack) -> None:
    """The integration's own CORS header is replaced by the configured ones."""
    allowed = stack.http.get("/items", headers={"Origin": "https://app.example.com"})
    other = stack.http.get("/items", headers={"Origin": "https://evil.example.com"})

    assert allowed.text == "ok"
    assert allowed.headers["access-control-allow-origin"] == "https://app.example.com"
    assert allowed.headers["access-control-expose-headers"] == "x-total"
    assert allowed.headers["access-control-allow-credentials"] == "true"
    assert "access-control-allow-origin" not in other.headers
