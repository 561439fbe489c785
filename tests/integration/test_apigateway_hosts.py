"""REST and HTTP APIs respond on ``{api id}.execute-api.localhost`` at the served endpoint.

AWS serves an API at ``{api id}.execute-api.{region}.amazonaws.com`` with the stage as the
first path part
(https://docs.aws.amazon.com/apigateway/latest/developerguide/how-to-call-api.html), and
``*.localhost`` names the loopback interface (RFC 6761, section 6.3), so the same URL
shape works against the local endpoint.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from windtunnel import EmulatedStack, Stack
from windtunnel.cloud.server import data_plane_path

HANDLER = """
import json

def handler(event, context):
    path = event.get("path") or event.get("rawPath")
    return {"statusCode": 200, "body": json.dumps({"path": path})}
"""

TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
Resources:
  Echo:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: app.handler
      CodeUri: src/
      Events:
        Rest: {Type: Api, Properties: {Path: "/items/{id}", Method: GET}}
        Http: {Type: HttpApi, Properties: {Path: "/items/{id}", Method: GET}}
"""


@dataclass
class Served:
    stack: EmulatedStack
    port: int

    def get(self, host: str, path: str) -> tuple[int, bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            connection.request("GET", path, headers={"Host": host})
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root: Path = tmp_path_factory.mktemp("hosts")
    (root / "src").mkdir()
    (root / "src" / "app.py").write_text(HANDLER)
    (root / "template.yaml").write_text(TEMPLATE)
    with Stack.local(root, stack_name="hosts") as stack:
        url = stack.serve(0)
        yield Served(stack, int(url.rsplit(":", 1)[1]))


@pytest.mark.parametrize("with_port", [True, False])
def test_rest_api_on_localhost_host(served: Served, with_port: bool) -> None:
    """The REST API responds with its stage first in the path, with or without a port."""
    api = served.stack.physical_id("ServerlessRestApi")
    host = f"{api}.execute-api.localhost" + (f":{served.port}" if with_port else "")

    status, body = served.get(host, "/Prod/items/7")

    assert status == 200
    assert json.loads(body) == {"path": "/items/7"}


def test_http_api_on_localhost_host(served: Served) -> None:
    """The HTTP API responds on its $default stage, with the whole path."""
    api = served.stack.physical_id("ServerlessHttpApi")

    status, body = served.get(f"{api}.execute-api.localhost:{served.port}", "/items/7")

    assert status == 200
    assert json.loads(body) == {"path": "/items/7"}


def test_host_matched_without_case(served: Served) -> None:
    """Host names are case-insensitive (RFC 9110, section 4.2.3)."""
    api = served.stack.physical_id("ServerlessRestApi")

    status, _ = served.get(f"{api}.EXECUTE-API.LOCALHOST:{served.port}", "/Prod/items/7")

    assert status == 200


def test_unknown_api_id_on_localhost_host(served: Served) -> None:
    """An API ID that no API has gets 404 naming the ID."""
    status, body = served.get(f"nosuchapi.execute-api.localhost:{served.port}", "/Prod/x")

    assert status == 404
    assert "nosuchapi" in json.loads(body)["message"]


def test_unknown_stage_on_localhost_host(served: Served) -> None:
    """A REST API stage that does not exist gets 403 Forbidden, as on AWS."""
    api = served.stack.physical_id("ServerlessRestApi")

    status, body = served.get(f"{api}.execute-api.localhost", "/Nope/items/7")

    assert status == 403
    assert json.loads(body) == {"message": "Forbidden"}


@pytest.mark.parametrize(("host", "expected"), [
    ("abc123.execute-api.localhost", "/execute-api/abc123/dev/x"),
    ("abc123.execute-api.localhost:4566", "/execute-api/abc123/dev/x"),
    ("localhost:4566", None),
    ("abc123.localhost:4566", None),
    ("abc123.execute-api.localhost.example.com", None),
])
def test_localhost_host_form(host: str, expected: str | None) -> None:
    """Only ``{api id}.execute-api.localhost[:port]`` selects the execute-api data plane."""
    assert data_plane_path(host, "/dev/x") == expected
