"""API requests addressed as AWS and LocalStack address them reach the API.

AWS serves a REST or HTTP API at https://{api id}.execute-api.{region}.amazonaws.com/{stage}/
(https://docs.aws.amazon.com/apigateway/latest/developerguide/how-to-call-api.html).
LocalStack's forms are http://{api id}.execute-api.localhost.localstack.cloud:4566/{stage}/
and /restapis/{api id}/{stage}/_user_request_/ on its endpoint
(https://docs.localstack.cloud/user-guide/aws/apigateway/). The local endpoint serves all
of them like /_aws/execute-api/{api id}/{stage}/.
"""

from __future__ import annotations

import http.client
from collections.abc import Iterator
from pathlib import Path

import pytest

from windtunnel import EmulatedStack, Stack
from windtunnel.cloud.server import data_plane_path

HANDLER = """
def handler(event, context):
    return {"statusCode": 200, "body": event["path"]}
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
        Items:
          Type: Api
          Properties: {Path: "/items/{id}", Method: GET}
"""


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[EmulatedStack, int]]:
    root: Path = tmp_path_factory.mktemp("hostnames")
    (root / "src").mkdir()
    (root / "src" / "app.py").write_text(HANDLER)
    (root / "template.yaml").write_text(TEMPLATE)
    with Stack.local(root, stack_name="hostnames") as stack:
        url = stack.serve(0)
        yield stack, int(url.rsplit(":", 1)[1])


def _get(port: int, path: str, host: str) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path, headers={"Host": host})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


@pytest.mark.parametrize("form", ["aws-host", "localstack-host", "localstack-path",
                                  "local-path"])
def test_api_reached_by_each_form(served: tuple[EmulatedStack, int], form: str) -> None:
    """Each URL form reaches the same API, stage and resource."""
    stack, port = served
    api = stack.physical_id("ServerlessRestApi")
    path, host = {
        "aws-host": ("/Prod/items/7", f"{api}.execute-api.us-east-1.amazonaws.com"),
        "localstack-host": ("/Prod/items/7",
                            f"{api}.execute-api.localhost.localstack.cloud:{port}"),
        "localstack-path": (f"/restapis/{api}/Prod/_user_request_/items/7",
                            f"127.0.0.1:{port}"),
        "local-path": (f"/_aws/execute-api/{api}/Prod/items/7", f"127.0.0.1:{port}"),
    }[form]

    status, body = _get(port, path, host)

    assert status == 200
    assert body == b"/items/7"


@pytest.mark.parametrize(("host", "path", "expected"), [
    ("abc123.execute-api.eu-west-1.amazonaws.com", "/dev/x", "/execute-api/abc123/dev/x"),
    ("abc123.execute-api.cn-north-1.amazonaws.com.cn", "/dev", "/execute-api/abc123/dev"),
    ("127.0.0.1:4566", "/restapis/abc123/dev/_user_request_", "/execute-api/abc123/dev/"),
    ("127.0.0.1:4566", "/_aws/execute-api/abc123/dev/x", "/execute-api/abc123/dev/x"),
    ("dynamodb.us-east-1.amazonaws.com", "/", None),
    ("127.0.0.1:4566", "/", None),
])
def test_data_plane_path(host: str, path: str, expected: str | None) -> None:
    """API hostnames and paths map to the execute-api data plane; service hosts do not."""
    assert data_plane_path(host, path) == expected
