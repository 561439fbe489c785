"""A user pool's JWKS and OpenID configuration are served without a signature, as AWS does.

Source: https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-using-tokens-verifying-a-jwt.html
(https://cognito-idp.{region}.amazonaws.com/{userPoolId}/.well-known/jwks.json)
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator

import pytest

from windtunnel.cloud.pipeline import Cloud
from windtunnel.cloud.server import EndpointServer


@pytest.fixture
def served() -> Iterator[tuple[Cloud, int]]:
    cloud = Cloud()
    server = EndpointServer(cloud, port=0).start()
    try:
        yield cloud, server.port
    finally:
        server.stop()


def _get(port: int, path: str, host: str) -> tuple[int, dict[str, object]]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path, headers={"Host": host})
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


@pytest.mark.parametrize("host", ["cognito-idp.us-east-1.amazonaws.com", "127.0.0.1"])
def test_pool_documents_are_public(served: tuple[Cloud, int], host: str) -> None:
    """The JWKS lists the RS256 signing key and the OpenID configuration names the issuer,
    whether the request uses the AWS hostname or the local endpoint."""
    cloud, port = served
    pool = cloud.client("cognito-idp").create_user_pool(PoolName="users")["UserPool"]["Id"]

    jwks_status, jwks = _get(port, f"/{pool}/.well-known/jwks.json", host)
    config_status, config = _get(port, f"/{pool}/.well-known/openid-configuration", host)

    assert jwks_status == 200
    [key] = jwks["keys"]  # type: ignore[misc]
    assert key["alg"] == "RS256"
    assert key["use"] == "sig"
    assert config_status == 200
    assert config["issuer"] == f"https://cognito-idp.us-east-1.amazonaws.com/{pool}"
    assert config["jwks_uri"] == (
        f"https://cognito-idp.us-east-1.amazonaws.com/{pool}/.well-known/jwks.json")
