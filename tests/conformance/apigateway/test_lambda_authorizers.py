"""Lambda (TOKEN and REQUEST) authorizers of REST APIs, as API Gateway runs them.

Sources:
https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-lambda-authorizer-input.html
https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-lambda-authorizer-output.html
https://docs.aws.amazon.com/apigateway/latest/developerguide/configure-api-gateway-lambda-authorization.html
(identity sources, 401 without calling the function, the 300 s default cache TTL)
https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html
(UNAUTHORIZED 401, ACCESS_DENIED 403, AUTHORIZER_CONFIGURATION_ERROR 500)
https://repost.aws/knowledge-center/api-gateway-403-error-lambda-authorizer (the 403 bodies)
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from windtunnel import EmulatedStack, Stack

APP = """
import json

def handler(event, context):
    return {"statusCode": 200, "body": json.dumps(event["requestContext"]["authorizer"])}
"""

AUTHORIZER = """
def authorize(event, context):
    if event["type"] == "REQUEST":
        token = event["queryStringParameters"]["token"]
    else:
        token = event["authorizationToken"]
    if token == "fail":
        raise Exception("Unauthorized")
    if token == "crash":
        raise ValueError("the authorizer has a bug")
    if token == "nested":
        return {"principalId": "user-1", "context": {"roles": ["a"]},
                "policyDocument": _policy("Allow", event["methodArn"])}
    effect = "Deny" if token == "deny" else "Allow"
    resource = "arn:aws:execute-api:us-east-1:123456789012:other/*" if token == "other" else (
        event["methodArn"])
    return {"principalId": "user-1", "policyDocument": _policy(effect, resource),
            "context": {"tier": "gold", "count": 3, "vip": True, "type": event["type"]}}


def _policy(effect, resource):
    return {"Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": effect,
                           "Resource": resource}]}
"""

TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
Globals:
  Function: {Runtime: python3.12, CodeUri: ./src}
Resources:
  Api:
    Type: AWS::Serverless::Api
    Properties:
      StageName: test
      Auth:
        DefaultAuthorizer: TokenAuth
        Authorizers:
          TokenAuth:
            FunctionArn: !GetAtt AuthFunction.Arn
            Identity: {Header: Authorization, ReauthorizeEvery: 300}
          RequestAuth:
            FunctionPayloadType: REQUEST
            FunctionArn: !GetAtt AuthFunction.Arn
            Identity: {QueryStrings: [token], ReauthorizeEvery: 0}
  AuthFunction:
    Type: AWS::Serverless::Function
    Properties: {Handler: authorizer.authorize}
  AppFunction:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.handler
      Events:
        Token:
          Type: Api
          Properties: {RestApiId: !Ref Api, Path: /hello, Method: GET}
        Request:
          Type: Api
          Properties:
            RestApiId: !Ref Api
            Path: /req
            Method: GET
            Auth: {Authorizer: RequestAuth}
"""


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatedStack]:
    root: Path = tmp_path_factory.mktemp("authorizers")
    (root / "src").mkdir()
    (root / "src" / "app.py").write_text(APP)
    (root / "src" / "authorizer.py").write_text(AUTHORIZER)
    (root / "template.yaml").write_text(TEMPLATE)
    with Stack.local(root, stack_name="authorized") as loaded:
        yield loaded


@pytest.fixture(autouse=True)
def _fresh(stack: EmulatedStack) -> None:
    stack.reset()


def _authorizer_calls(stack: EmulatedStack) -> int:
    name = stack.function_name("AuthFunction")
    return sum(1 for invocation in stack.invocations if invocation.function_name == name)


@pytest.mark.parametrize(("token", "status", "error_type", "body"), [
    ("deny", 403, "AccessDeniedException",
     {"Message": "User is not authorized to access this resource with an explicit deny"}),
    ("other", 403, "AccessDeniedException",
     {"Message": "User is not authorized to access this resource"}),
    ("fail", 401, "UnauthorizedException", {"message": "Unauthorized"}),
    ("crash", 500, "AuthorizerConfigurationException", {"message": None}),
    ("nested", 500, "AuthorizerConfigurationException", {"message": None}),
])
def test_token_authorizer_rejections(stack: EmulatedStack, token: str, status: int,
                                     error_type: str, body: dict[str, Any]) -> None:
    """Each way an authorizer can refuse gives API Gateway's status, type and body."""
    response = stack.http.get("/hello", headers={"Authorization": token})

    assert response.status_code == status
    assert response.headers["x-amzn-ErrorType"] == error_type
    assert response.json() == body


def test_missing_token_skips_authorizer(stack: EmulatedStack) -> None:
    """Without the identity source the response is 401 and the authorizer is not invoked."""
    response = stack.http.get("/hello")

    assert response.status_code == 401
    assert response.json() == {"message": "Unauthorized"}
    assert _authorizer_calls(stack) == 0


def test_allowed_request_gets_context(stack: EmulatedStack) -> None:
    """An Allow for the method ARN runs the integration, with principalId and the context
    values as strings in requestContext.authorizer."""
    response = stack.http.get("/hello", headers={"Authorization": "allow"})

    assert response.status_code == 200
    authorizer = response.json()
    assert authorizer["principalId"] == "user-1"
    assert authorizer["tier"] == "gold"
    assert authorizer["count"] == "3"
    assert authorizer["vip"] == "true"
    assert authorizer["type"] == "TOKEN"


def test_policy_cached_for_ttl(stack: EmulatedStack) -> None:
    """The authorizer's result is cached per token for the TTL (300 s here)."""
    for _ in range(3):
        assert stack.http.get("/hello", headers={"Authorization": "allow"}).status_code == 200
    cached_calls = _authorizer_calls(stack)
    stack.clock.advance(301)
    stack.http.get("/hello", headers={"Authorization": "allow"})

    assert cached_calls == 1
    assert _authorizer_calls(stack) == 2


def test_request_authorizer_reads_query(stack: EmulatedStack) -> None:
    """A REQUEST authorizer gets the request's parameters; a missing one gets 401."""
    missing = stack.http.get("/req")
    allowed = stack.http.get("/req", params={"token": "allow"})
    denied = stack.http.get("/req", params={"token": "deny"})

    assert missing.status_code == 401
    assert allowed.status_code == 200
    assert allowed.json()["type"] == "REQUEST"
    assert denied.status_code == 403
    assert json.loads(denied.text)["Message"].endswith("with an explicit deny")
