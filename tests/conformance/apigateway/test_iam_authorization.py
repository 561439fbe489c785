"""AWS_IAM authorization of REST API methods: SigV4 verified, then execute-api:Invoke.

Sources:
https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-control-access-using-iam-policies-to-invoke-api.html
(the execute-api ARN and the policies that allow Invoke)
https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html
(MISSING_AUTHENTICATION_TOKEN 403, INVALID_SIGNATURE 403, ACCESS_DENIED 403)
https://repost.aws/knowledge-center/api-gateway-403-error-lambda-authorizer
("User: ... is not authorized to perform: execute-api:Invoke on resource: ..." and its
"with an explicit deny" form)
https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html
(requestContext.identity of an IAM-authorized caller)
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from windtunnel import EmulatedStack, Stack

ACCOUNT = "123456789012"

HANDLER = """
import json

def handler(event, context):
    return {"statusCode": 200, "body": json.dumps(event["requestContext"]["identity"])}
"""

TEMPLATE = """
Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement:
          - {Effect: Allow, Principal: {Service: lambda.amazonaws.com}, Action: sts:AssumeRole}
  Function:
    Type: AWS::Lambda::Function
    Properties:
      Runtime: python3.12
      Handler: app.handler
      Role: !GetAtt Role.Arn
      Code: ./src
  InvokePermission:
    Type: AWS::Lambda::Permission
    Properties:
      FunctionName: !Ref Function
      Action: lambda:InvokeFunction
      Principal: apigateway.amazonaws.com
      SourceArn: !Sub "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${Api}/*"
  Api:
    Type: AWS::ApiGateway::RestApi
    Properties: {Name: secured}
  Secured:
    Type: AWS::ApiGateway::Resource
    Properties: {RestApiId: !Ref Api, ParentId: !GetAtt Api.RootResourceId, PathPart: secured}
  SecuredMethod:
    Type: AWS::ApiGateway::Method
    Properties:
      RestApiId: !Ref Api
      ResourceId: !Ref Secured
      HttpMethod: GET
      AuthorizationType: AWS_IAM
      Integration:
        Type: AWS_PROXY
        IntegrationHttpMethod: POST
        Uri: !Join ["", ["arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/",
                         !GetAtt Function.Arn, "/invocations"]]
  Deployment:
    Type: AWS::ApiGateway::Deployment
    DependsOn: [SecuredMethod]
    Properties: {RestApiId: !Ref Api, StageName: test}
"""


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatedStack]:
    root: Path = tmp_path_factory.mktemp("iam-api")
    (root / "src").mkdir()
    (root / "src" / "app.py").write_text(HANDLER)
    (root / "template.yaml").write_text(TEMPLATE)
    with Stack.local(root, stack_name="secured") as loaded:
        yield loaded


def _user(stack: EmulatedStack, name: str, statements: list[dict[str, Any]]) -> Credentials:
    iam = stack.client("iam")
    iam.create_user(UserName=name)
    if statements:
        iam.put_user_policy(UserName=name, PolicyName="invoke", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": statements}))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return Credentials(key["AccessKeyId"], key["SecretAccessKey"])


def _signed_get(stack: EmulatedStack, path: str, credentials: Credentials) -> httpx.Response:
    request = stack.http.build_request("GET", path)
    aws_request = AWSRequest(method="GET", url=str(request.url),
                             headers={"host": request.headers["host"]})
    SigV4Auth(credentials, "execute-api", "us-east-1").add_auth(aws_request)
    for name in ("Authorization", "X-Amz-Date", "X-Amz-Security-Token"):
        if name in aws_request.headers:
            request.headers[name] = aws_request.headers[name]
    return stack.http.send(request)


def _method_arn(stack: EmulatedStack) -> str:
    return f"arn:aws:execute-api:us-east-1:{ACCOUNT}:{stack.physical_id('Api')}/test/GET/secured"


def test_allowed_user_reaches_function(stack: EmulatedStack) -> None:
    """A user whose policy allows execute-api:Invoke on the method gets the function's response,
    with its identity in the event."""
    credentials = _user(stack, "reader", [
        {"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": _method_arn(stack)}])

    response = _signed_get(stack, "/secured", credentials)

    assert response.status_code == 200
    identity = response.json()
    assert identity["userArn"] == f"arn:aws:iam::{ACCOUNT}:user/reader"
    assert identity["accessKey"] == credentials.access_key
    assert identity["accountId"] == ACCOUNT
    assert identity["caller"].startswith("AIDA")


def test_user_without_policy_is_denied(stack: EmulatedStack) -> None:
    """A signed request whose caller no policy allows gets 403 with IAM's message."""
    credentials = _user(stack, "nobody", [])

    response = _signed_get(stack, "/secured", credentials)

    assert response.status_code == 403
    assert response.headers["x-amzn-ErrorType"] == "AccessDeniedException"
    assert response.json() == {"message": (
        f"User: arn:aws:iam::{ACCOUNT}:user/nobody is not authorized to perform: "
        f"execute-api:Invoke on resource: {_method_arn(stack)}")}


def test_explicit_deny_is_named(stack: EmulatedStack) -> None:
    """A Deny statement for the method gives the message with "with an explicit deny"."""
    credentials = _user(stack, "blocked", [
        {"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": "*"},
        {"Effect": "Deny", "Action": "execute-api:Invoke", "Resource": _method_arn(stack)}])

    response = _signed_get(stack, "/secured", credentials)

    assert response.status_code == 403
    assert response.json()["message"].endswith("with an explicit deny")


def test_wrong_secret_is_invalid_signature(stack: EmulatedStack) -> None:
    """A signature made with the wrong secret key is rejected before any policy is read."""
    real = _user(stack, "forger", [
        {"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": "*"}])

    response = _signed_get(stack, "/secured", Credentials(real.access_key, "not-the-secret"))

    assert response.status_code == 403
    assert response.headers["x-amzn-ErrorType"] == "InvalidSignatureException"
    assert response.json()["message"].startswith(
        "The request signature we calculated does not match the signature you provided.")


def test_unsigned_request_is_missing_token(stack: EmulatedStack) -> None:
    """Without a signature the method returns 403 Missing Authentication Token."""
    response = stack.http.get("/secured")

    assert response.status_code == 403
    assert response.headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"
    assert response.json() == {"message": "Missing Authentication Token"}


def test_test_credentials_act_as_administrator(stack: EmulatedStack) -> None:
    """Credentials windtunnel did not issue (test/test) act as the administrator, as for
    every API call."""
    response = _signed_get(stack, "/secured", Credentials("test", "test"))

    assert response.status_code == 200


HTTP_API_TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
Resources:
  Api:
    Type: AWS::Serverless::HttpApi
    Properties:
      Auth: {EnableIamAuthorizer: true, DefaultAuthorizer: AWS_IAM}
  Function:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: app.handler
      CodeUri: ./src
      Events:
        Secured:
          Type: HttpApi
          Properties: {ApiId: !Ref Api, Path: /secured, Method: GET}
"""

HTTP_HANDLER = """
import json

def handler(event, context):
    return {"statusCode": 200,
            "body": json.dumps(event["requestContext"].get("authorizer"))}
"""


@pytest.fixture(scope="module")
def http_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatedStack]:
    root: Path = tmp_path_factory.mktemp("iam-http-api")
    (root / "src").mkdir()
    (root / "src" / "app.py").write_text(HTTP_HANDLER)
    (root / "template.yaml").write_text(HTTP_API_TEMPLATE)
    with Stack.local(root, stack_name="secured-http") as loaded:
        yield loaded


def test_http_api_iam_route(http_stack: EmulatedStack) -> None:
    """An HTTP API route with AWS_IAM admits an allowed signed caller, with the caller under
    requestContext.authorizer.iam, and returns 403 Forbidden to others.

    Source: https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-access-control-iam.html
    """
    allowed = _user(http_stack, "http-reader", [
        {"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": "*"}])
    refused = _user(http_stack, "http-nobody", [])

    ok = _signed_get(http_stack, "/secured", allowed)
    denied = _signed_get(http_stack, "/secured", refused)
    unsigned = http_stack.http.get("/secured")

    assert ok.status_code == 200
    assert ok.json()["iam"]["userArn"] == f"arn:aws:iam::{ACCOUNT}:user/http-reader"
    assert ok.json()["iam"]["accessKey"] == allowed.access_key
    assert denied.status_code == 403
    assert denied.json() == {"message": "Forbidden"}
    assert unsigned.status_code == 403
