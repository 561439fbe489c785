"""Stage, method, route and account-level throttling of REST and HTTP APIs.

Sources:
- REST APIs (token bucket; account-level 10,000 requests per second with a burst of
  5,000; "default per-method limits and individual per-method limits" set in the stage;
  429 Too Many Requests):
  https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-request-throttling.html
- HTTP APIs (route-level throttling overrides the account level, per stage or route):
  https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-throttling.html
- THROTTLED is the gateway response type of 429 Too Many Requests:
  https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html
- Method setting keys (``/{resource path}/{HTTP method}``, ``~1`` for ``/``):
  https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-apigateway-stage-methodsetting.html
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from windtunnel import EmulatedStack, Stack

HANDLER = "def handler(event, context):\n    return {'statusCode': 200, 'body': 'ok'}\n"

TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
Globals:
  Function: {Runtime: python3.12, Handler: app.handler, CodeUri: src/}
Resources:
  Rest:
    Type: AWS::Serverless::Api
    Properties:
      StageName: live
      MethodSettings:
        - {ResourcePath: "/*", HttpMethod: "*", ThrottlingRateLimit: 1,
           ThrottlingBurstLimit: 2}
        - {ResourcePath: "/~1fast", HttpMethod: GET, ThrottlingRateLimit: 100,
           ThrottlingBurstLimit: 50}
        - {ResourcePath: "/~1rate-only", HttpMethod: GET, ThrottlingRateLimit: 5}
  Customized:
    Type: AWS::Serverless::Api
    Properties:
      StageName: live
      MethodSettings:
        - {ResourcePath: "/*", HttpMethod: "*", ThrottlingRateLimit: 1,
           ThrottlingBurstLimit: 1}
      GatewayResponses:
        THROTTLED:
          StatusCode: "503"
          ResponseTemplates:
            application/json: '{"error":"slow down","type":"$context.error.responseType"}'
  Open:
    Type: AWS::Serverless::Api
    Properties: {StageName: live}
  Http:
    Type: AWS::Serverless::HttpApi
    Properties:
      DefaultRouteSettings: {ThrottlingRateLimit: 1, ThrottlingBurstLimit: 2}
      RouteSettings:
        "GET /fast": {ThrottlingRateLimit: 100, ThrottlingBurstLimit: 50}
        "GET /burst-only": {ThrottlingBurstLimit: 4}
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Events:
        Slow: {Type: Api, Properties: {RestApiId: !Ref Rest, Path: /slow, Method: GET}}
        Other: {Type: Api, Properties: {RestApiId: !Ref Rest, Path: /other, Method: GET}}
        Fast: {Type: Api, Properties: {RestApiId: !Ref Rest, Path: /fast, Method: GET}}
        PostFast: {Type: Api, Properties: {RestApiId: !Ref Rest, Path: /fast, Method: POST}}
        RateOnly:
          Type: Api
          Properties: {RestApiId: !Ref Rest, Path: /rate-only, Method: GET}
        Custom:
          Type: Api
          Properties: {RestApiId: !Ref Customized, Path: /custom, Method: GET}
        Open: {Type: Api, Properties: {RestApiId: !Ref Open, Path: /open, Method: GET}}
        HttpSlow: {Type: HttpApi, Properties: {ApiId: !Ref Http, Path: /slow, Method: GET}}
        HttpOther: {Type: HttpApi, Properties: {ApiId: !Ref Http, Path: /other, Method: GET}}
        HttpFast: {Type: HttpApi, Properties: {ApiId: !Ref Http, Path: /fast, Method: GET}}
        HttpBurstOnly:
          Type: HttpApi
          Properties: {ApiId: !Ref Http, Path: /burst-only, Method: GET}
"""

THROTTLED_BODY = {"message": "Too Many Requests"}


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatedStack]:
    root: Path = tmp_path_factory.mktemp("throttling")
    (root / "src").mkdir()
    (root / "src" / "app.py").write_text(HANDLER)
    (root / "template.yaml").write_text(TEMPLATE)
    with Stack.local(root, stack_name="throttling") as stack:
        yield stack


@pytest.fixture
def stack(loaded: EmulatedStack) -> EmulatedStack:
    loaded.reset()
    return loaded


def _statuses(client: httpx.Client, path: str, count: int, method: str = "GET"
              ) -> list[int]:
    return [client.request(method, path).status_code for _ in range(count)]


def test_rest_stage_default_burst_then_rate(stack: EmulatedStack) -> None:
    """The ``*/*`` setting allows a burst of 2, then 1 request per second."""
    client = stack.http_client("Rest", stage="live")

    burst = _statuses(client, "/slow", 2)
    throttled = client.get("/slow")
    stack.clock.advance(1)
    refilled = _statuses(client, "/slow", 2)

    assert burst == [200, 200]
    assert throttled.status_code == 429
    assert throttled.json() == THROTTLED_BODY
    assert throttled.headers["x-amzn-ErrorType"] == "TooManyRequestsException"
    assert refilled == [200, 429]


def test_rest_default_limit_is_per_method(stack: EmulatedStack) -> None:
    """The stage's default limits apply to each method: /other keeps its own burst."""
    client = stack.http_client("Rest", stage="live")

    slow = _statuses(client, "/slow", 3)
    other = _statuses(client, "/other", 3)

    assert slow == [200, 200, 429]
    assert other == [200, 200, 429]


def test_rest_method_setting_overrides_default(stack: EmulatedStack) -> None:
    """``/~1fast/GET`` overrides ``*/*`` for GET /fast only; POST /fast keeps the default."""
    client = stack.http_client("Rest", stage="live")

    fast = _statuses(client, "/fast", 51)
    post = _statuses(client, "/fast", 3, method="POST")

    assert fast[:50] == [200] * 50
    assert fast[50] == 429
    assert post == [200, 200, 429]


def test_rest_method_rate_only_keeps_default_burst(stack: EmulatedStack) -> None:
    """A method setting with only a rate takes its burst from the stage default (2)."""
    client = stack.http_client("Rest", stage="live")

    first = _statuses(client, "/rate-only", 3)
    stack.clock.advance(0.2)
    after_a_fifth = _statuses(client, "/rate-only", 2)

    assert first == [200, 200, 429]
    assert after_a_fifth == [200, 429]


def test_rest_throttled_response_customized(stack: EmulatedStack) -> None:
    """A THROTTLED gateway response sets the status and body of a throttled request."""
    client = stack.http_client("Customized", stage="live")

    allowed = client.get("/custom")
    throttled = client.get("/custom")

    assert allowed.status_code == 200
    assert throttled.status_code == 503
    assert throttled.json() == {"error": "slow down", "type": "THROTTLED"}


def test_rest_throttled_request_skips_function(stack: EmulatedStack) -> None:
    """A throttled request does not invoke the integration's function."""
    client = stack.http_client("Rest", stage="live")
    _statuses(client, "/slow", 2)
    invoked_before = len(stack.invocations)

    throttled = client.get("/slow")

    assert throttled.status_code == 429
    assert len(stack.invocations) == invoked_before


def test_account_level_burst_bounds_every_api(stack: EmulatedStack) -> None:
    """5,000 requests at one instant pass the account-level limit, and the next one is
    throttled on any API of the account. Time refills the bucket at 10,000 per second."""
    open_api = stack.http_client("Open", stage="live")
    http_api = stack.http_client("Http")

    statuses = _statuses(open_api, "/open", 5_000)
    next_rest = open_api.get("/open")
    next_http = http_api.get("/fast")
    stack.clock.advance(0.001)
    after_a_millisecond = _statuses(open_api, "/open", 11)

    assert statuses == [200] * 5_000
    assert next_rest.status_code == 429
    assert next_rest.json() == THROTTLED_BODY
    assert next_http.status_code == 429
    assert after_a_millisecond == [200] * 10 + [429]


def test_http_default_route_settings(stack: EmulatedStack) -> None:
    """``DefaultRouteSettings`` gives each route a burst of 2, then 1 request per second."""
    client = stack.http_client("Http")

    slow = _statuses(client, "/slow", 3)
    other = _statuses(client, "/other", 2)
    throttled = client.get("/slow")
    stack.clock.advance(1)
    refilled = client.get("/slow")

    assert slow == [200, 200, 429]
    assert other == [200, 200]
    assert throttled.status_code == 429
    assert throttled.json() == THROTTLED_BODY
    assert refilled.status_code == 200


def test_http_route_settings_override_default(stack: EmulatedStack) -> None:
    """``RouteSettings`` for ``GET /fast`` replace the default limits of that route."""
    client = stack.http_client("Http")

    fast = _statuses(client, "/fast", 51)

    assert fast[:50] == [200] * 50
    assert fast[50] == 429


def test_http_route_setting_field_falls_back(stack: EmulatedStack) -> None:
    """A route setting with only a burst keeps the default rate of 1 per second."""
    client = stack.http_client("Http")

    burst = _statuses(client, "/burst-only", 5)
    stack.clock.advance(1)
    refilled = _statuses(client, "/burst-only", 2)

    assert burst == [200] * 4 + [429]
    assert refilled == [200, 429]
