"""Lambda authorizers of HTTP APIs: payload 2.0 with simple responses, and IAM policies.

Source: https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-lambda-authorizer.html
(a missing identity source gets 401, without calling the function; ``isAuthorized``
for simple responses; the context reaches the integration as
``requestContext.authorizer.lambda``; a denial answers 403 Forbidden)
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from windtunnel import EmulatedStack, Stack

APP = """
import json

def handler(event, context):
    return {"statusCode": 200, "body": json.dumps(event["requestContext"]["authorizer"])}
"""

AUTHORIZER = """
def simple(event, context):
    token = event["identitySource"][0]
    if token == "crash":
        raise ValueError("the authorizer has a bug")
    return {"isAuthorized": token == "allow",
            "context": {"user": "ana", "level": 3, "routeArn": event["routeArn"]}}


def policy(event, context):
    effect = "Allow" if event["identitySource"][0] == "allow" else "Deny"
    return {"principalId": "ana",
            "policyDocument": {"Version": "2012-10-17", "Statement": [
                {"Action": "execute-api:Invoke", "Effect": effect,
                 "Resource": event["routeArn"]}]},
            "context": {"tier": "gold"}}
"""

TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
Globals:
  Function: {Runtime: python3.12, CodeUri: ./src}
Resources:
  Api:
    Type: AWS::Serverless::HttpApi
    Properties:
      Auth:
        Authorizers:
          Simple:
            FunctionArn: !GetAtt SimpleFunction.Arn
            AuthorizerPayloadFormatVersion: "2.0"
            EnableSimpleResponses: true
            EnableFunctionDefaultPermissions: true
            Identity: {Headers: [Authorization]}
          Policy:
            FunctionArn: !GetAtt PolicyFunction.Arn
            AuthorizerPayloadFormatVersion: "2.0"
            EnableFunctionDefaultPermissions: true
            Identity: {Headers: [Authorization]}
          Unpermitted:
            # Without EnableFunctionDefaultPermissions SAM adds no Lambda permission, so API
            # Gateway may not invoke the function.
            FunctionArn: !GetAtt UnpermittedFunction.Arn
            AuthorizerPayloadFormatVersion: "2.0"
            EnableSimpleResponses: true
            Identity: {Headers: [Authorization]}
  UnpermittedFunction:
    Type: AWS::Serverless::Function
    Properties: {Handler: authorizer.simple}
  SimpleFunction:
    Type: AWS::Serverless::Function
    Properties: {Handler: authorizer.simple}
  PolicyFunction:
    Type: AWS::Serverless::Function
    Properties: {Handler: authorizer.policy}
  AppFunction:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.handler
      Events:
        Simple:
          Type: HttpApi
          Properties: {ApiId: !Ref Api, Path: /simple, Method: GET,
                       Auth: {Authorizer: Simple}}
        Policy:
          Type: HttpApi
          Properties: {ApiId: !Ref Api, Path: /policy, Method: GET,
                       Auth: {Authorizer: Policy}}
        Unpermitted:
          Type: HttpApi
          Properties: {ApiId: !Ref Api, Path: /unpermitted, Method: GET,
                       Auth: {Authorizer: Unpermitted}}
"""


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatedStack]:
    root: Path = tmp_path_factory.mktemp("http-authorizers")
    (root / "src").mkdir()
    (root / "src" / "app.py").write_text(APP)
    (root / "src" / "authorizer.py").write_text(AUTHORIZER)
    (root / "template.yaml").write_text(TEMPLATE)
    with Stack.local(root, stack_name="http-authorized") as loaded:
        yield loaded


def test_simple_response_allows(stack: EmulatedStack) -> None:
    """isAuthorized true runs the route; the context reaches authorizer.lambda as given."""
    response = stack.http.get("/simple", headers={"Authorization": "allow"})

    assert response.status_code == 200
    context = response.json()["lambda"]
    assert context["user"] == "ana"
    assert context["level"] == 3
    assert context["routeArn"].endswith("/$default/GET/simple")


@pytest.mark.parametrize(("path", "headers", "status", "message"), [
    ("/simple", {}, 401, "Unauthorized"),
    ("/simple", {"Authorization": "deny"}, 403, "Forbidden"),
    ("/simple", {"Authorization": "crash"}, 500, "Internal Server Error"),
    ("/policy", {"Authorization": "deny"}, 403, "Forbidden"),
    ("/unpermitted", {"Authorization": "allow"}, 500, "Internal Server Error"),
])
def test_authorizer_rejections(stack: EmulatedStack, path: str, headers: dict[str, str],
                               status: int, message: str) -> None:
    """Missing identity, a refusal, a failing authorizer, a Deny policy and an authorizer
    that API Gateway may not invoke each get HTTP APIs' response."""
    response = stack.http.get(path, headers=headers)

    assert response.status_code == status
    assert response.json() == {"message": message}


def test_policy_response_allows(stack: EmulatedStack) -> None:
    """An IAM policy that allows the route ARN runs the route, with its context."""
    response = stack.http.get("/policy", headers={"Authorization": "allow"})

    assert response.status_code == 200
    context = response.json()["lambda"]
    assert context["tier"] == "gold"
    assert context["principalId"] == "ana"
