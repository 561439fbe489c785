"""The token endpoint of user pool domains: ``POST /oauth2/token`` on ``{domain}.auth...``.

Machine-to-machine clients get access tokens with the client credentials grant, and
signed-in users' apps exchange refresh tokens, as on a Cognito domain:
https://docs.aws.amazon.com/cognito/latest/developerguide/token-endpoint.html
The tokens are signed with the user pool's keys (those its ``jwks.json`` publishes) and
stamped with the stack's clock, so authorizers and handlers verify them as on AWS.

Limitations:
    The authorization code grant (which needs the hosted sign-in pages) and the
    ``/oauth2/authorize``, ``/oauth2/userInfo`` and ``/oauth2/revoke`` endpoints are not
    emulated; a request for them gets an error that names them.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from windtunnel.cloud.dataplane import DataPlaneRequest
from windtunnel.cloud.messages import AwsResponse

__all__ = ["TokenEndpoint", "domain_of_host"]

logger = logging.getLogger(__name__)

# {domain}.auth.{region}.amazoncognito.com (a prefix domain of a user pool).
_DOMAIN_HOST = re.compile(
    r"(?P<domain>[a-z0-9-]+)\.auth\.(?P<region>[a-z0-9-]+)\.amazoncognito\.com(?::\d+)?",
    re.IGNORECASE)

# Access tokens of the client credentials grant last an hour unless the app client sets
# another AccessTokenValidity.
_DEFAULT_VALIDITY_SECONDS = 3600
_UNIT_SECONDS = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}


def domain_of_host(host: str) -> str | None:
    """Return the domain prefix of a ``{domain}.auth.{region}.amazoncognito.com`` host."""
    found = _DOMAIN_HOST.fullmatch(host or "")
    return found["domain"].lower() if found else None


class TokenEndpoint:
    """Serves ``/{domain}/oauth2/token`` requests for the cloud's user pool domains."""

    plane = "cognito-oauth"

    def __init__(self, now: Callable[[], float], account_id: str, region: str) -> None:
        self._now = now
        self._account_id = account_id
        self._region = region

    def __call__(self, request: DataPlaneRequest) -> AwsResponse:
        """Handle one request to a domain's OAuth endpoints."""
        domain, _, endpoint = request.path.lstrip("/").partition("/")
        if endpoint.rstrip("/") != "oauth2/token":
            return _error(404, "invalid_request",
                          f"windtunnel emulates /oauth2/token of user pool domains, not "
                          f"/{endpoint}")
        if request.method.upper() != "POST":
            return _error(405, "invalid_request", "send token requests with POST")
        content_type = request.header("Content-Type") or ""
        if "application/x-www-form-urlencoded" not in content_type:
            return _error(400, "invalid_request",
                          "the Content-Type must be application/x-www-form-urlencoded")
        pool = self._pool_of(domain)
        if pool is None:
            return _error(404, "invalid_request", f"no user pool has the domain {domain!r}")

        body = request.body.decode("utf-8", errors="replace")
        form = dict(parse_qsl(body, keep_blank_values=True))
        client_id, secret = _client_credentials(request.header("Authorization"), form)
        client = pool.clients.get(client_id) if client_id else None
        if client is None:
            return _error(400, "invalid_client", "")
        if client.generate_secret and secret != client.secret:
            return _error(400, "invalid_client", "")

        grant = form.get("grant_type")
        if grant == "client_credentials":
            return self._client_credentials(pool, client, form)
        if grant == "refresh_token":
            return self._refresh(pool, client, form)
        if grant == "authorization_code":
            return _error(400, "unsupported_grant_type",
                          "windtunnel does not emulate the hosted sign-in pages that issue "
                          "authorization codes")
        return _error(400, "unsupported_grant_type", "")

    def _pool_of(self, domain: str) -> Any:
        from moto.cognitoidp.models import cognitoidp_backends

        backend = cognitoidp_backends[self._account_id][self._region]
        entry = backend.user_pool_domains.get(domain)
        if entry is None:
            return None
        return backend.user_pools.get(entry.user_pool_id)

    def _client_credentials(self, pool: Any, client: Any, form: dict[str, str]) -> AwsResponse:
        config = client.extended_config
        if not client.generate_secret or "client_credentials" not in (
                config.get("AllowedOAuthFlows") or ()) or not config.get(
                "AllowedOAuthFlowsUserPoolClient"):
            return _error(400, "unauthorized_client", "")
        allowed = list(config.get("AllowedOAuthScopes") or ())
        requested = form.get("scope", "").split() or allowed
        if not requested or any(scope not in allowed for scope in requested):
            return _error(400, "invalid_scope", "")

        now = int(self._now())
        validity = _validity_seconds(config)
        payload = {
            "sub": client.id,
            "token_use": "access",
            "scope": " ".join(requested),
            "auth_time": now,
            "iss": f"https://cognito-idp.{pool.region}.amazonaws.com/{pool.id}",
            "exp": now + validity,
            "iat": now,
            "version": 2,
            "jti": str(uuid.uuid4()),
            "client_id": client.id,
        }
        token = _sign(pool, payload)
        return _json(200, {"access_token": token, "expires_in": validity,
                           "token_type": "Bearer"})

    def _refresh(self, pool: Any, client: Any, form: dict[str, str]) -> AwsResponse:
        refresh_token = form.get("refresh_token", "")
        owner = pool.refresh_tokens.get(refresh_token)
        if not refresh_token or owner is None or owner[0] != client.id:
            return _error(400, "invalid_grant", "")
        access_token, id_token, expires_in = pool.create_tokens_from_refresh_token(
            refresh_token)
        return _json(200, {"id_token": id_token, "access_token": access_token,
                           "expires_in": expires_in, "token_type": "Bearer"})


def _client_credentials(authorization: str | None,
                        form: dict[str, str]) -> tuple[str | None, str | None]:
    """Read the client ID and secret from the Basic Authorization header or the form."""
    authorization = authorization or ""
    if authorization.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(authorization[6:].strip()).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None, None
        client_id, _, secret = decoded.partition(":")
        return client_id, secret
    return form.get("client_id"), form.get("client_secret")


def _validity_seconds(config: dict[str, Any]) -> int:
    value = config.get("AccessTokenValidity")
    if value is None:
        return _DEFAULT_VALIDITY_SECONDS
    unit = (config.get("TokenValidityUnits") or {}).get("AccessToken", "hours")
    return int(value) * _UNIT_SECONDS.get(str(unit), 3600)


def _sign(pool: Any, payload: dict[str, Any]) -> str:
    from joserfc import jwt

    # The key ID is the one the pool's jwks.json publishes.
    return str(jwt.encode({"kid": "dummy", "alg": "RS256"}, payload, pool.json_web_key))


def _json(status: int, document: dict[str, Any]) -> AwsResponse:
    return AwsResponse(status, {"Content-Type": "application/json;charset=UTF-8"},
                       json.dumps(document).encode())


def _error(status: int, error: str, description: str) -> AwsResponse:
    """An error as the token endpoint returns it: ``{"error": "invalid_client"}``."""
    document: dict[str, Any] = {"error": error}
    if description:
        document["error_description"] = description
    logger.info("Cognito token endpoint: %s %s", error, description)
    return _json(status, document)
