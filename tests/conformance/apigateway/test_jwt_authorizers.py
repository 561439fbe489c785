"""JWT authorizers (HTTP APIs) and Cognito user pool authorizers (REST APIs) with tokens
that the embedded user pool issues.

Sources:
https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-jwt-authorizer.html
(issuer, audience or client_id, expiry, scopes; 401 Unauthorized, 403 Forbidden for a
missing scope; claims in requestContext.authorizer.jwt)
https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-integrate-with-cognito.html
(ID token without scopes; claims in requestContext.authorizer.claims)
https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-using-tokens-verifying-a-jwt.html
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from windtunnel import EmulatedStack, Stack

APP = """
import json

def handler(event, context):
    return {"statusCode": 200, "body": json.dumps(event["requestContext"]["authorizer"])}
"""

TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
Globals:
  Function: {Runtime: python3.12, CodeUri: ./src, Handler: app.handler}
Resources:
  Users:
    Type: AWS::Cognito::UserPool
    Properties: {UserPoolName: users}
  WebClient:
    Type: AWS::Cognito::UserPoolClient
    Properties:
      UserPoolId: !Ref Users
      ExplicitAuthFlows: [ALLOW_USER_PASSWORD_AUTH, ALLOW_REFRESH_TOKEN_AUTH]
  HttpApi:
    Type: AWS::Serverless::HttpApi
    Properties:
      Auth:
        DefaultAuthorizer: Jwt
        Authorizers:
          Jwt:
            IdentitySource: $request.header.Authorization
            JwtConfiguration:
              issuer: !Sub "https://cognito-idp.${AWS::Region}.amazonaws.com/${Users}"
              audience: [!Ref WebClient]
  RestApi:
    Type: AWS::Serverless::Api
    Properties:
      StageName: test
      Auth:
        DefaultAuthorizer: Pool
        Authorizers:
          Pool: {UserPoolArn: !GetAtt Users.Arn}
  HttpFunction:
    Type: AWS::Serverless::Function
    Properties:
      Events:
        Me:
          Type: HttpApi
          Properties: {ApiId: !Ref HttpApi, Path: /me, Method: GET}
        Admin:
          Type: HttpApi
          Properties:
            ApiId: !Ref HttpApi
            Path: /admin
            Method: GET
            Auth: {Authorizer: Jwt, AuthorizationScopes: [cart/admin]}
  RestFunction:
    Type: AWS::Serverless::Function
    Properties:
      Events:
        Me:
          Type: Api
          Properties: {RestApiId: !Ref RestApi, Path: /me, Method: GET}
Outputs:
  PoolId: {Value: !Ref Users}
  ClientId: {Value: !Ref WebClient}
"""


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatedStack]:
    root: Path = tmp_path_factory.mktemp("jwt")
    (root / "src").mkdir()
    (root / "src" / "app.py").write_text(APP)
    (root / "template.yaml").write_text(TEMPLATE)
    with Stack.local(root, stack_name="jwt") as loaded:
        yield loaded


@pytest.fixture(scope="module")
def user(stack: EmulatedStack) -> str:
    idp = stack.client("cognito-idp")
    pool = stack.outputs["PoolId"]
    idp.admin_create_user(UserPoolId=pool, Username="ana", MessageAction="SUPPRESS")
    idp.admin_set_user_password(UserPoolId=pool, Username="ana", Password="Secret-pass-1",
                                Permanent=True)
    return "ana"


@pytest.fixture
def tokens(stack: EmulatedStack, user: str) -> dict[str, str]:
    """Sign in now, on the stack's clock, so each test gets tokens valid for an hour."""
    idp = stack.client("cognito-idp")
    client = stack.outputs["ClientId"]
    result = idp.initiate_auth(ClientId=client, AuthFlow="USER_PASSWORD_AUTH",
                               AuthParameters={"USERNAME": user,
                                               "PASSWORD": "Secret-pass-1"})
    return dict(result["AuthenticationResult"])


def _tampered(token: str) -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["sub"] = "someone-else"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    return f"{header}.{forged}.{signature}"


def test_http_api_accepts_pool_token(stack: EmulatedStack, tokens: dict[str, str]) -> None:
    """A valid ID token (audience = the client) passes; its claims reach the event."""
    http = stack.http_client("HttpApi")

    response = http.get("/me", headers={"Authorization": f"Bearer {tokens['IdToken']}"})

    assert response.status_code == 200
    jwt = response.json()["jwt"]
    assert jwt["claims"]["cognito:username"] == "ana"
    assert jwt["claims"]["token_use"] == "id"


@pytest.mark.parametrize("header", ["", "Bearer not-a-token", "Bearer tampered"])
def test_http_api_rejects_bad_tokens(stack: EmulatedStack, tokens: dict[str, str],
                                     header: str) -> None:
    """A missing, malformed or tampered token gets 401 Unauthorized."""
    if header == "Bearer tampered":
        header = f"Bearer {_tampered(tokens['IdToken'])}"
    http = stack.http_client("HttpApi")

    response = http.get("/me", headers={"Authorization": header} if header else {})

    assert response.status_code == 401
    assert response.json() == {"message": "Unauthorized"}


def test_http_api_expired_token(stack: EmulatedStack, tokens: dict[str, str],
                                user: str) -> None:
    """A token past its exp claim (1 hour for Cognito) gets 401 on the stack's clock.
    A token issued after the clock moved is valid."""
    http = stack.http_client("HttpApi")
    stack.clock.advance(2 * 3600)
    fresh = stack.client("cognito-idp").initiate_auth(
        ClientId=stack.outputs["ClientId"], AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": user, "PASSWORD": "Secret-pass-1"},
    )["AuthenticationResult"]["IdToken"]

    expired = http.get("/me", headers={"Authorization": f"Bearer {tokens['IdToken']}"})
    valid = http.get("/me", headers={"Authorization": f"Bearer {fresh}"})

    assert expired.status_code == 401
    assert valid.status_code == 200


def test_http_api_scope_missing_is_forbidden(stack: EmulatedStack,
                                             tokens: dict[str, str]) -> None:
    """A valid token without the route's scope gets 403 Forbidden."""
    http = stack.http_client("HttpApi")

    response = http.get("/admin",
                        headers={"Authorization": f"Bearer {tokens['AccessToken']}"})

    assert response.status_code == 403
    assert response.json() == {"message": "Forbidden"}


def test_rest_cognito_authorizer(stack: EmulatedStack, tokens: dict[str, str]) -> None:
    """The REST API's Cognito authorizer accepts the ID token and passes its claims. An
    access token (no scopes on the method) and no token get 401."""
    rest = stack.http_client("RestApi")

    ok = rest.get("/me", headers={"Authorization": tokens["IdToken"]})
    with_access = rest.get("/me", headers={"Authorization": tokens["AccessToken"]})
    without = rest.get("/me")

    assert ok.status_code == 200
    assert ok.json()["claims"]["cognito:username"] == "ana"
    assert with_access.status_code == 401
    assert without.status_code == 401
    assert without.json() == {"message": "Unauthorized"}
