"""The token endpoint of a user pool domain, reached by its AWS hostname.

Sources (https://docs.aws.amazon.com/cognito/latest/developerguide/token-endpoint.html):
- POST https://{domain}.auth.{region}.amazoncognito.com/oauth2/token with
  Content-Type application/x-www-form-urlencoded; the client authenticates with a Basic
  Authorization header (client ID and secret) or client_id/client_secret in the body.
- grant_type=client_credentials returns {"access_token", "expires_in", "token_type":
  "Bearer"}; the access token's scope is the requested scopes, which must be among the
  app client's allowed scopes (invalid_scope otherwise); a wrong secret is invalid_client.
- grant_type=refresh_token returns a new ID token and access token.
The tokens verify against the pool's JWKS, as authorizers and handlers check them.
"""

from __future__ import annotations

import base64
import json
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from windtunnel import EmulatedStack, Stack
from windtunnel.testing import aws_hostnames

TEMPLATE = """
Resources:
  Pool:
    Type: AWS::Cognito::UserPool
    Properties: {UserPoolName: orders}
  Domain:
    Type: AWS::Cognito::UserPoolDomain
    Properties: {Domain: orders-auth, UserPoolId: !Ref Pool}
  Server:
    Type: AWS::Cognito::UserPoolResourceServer
    Properties:
      UserPoolId: !Ref Pool
      Identifier: orders
      Name: Orders API
      Scopes:
        - {ScopeName: read, ScopeDescription: read}
        - {ScopeName: write, ScopeDescription: write}
  Machine:
    Type: AWS::Cognito::UserPoolClient
    DependsOn: Server
    Properties:
      UserPoolId: !Ref Pool
      GenerateSecret: true
      AllowedOAuthFlows: [client_credentials]
      AllowedOAuthFlowsUserPoolClient: true
      AllowedOAuthScopes: [orders/read, orders/write]
  App:
    Type: AWS::Cognito::UserPoolClient
    Properties:
      UserPoolId: !Ref Pool
      ExplicitAuthFlows: [ALLOW_USER_PASSWORD_AUTH, ALLOW_REFRESH_TOKEN_AUTH]
Outputs:
  PoolId: {Value: !Ref Pool}
  ClientId: {Value: !Ref Machine}
  AppClientId: {Value: !Ref App}
"""

URL = "https://orders-auth.auth.us-east-1.amazoncognito.com/oauth2/token"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatedStack]:
    root = tmp_path_factory.mktemp("token-endpoint")
    (root / "template.yaml").write_text(TEMPLATE)
    with Stack.local(root) as loaded, aws_hostnames(loaded):
        yield loaded


def _secret(stack: EmulatedStack) -> str:
    client = stack.client("cognito-idp").describe_user_pool_client(
        UserPoolId=stack.outputs["PoolId"], ClientId=stack.outputs["ClientId"])
    return str(client["UserPoolClient"]["ClientSecret"])


def _post(form: dict[str, str], authorization: str | None = None) -> tuple[int, Any]:
    request = urllib.request.Request(URL, data=urllib.parse.urlencode(form).encode(),
                                     method="POST")
    request.add_header("Content-Type", "application/x-www-form-urlencoded")
    if authorization:
        request.add_header("Authorization", authorization)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def _basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def test_client_credentials_issue_a_verifiable_access_token(stack: EmulatedStack) -> None:
    client_id = stack.outputs["ClientId"]

    status, answer = _post({"grant_type": "client_credentials", "scope": "orders/read"},
                           _basic(client_id, _secret(stack)))

    assert status == 200
    assert answer["token_type"] == "Bearer"
    assert answer["expires_in"] == 3600
    pool_id = stack.outputs["PoolId"]
    claims = jwt.decode(answer["access_token"], _pool_keys(pool_id)).claims
    assert claims["client_id"] == client_id
    assert claims["sub"] == client_id
    assert claims["scope"] == "orders/read"
    assert claims["token_use"] == "access"
    assert claims["iss"] == f"https://cognito-idp.us-east-1.amazonaws.com/{pool_id}"
    assert claims["exp"] - claims["iat"] == 3600


def test_wrong_secret_and_unknown_scope_are_rejected(stack: EmulatedStack) -> None:
    client_id = stack.outputs["ClientId"]

    wrong_secret = _post({"grant_type": "client_credentials"}, _basic(client_id, "nope"))
    unknown_scope = _post({"grant_type": "client_credentials", "scope": "orders/delete",
                           "client_id": client_id, "client_secret": _secret(stack)})

    assert wrong_secret == (400, {"error": "invalid_client"})
    assert unknown_scope == (400, {"error": "invalid_scope"})


def test_a_refresh_token_gets_new_tokens(stack: EmulatedStack) -> None:
    cognito = stack.client("cognito-idp")
    pool_id, app_client = stack.outputs["PoolId"], stack.outputs["AppClientId"]
    cognito.admin_create_user(UserPoolId=pool_id, Username="ann")
    cognito.admin_set_user_password(UserPoolId=pool_id, Username="ann",
                                    Password="Secret-pass-1", Permanent=True)
    signed_in = cognito.initiate_auth(
        ClientId=app_client, AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "ann", "PASSWORD": "Secret-pass-1"})

    status, answer = _post({"grant_type": "refresh_token", "client_id": app_client,
                            "refresh_token": signed_in["AuthenticationResult"]["RefreshToken"]})
    rejected = _post({"grant_type": "refresh_token", "client_id": app_client,
                      "refresh_token": "not-a-token"})

    assert status == 200
    assert set(answer) == {"id_token", "access_token", "expires_in", "token_type"}
    assert jwt.decode(answer["id_token"], _pool_keys(pool_id)).claims["cognito:username"] \
        == "ann"
    assert rejected == (400, {"error": "invalid_grant"})


def _pool_keys(pool_id: str) -> KeySet:
    with urllib.request.urlopen(
            f"https://cognito-idp.us-east-1.amazonaws.com/{pool_id}/.well-known/jwks.json",
            timeout=10) as response:
        return KeySet.import_key_set(json.loads(response.read()))
