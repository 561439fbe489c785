"""API keys and usage plans of REST APIs: key, plan, throttle and quota on the stack's clock.

Sources:
https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-api-usage-plans.html
https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-request-throttling.html
(token bucket: rate per second, burst capacity)
https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html
(INVALID_API_KEY 403 Forbidden, THROTTLED 429 Too Many Requests, QUOTA_EXCEEDED 429 Limit
Exceeded)
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from windtunnel import EmulatedStack, Stack

HANDLER = "def handler(event, context):\n    return {'statusCode': 200, 'body': 'ok'}\n"

TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
Resources:
  Api:
    Type: AWS::Serverless::Api
    Properties:
      StageName: live
      Auth: {ApiKeyRequired: true}
  Hello:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: app.handler
      CodeUri: src/
      Events:
        Get:
          Type: Api
          Properties: {RestApiId: !Ref Api, Path: /hello, Method: GET}
  Plan:
    Type: AWS::ApiGateway::UsagePlan
    DependsOn: [ApiliveStage]
    Properties:
      ApiStages: [{ApiId: !Ref Api, Stage: live}]
      Throttle: {RateLimit: 1, BurstLimit: 2}
      Quota: {Limit: 5, Period: DAY}
  Key:
    Type: AWS::ApiGateway::ApiKey
    Properties: {Enabled: true, Value: key-with-plan-0123456789}
  Disabled:
    Type: AWS::ApiGateway::ApiKey
    Properties: {Enabled: false, Value: disabled-key-0123456789}
  Unplanned:
    Type: AWS::ApiGateway::ApiKey
    Properties: {Enabled: true, Value: key-without-plan-0123456789}
  PlanKey:
    Type: AWS::ApiGateway::UsagePlanKey
    Properties: {KeyId: !Ref Key, KeyType: API_KEY, UsagePlanId: !Ref Plan}
  DisabledPlanKey:
    Type: AWS::ApiGateway::UsagePlanKey
    Properties: {KeyId: !Ref Disabled, KeyType: API_KEY, UsagePlanId: !Ref Plan}
"""


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatedStack]:
    root: Path = tmp_path_factory.mktemp("keys")
    (root / "src").mkdir()
    (root / "src" / "app.py").write_text(HANDLER)
    (root / "template.yaml").write_text(TEMPLATE)
    with Stack.local(root, stack_name="keys") as stack:
        yield stack


@pytest.fixture
def stack(loaded: EmulatedStack) -> EmulatedStack:
    loaded.reset()
    return loaded


def _get(stack: EmulatedStack, key: str | None) -> tuple[int, object]:
    client = stack.http_client("Api", stage="live")
    response = client.get("/hello", headers={"x-api-key": key} if key else {})
    return response.status_code, response.json() if response.status_code != 200 else "ok"


@pytest.mark.parametrize(("key", "status", "body"), [
    (None, 403, {"message": "Forbidden"}),
    ("no-such-key-0123456789", 403, {"message": "Forbidden"}),
    ("disabled-key-0123456789", 403, {"message": "Forbidden"}),
    ("key-without-plan-0123456789", 403, {"message": "Forbidden"}),
    ("key-with-plan-0123456789", 200, "ok"),
])
def test_key_must_be_enabled_and_planned(stack: EmulatedStack, key: str | None,
                                         status: int, body: object) -> None:
    """Only an enabled key in a usage plan for the stage passes."""
    assert _get(stack, key) == (status, body)


def test_burst_then_rate(stack: EmulatedStack) -> None:
    """Two requests use the burst; the third is throttled until a second passes."""
    key = "key-with-plan-0123456789"

    first, second, third = (_get(stack, key) for _ in range(3))
    stack.clock.advance(1)
    after_a_second = _get(stack, key)

    assert [first[0], second[0]] == [200, 200]
    assert third == (429, {"message": "Too Many Requests"})
    assert after_a_second[0] == 200


def test_daily_quota(stack: EmulatedStack) -> None:
    """The sixth request of the day exceeds the quota of five; the next day is fresh."""
    key = "key-with-plan-0123456789"
    statuses = []
    for _ in range(6):
        statuses.append(_get(stack, key))
        stack.clock.advance(2)
    stack.clock.advance(24 * 3600)
    next_day = _get(stack, key)

    assert [status for status, _ in statuses[:5]] == [200] * 5
    assert statuses[5] == (429, {"message": "Limit Exceeded"})
    assert next_day[0] == 200
