"""Authorization of GraphQL requests: API keys, user pools, Lambda authorizers, directives.

Sources:
- AUTHZ = https://docs.aws.amazon.com/appsync/latest/devguide/security-authz.html (API keys
  in ``x-api-key`` and their expiry; user pool tokens in ``Authorization``; Lambda
  authorizers get ``authorizationToken`` and return ``isAuthorized``, ``resolverContext``
  and ``deniedFields``; with additional modes, a field accepts the modes of its directives,
  or of its type's, or else only the default mode)
- CONTEXT = https://docs.aws.amazon.com/appsync/latest/devguide/resolver-context-reference.html
  (``$ctx.identity``: ``sub`` and ``username`` for user pools, ``resolverContext`` for
  Lambda authorizers)
- UNAUTH = https://repost.aws/knowledge-center/aws-appsync-graphql-request-unauth-error
  (missing or invalid credentials: 401; a field refused: 200 with an Unauthorized error
  "Not Authorized to access X on type Y")
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from windtunnel import EmulatedStack, Stack
from windtunnel.services.appsync.dataplane import GraphqlPlane
from windtunnel.stack.graphql import StackGraphql

AUTHZ = "https://docs.aws.amazon.com/appsync/latest/devguide/security-authz.html"
CONTEXT = "https://docs.aws.amazon.com/appsync/latest/devguide/resolver-context-reference.html"
UNAUTH = "https://repost.aws/knowledge-center/aws-appsync-graphql-request-unauth-error"

SCHEMA = """
type Query {
  open: String
  me: String @aws_cognito_user_pools
  admins: String @aws_cognito_user_pools(cognito_groups: ["admin"])
  tenant: String @aws_lambda
  hidden: String @aws_lambda
}
"""

AUTHORIZER = """
def handler(event, context):
    token = event["authorizationToken"]
    return {"isAuthorized": token == "let-me-in",
            "resolverContext": {"tenant": "t-" + event["requestContext"]["apiId"][:4]},
            "deniedFields": ["Query.hidden"]}
"""

IDENTITY = {
    "open": '"open"',
    "me": "$util.toJson($ctx.identity.username)",
    "admins": '"admins only"',
    "tenant": "$util.toJson($ctx.identity.resolverContext.tenant)",
    "hidden": '"hidden"',
}

# 2030-01-01T00:00:00Z: an expiry within the 365 days that AppSync allows ahead.
EXPIRES = 1_893_456_000


def _template() -> dict[str, Any]:
    api = {"Fn::GetAtt": "Api.ApiId"}
    resources: dict[str, Any] = {
        "Pool": {"Type": "AWS::Cognito::UserPool", "Properties": {"UserPoolName": "users"}},
        "Client": {"Type": "AWS::Cognito::UserPoolClient", "Properties": {
            "UserPoolId": {"Ref": "Pool"},
            "ExplicitAuthFlows": ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]}},
        "AuthorizerRole": {"Type": "AWS::IAM::Role", "Properties": {
            "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole"}]}}},
        "Authorizer": {"Type": "AWS::Lambda::Function", "Properties": {
            "Runtime": "python3.12", "Handler": "index.handler",
            "Role": {"Fn::GetAtt": "AuthorizerRole.Arn"}, "Code": {"ZipFile": AUTHORIZER}}},
        "AuthorizerPermission": {"Type": "AWS::Lambda::Permission", "Properties": {
            "Action": "lambda:InvokeFunction", "FunctionName": {"Ref": "Authorizer"},
            "Principal": "appsync.amazonaws.com"}},
        "Api": {"Type": "AWS::AppSync::GraphQLApi", "Properties": {
            "Name": "auth", "AuthenticationType": "API_KEY",
            "AdditionalAuthenticationProviders": [
                {"AuthenticationType": "AMAZON_COGNITO_USER_POOLS",
                 "UserPoolConfig": {"UserPoolId": {"Ref": "Pool"}, "AwsRegion": "us-east-1"}},
                {"AuthenticationType": "AWS_LAMBDA",
                 "LambdaAuthorizerConfig": {
                     "AuthorizerUri": {"Fn::GetAtt": "Authorizer.Arn"}}}]}},
        "Key": {"Type": "AWS::AppSync::ApiKey",
                "Properties": {"ApiId": api, "Expires": EXPIRES}},
        "Schema": {"Type": "AWS::AppSync::GraphQLSchema",
                   "Properties": {"ApiId": api, "Definition": SCHEMA}},
        "NoneSource": {"Type": "AWS::AppSync::DataSource",
                       "Properties": {"ApiId": api, "Name": "none", "Type": "NONE"}},
    }
    for field, value in IDENTITY.items():
        resources[f"Resolve{field.title()}"] = {
            "Type": "AWS::AppSync::Resolver", "DependsOn": ["Schema", "NoneSource"],
            "Properties": {"ApiId": api, "TypeName": "Query", "FieldName": field,
                           "DataSourceName": "none",
                           "RequestMappingTemplate": '{"version": "2018-05-29", '
                                                     f'"payload": {value}}}',
                           "ResponseMappingTemplate": "$util.toJson($ctx.result)"}}
    return {"Resources": resources,
            "Outputs": {"Key": {"Value": {"Fn::GetAtt": "Key.ApiKey"}},
                        "Pool": {"Value": {"Ref": "Pool"}},
                        "Client": {"Value": {"Ref": "Client"}}}}


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatedStack]:
    root: Path = tmp_path_factory.mktemp("auth")
    (root / "template.json").write_text(json.dumps(_template()))
    with Stack.local(root / "template.json", stack_name="auth") as stack:
        environment = stack.environment
        environment.cloud.register_data_plane(
            GraphqlPlane.plane, GraphqlPlane(environment.cloud, now=environment.clock.now))
        idp = stack.client("cognito-idp")
        pool = stack.outputs["Pool"]
        for user, groups in (("ana", ["admin"]), ("ben", [])):
            idp.admin_create_user(UserPoolId=pool, Username=user, MessageAction="SUPPRESS")
            idp.admin_set_user_password(UserPoolId=pool, Username=user,
                                        Password="Secret-pass-1", Permanent=True)
            for group in groups:
                idp.create_group(UserPoolId=pool, GroupName=group)
                idp.admin_add_user_to_group(UserPoolId=pool, Username=user, GroupName=group)
        stack.environment.snapshot()
        yield stack


@pytest.fixture
def stack(loaded: EmulatedStack) -> EmulatedStack:
    loaded.reset()
    return loaded


def id_token(stack: EmulatedStack, user: str) -> str:
    result = stack.client("cognito-idp").initiate_auth(
        ClientId=stack.outputs["Client"], AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": user, "PASSWORD": "Secret-pass-1"})
    token: str = result["AuthenticationResult"]["IdToken"]
    return token


def send(stack: EmulatedStack, text: str, headers: dict[str, str]) -> tuple[int, Any]:
    response = StackGraphql(stack)(text, headers=headers)
    return response.status_code, response.json()


def test_api_key_reads_default_mode_fields(stack: EmulatedStack) -> None:
    """AUTHZ: a field without directives accepts the default mode, here API_KEY."""
    status, body = send(stack, "{ open }", {"x-api-key": stack.outputs["Key"]})
    assert (status, body) == (200, {"data": {"open": "open"}}), AUTHZ


def test_unknown_api_key_gets_401(stack: EmulatedStack) -> None:
    """UNAUTH: an API key that the API does not have gets 401 UnauthorizedException."""
    status, body = send(stack, "{ open }", {"x-api-key": "da2-unknown"})
    assert status == 401, UNAUTH
    assert body["errors"][0]["errorType"] == "UnauthorizedException", UNAUTH


def test_expired_api_key_gets_401(stack: EmulatedStack) -> None:
    """AUTHZ: an API key is refused after its expiry time, on the stack's clock."""
    now = stack.clock.now().timestamp()
    stack.clock.advance(EXPIRES - now + 1)
    status, body = send(stack, "{ open }", {"x-api-key": stack.outputs["Key"]})
    assert status == 401, AUTHZ
    assert body["errors"][0]["errorType"] == "UnauthorizedException", AUTHZ


def test_user_pool_token_sets_identity(stack: EmulatedStack) -> None:
    """CONTEXT: a user pool token gives $ctx.identity.username for @aws_cognito_user_pools."""
    status, body = send(stack, "{ me }", {"Authorization": id_token(stack, "ben")})
    assert (status, body) == (200, {"data": {"me": "ben"}}), CONTEXT


def test_user_pool_caller_cannot_read_default_fields(stack: EmulatedStack) -> None:
    """AUTHZ: a field without directives refuses an additional mode."""
    status, body = send(stack, "{ me open }", {"Authorization": id_token(stack, "ben")})
    assert status == 200, AUTHZ
    assert body["data"] == {"me": "ben", "open": None}, AUTHZ
    assert body["errors"][0]["message"] == "Not Authorized to access open on type Query", \
        UNAUTH


def test_cognito_groups_limit_a_field(stack: EmulatedStack) -> None:
    """AUTHZ: cognito_groups admits only members of the listed groups."""
    _, allowed = send(stack, "{ admins }", {"Authorization": id_token(stack, "ana")})
    _, refused = send(stack, "{ admins }", {"Authorization": id_token(stack, "ben")})
    assert allowed == {"data": {"admins": "admins only"}}, AUTHZ
    assert refused["data"] == {"admins": None}, AUTHZ
    assert refused["errors"][0]["errorType"] == "Unauthorized", UNAUTH


def test_tampered_token_gets_401(stack: EmulatedStack) -> None:
    """UNAUTH: a token whose signature does not verify gets 401."""
    header, payload, signature = id_token(stack, "ben").split(".")
    tampered = ".".join((header, payload, signature[:-4] + "AAAA"))
    status, _ = send(stack, "{ me }", {"Authorization": tampered})
    assert status == 401, UNAUTH


def test_lambda_authorizer_context(stack: EmulatedStack) -> None:
    """AUTHZ: resolverContext of the authorizer's response is $ctx.identity.resolverContext."""
    status, body = send(stack, "{ tenant }", {"Authorization": "let-me-in"})
    assert status == 200, AUTHZ
    assert body["data"]["tenant"].startswith("t-"), CONTEXT


def test_lambda_authorizer_denied_fields(stack: EmulatedStack) -> None:
    """AUTHZ: deniedFields make those fields null and Unauthorized."""
    status, body = send(stack, "{ tenant hidden }", {"Authorization": "let-me-in"})
    assert status == 200, AUTHZ
    assert body["data"]["hidden"] is None, AUTHZ
    assert body["errors"][0]["message"] == "Not Authorized to access hidden on type Query", \
        AUTHZ


def test_lambda_authorizer_refusal_gets_401(stack: EmulatedStack) -> None:
    """AUTHZ: isAuthorized false refuses the request with 401 UnauthorizedException."""
    status, body = send(stack, "{ tenant }", {"Authorization": "wrong"})
    assert status == 401, AUTHZ
    assert body["errors"][0]["errorType"] == "UnauthorizedException", AUTHZ
