"""Integration timeouts of Lambda proxy integrations.

Sources:
- REST APIs: "Integration timeout: 50 milliseconds - 29 seconds for all integration
  types"; past it, the INTEGRATION_TIMEOUT gateway response, 504 "Endpoint request timed
  out": https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html and
  https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html
- HTTP APIs: "Maximum integration timeout: 30 seconds"; a timed-out integration answers
  503 Service Unavailable:
  https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-quotas.html
- SAM's Api and HttpApi events set the integration's TimeoutInMillis:
  https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-property-function-api.html
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from windtunnel import EmulatedStack, Stack

HANDLER = """
import json
import time


def slow(event, context):
    time.sleep(0.3)
    return {"statusCode": 200, "body": json.dumps({"done": True})}
"""

TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
Globals:
  Function: {Runtime: python3.12, CodeUri: src/, Handler: app.slow, Timeout: 5}
Resources:
  RestSlow:
    Type: AWS::Serverless::Function
    Properties:
      Events:
        Get: {Type: Api, Properties: {Path: /slow, Method: get, TimeoutInMillis: 100}}
        Patient: {Type: Api, Properties: {Path: /patient, Method: get}}
  HttpSlow:
    Type: AWS::Serverless::Function
    Properties:
      Events:
        Get: {Type: HttpApi, Properties: {Path: /slow, Method: get, TimeoutInMillis: 100}}
"""


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatedStack]:
    root = tmp_path_factory.mktemp("timeouts")
    (root / "src").mkdir()
    (root / "src" / "app.py").write_text(HANDLER)
    (root / "template.yaml").write_text(TEMPLATE)
    with Stack.local(root) as loaded:
        yield loaded


def _api(stack: EmulatedStack, resource_type: str) -> str:
    return next(logical_id for logical_id, resource in stack.deployed.resources.items()
                if resource.resource_type == resource_type)


def test_rest_api_answers_504_past_the_integration_timeout(stack: EmulatedStack) -> None:
    client = stack.http_client(_api(stack, "AWS::ApiGateway::RestApi"))

    timed_out = client.get("/slow")
    patient = client.get("/patient")

    assert timed_out.status_code == 504
    assert timed_out.json() == {"message": "Endpoint request timed out"}
    assert patient.status_code == 200


def test_http_api_answers_503_past_the_integration_timeout(stack: EmulatedStack) -> None:
    client = stack.http_client(_api(stack, "AWS::ApiGatewayV2::Api"))

    response = client.get("/slow")

    assert response.status_code == 503
    assert response.json() == {"message": "Service Unavailable"}
