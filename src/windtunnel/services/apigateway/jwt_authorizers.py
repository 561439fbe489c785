"""JWT authorizers of HTTP APIs and Cognito user pool authorizers of REST APIs.

Both verify a token that a user pool issued: the RS256 signature against the pool's
signing key, the issuer, the expiry (on the stack's clock) and, for HTTP APIs, the audience
and the route's scopes. Tokens from issuers other than the embedded user pools cannot be
verified locally, because their keys would have to be downloaded, so they are rejected.
Sources:
https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-jwt-authorizer.html
https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-integrate-with-cognito.html
https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-using-tokens-verifying-a-jwt.html
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from windtunnel.cloud.dataplane import DataPlaneRequest

if TYPE_CHECKING:
    from windtunnel.cloud.pipeline import Cloud

__all__ = ["InvalidToken", "JwtRejection", "authorize_cognito", "authorize_jwt",
           "string_claims", "verify_user_pool_token"]

logger = logging.getLogger(__name__)

_ISSUER = re.compile(r"https://cognito-idp\.(?P<region>[a-z0-9-]+)\.amazonaws\.com/"
                     r"(?P<pool>[\w-]+_[0-9A-Za-z]+)")
_POOL_ARN = re.compile(r"arn:aws[\w-]*:cognito-idp:(?P<region>[a-z0-9-]+):\d{12}:"
                       r"userpool/(?P<pool>[\w-]+_[0-9A-Za-z]+)")


class InvalidToken(Exception):
    """A token that fails verification; the message gives the reason (for the log only)."""


@dataclass(frozen=True)
class JwtRejection:
    """The response that API Gateway returns for a token it does not accept."""

    status: int
    error_type: str
    message: str


def verify_user_pool_token(cloud: Cloud, token: str, now: datetime) -> dict[str, Any]:
    """Verify a token issued by one of the embedded user pools and return its claims.

    Raises :class:`InvalidToken` for a malformed, unsigned, tampered or expired token, and
    for one whose issuer is not an embedded user pool.
    """
    from joserfc import jwt
    from joserfc.errors import JoseError

    # The issuer names the pool whose key verifies the signature, so it is read first.
    try:
        issuer = str(_unverified_claims(token).get("iss", ""))
    except ValueError as error:
        raise InvalidToken(f"not a JWT: {error}") from None
    pool = _user_pool(cloud, issuer)
    if pool is None:
        raise InvalidToken(f"issuer {issuer!r} is not a user pool of this emulation")
    try:
        decoded = jwt.decode(token, pool.json_web_key, algorithms=["RS256"])
    except (JoseError, ValueError) as error:
        raise InvalidToken(f"signature not valid: {error}") from None
    claims = dict(decoded.claims)
    expires = claims.get("exp")
    if not isinstance(expires, (int, float)) or expires <= now.timestamp():
        raise InvalidToken("token expired")
    not_before = claims.get("nbf")
    if isinstance(not_before, (int, float)) and not_before > now.timestamp():
        raise InvalidToken("token not valid yet")
    return claims


def _unverified_claims(token: str) -> dict[str, Any]:
    import base64
    import json

    parts = token.split(".")
    if len(parts) != 3:
        raise ValueError("a JWT has three parts")
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    claims = json.loads(base64.urlsafe_b64decode(payload))
    if not isinstance(claims, dict):
        raise ValueError("the payload is not a JSON object")
    return claims


def _user_pool(cloud: Cloud, issuer: str) -> Any:
    from moto.cognitoidp.models import cognitoidp_backends

    found = _ISSUER.fullmatch(issuer)
    if found is None:
        return None
    backend = cognitoidp_backends[cloud.account_id][found["region"]]
    return backend.user_pools.get(found["pool"])


def string_claims(claims: Mapping[str, Any]) -> dict[str, str]:
    """Render claims as API Gateway passes them: strings, arrays as ``[a b]``."""
    rendered: dict[str, str] = {}
    for key, value in claims.items():
        if isinstance(value, bool):
            rendered[key] = "true" if value else "false"
        elif isinstance(value, list):
            rendered[key] = "[" + " ".join(str(item) for item in value) + "]"
        else:
            rendered[key] = str(value)
    return rendered


def _scopes(claims: Mapping[str, Any]) -> list[str]:
    scope = claims.get("scope") or claims.get("scp") or ""
    if isinstance(scope, list):
        return [str(item) for item in scope]
    return str(scope).split()


def authorize_jwt(cloud: Cloud, authorizer: Any, route: Any,
                  request: DataPlaneRequest) -> dict[str, Any] | JwtRejection:
    """Run an HTTP API JWT authorizer; return ``requestContext.authorizer`` or a rejection.

    A missing or invalid token gets 401, and a valid token without one of the route's
    scopes gets 403.
    """
    unauthorized = JwtRejection(401, "Unauthorized", "Unauthorized")
    sources = authorizer.identity_source or ["$request.header.Authorization"]
    if isinstance(sources, str):
        sources = [sources]
    source = str(sources[0])
    if not source.startswith("$request.header."):
        logger.warning("JWT authorizer identity source %r is not supported", source)
        return unauthorized
    token = request.header(source[len("$request.header."):]) or ""
    if token.lower().startswith("bearer "):
        token = token[len("bearer "):].strip()
    if not token:
        return unauthorized

    # The API stores the configuration with lower-case keys (issuer, audience), as its
    # JSON wire shape has them; CloudFormation writes them capitalized.
    configuration = {str(key).lower(): value
                     for key, value in (authorizer.jwt_config or {}).items()}
    try:
        claims = verify_user_pool_token(cloud, token, cloud.authorizer.clock())
    except InvalidToken as error:
        logger.info("JWT authorizer %s rejected a token: %s", authorizer.id, error)
        return unauthorized
    if claims.get("iss") != configuration.get("issuer"):
        logger.info("JWT authorizer %s: issuer %s is not %s", authorizer.id,
                    claims.get("iss"), configuration.get("issuer"))
        return unauthorized
    audiences = set(configuration.get("audience") or [])
    token_audiences = {str(claims.get("aud", "")), str(claims.get("client_id", ""))}
    if audiences and not audiences & token_audiences:
        logger.info("JWT authorizer %s: audience not accepted", authorizer.id)
        return unauthorized

    required = list(getattr(route, "authorization_scopes", None) or [])
    scopes = _scopes(claims)
    if required and not set(required) & set(scopes):
        return JwtRejection(403, "Forbidden", "Forbidden")
    return {"jwt": {"claims": string_claims(claims), "scopes": scopes or None}}


def authorize_cognito(cloud: Cloud, authorizer: Any, method: Any,
                      request: DataPlaneRequest) -> dict[str, Any] | JwtRejection:
    """Run a REST API Cognito user pool authorizer; return ``requestContext.authorizer``.

    Without authorization scopes on the method the ID token is required; with scopes, an
    access token that has one of them.
    """
    unauthorized = JwtRejection(401, "UnauthorizedException", "Unauthorized")
    source = str(authorizer.identity_source or "method.request.header.Authorization")
    header = source.removeprefix("method.request.header.")
    token = (request.header(header) or "").strip()
    if not token:
        return unauthorized
    try:
        claims = verify_user_pool_token(cloud, token, cloud.authorizer.clock())
    except InvalidToken as error:
        logger.info("Cognito authorizer %s rejected a token: %s", authorizer.id, error)
        return unauthorized

    pools = {f"https://cognito-idp.{found['region']}.amazonaws.com/{found['pool']}"
             for found in (_POOL_ARN.fullmatch(str(arn))
                           for arn in (authorizer.provider_arns or []))
             if found is not None}
    if claims.get("iss") not in pools:
        return unauthorized
    scopes: Sequence[str] = list(getattr(method, "authorization_scopes", None) or [])
    if scopes:
        if claims.get("token_use") != "access" or not set(scopes) & set(_scopes(claims)):
            return unauthorized
    elif claims.get("token_use") != "id":
        return unauthorized
    return {"claims": string_claims(claims)}
