"""Authorization of GraphQL requests: API keys, user pools, IAM, Lambda and OpenID Connect.

A request is authenticated once, with the mode that its credentials name: ``x-api-key``,
a SigV4 ``Authorization`` header, a JWT, or else the API's Lambda authorizer. Missing or
invalid credentials get ``401`` with an ``UnauthorizedException``. Each field is then
authorized against the modes its directives allow, and a field the caller may not read
is null with an ``Unauthorized`` error. Sources:
https://docs.aws.amazon.com/appsync/latest/devguide/security-authz.html (modes,
directives, ``defaultAction``, ``appIdClientRegex``, the Lambda authorizer's event and
response, ``deniedFields``), https://docs.aws.amazon.com/appsync/latest/devguide/resolver-context-reference.html
(``$ctx.identity`` per mode) and
https://repost.aws/knowledge-center/aws-appsync-graphql-request-unauth-error (401 for
missing or invalid credentials, "Not Authorized to access X on type Y" for a field).

Limitations:
- The 401 messages are the ones AppSync is reported to send ("Valid authorization header
  not provided.", "Unable to parse JWT token.", "Token has expired.", "You are not
  authorized to make this call."); AWS does not document which message goes with which
  failure.
- IAM decides ``appsync:GraphQL`` for the top-level fields only, and a denied field is
  reported as a field error rather than a 401.
- OpenID Connect tokens are verified only when their issuer is a user pool of the
  emulation; other issuers' keys would have to be downloaded, so their tokens get 401.
- Lambda authorizer results are not cached (``authorizerResultTtlInSeconds``).
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from graphql import GraphQLResolveInfo

from windtunnel.cloud.dataplane import DataPlaneRequest
from windtunnel.services.appsync.schema import (
    API_KEY,
    AWS_IAM,
    AWS_LAMBDA,
    COGNITO,
    OIDC,
    field_authorization,
)

if TYPE_CHECKING:
    from windtunnel.cloud.pipeline import Cloud
    from windtunnel.iam.enforcement import Principal

__all__ = ["Caller", "Rejection", "authenticate", "field_denial"]

logger = logging.getLogger(__name__)

NO_CREDENTIALS = "Valid authorization header not provided."
NOT_AUTHORIZED = "You are not authorized to make this call."
UNPARSABLE_TOKEN = "Unable to parse JWT token."
EXPIRED_TOKEN = "Token has expired."

_ROOT_TYPES = ("Query", "Mutation", "Subscription")


@dataclass(frozen=True)
class Rejection:
    """A request refused before execution: HTTP 401 with one ``UnauthorizedException``."""

    message: str
    status: int = 401
    error_type: str = "UnauthorizedException"


@dataclass(frozen=True)
class Caller:
    """An authenticated request: its mode, ``$ctx.identity`` and what limits its fields."""

    mode: str
    identity: object
    groups: tuple[str, ...] = ()
    """The user pool groups of the token (``cognito:groups``)."""
    default_action: str = "ALLOW"
    """The user pool's ``defaultAction`` when the mode is the API's default user pool."""
    denied_fields: frozenset[str] = field(default_factory=frozenset)
    """``Type.field`` names and field ARNs that a Lambda authorizer denied."""
    principal: Principal | None = None
    """The IAM principal of a SigV4-signed request."""


@dataclass(frozen=True)
class _Provider:
    mode: str
    config: Mapping[str, Any]
    default: bool


def _providers(api: Mapping[str, Any]) -> list[_Provider]:
    providers = [_Provider(str(api.get("authenticationType")), api, True)]
    for extra in api.get("additionalAuthenticationProviders") or []:
        providers.append(_Provider(str(extra.get("authenticationType")), extra, False))
    return providers


def authenticate(cloud: Cloud, api_id: str, api: Mapping[str, Any],
                 request: DataPlaneRequest, body: Mapping[str, Any],
                 now: datetime) -> Caller | Rejection:
    """Find the mode that the request's credentials use, and verify them."""
    providers = _providers(api)
    by_mode = {provider.mode: provider for provider in providers}
    authorization = (request.header("Authorization") or "").strip()

    api_key = request.header("x-api-key")
    if api_key is not None and API_KEY in by_mode:
        return _check_api_key(cloud, api_id, api_key, now)
    if authorization.startswith("AWS4-HMAC-SHA256") and AWS_IAM in by_mode:
        return _check_iam(cloud, request)
    if authorization:
        claims = _unverified_claims(authorization)
        if claims is not None:
            issuer = str(claims.get("iss", ""))
            for provider in providers:
                if provider.mode == COGNITO and _pool_issuer(provider.config) == issuer:
                    return _check_user_pool(cloud, provider, authorization, request, now)
                if provider.mode == OIDC and _oidc_issuer(provider.config) == issuer.rstrip("/"):
                    return _check_oidc(cloud, provider, authorization, now)
        if AWS_LAMBDA in by_mode:
            return _check_lambda(cloud, api_id, by_mode[AWS_LAMBDA], authorization, request,
                                 body)
        if COGNITO in by_mode or OIDC in by_mode:
            return Rejection(UNPARSABLE_TOKEN if claims is None else NOT_AUTHORIZED)
    return Rejection(NO_CREDENTIALS)


# --- API keys -----------------------------------------------------------------------


def _check_api_key(cloud: Cloud, api_id: str, key: str, now: datetime) -> Caller | Rejection:
    from moto.appsync.models import appsync_backends

    api = appsync_backends[cloud.account_id][cloud.region].graphql_apis.get(api_id)
    found = api.api_keys.get(key) if api is not None else None
    if found is None:
        return Rejection(NOT_AUTHORIZED)
    # moto keeps the expiry as a naive UTC time; the stack's clock decides.
    expires = found.expires
    if expires is not None:
        if expires.tzinfo is None:
            expires = expires.replace(tzinfo=UTC)
        if expires <= now:
            logger.info("AppSync API %s: an API key has expired", api_id)
            return Rejection(NOT_AUTHORIZED)
    # $ctx.identity is null for API key authorization.
    return Caller(API_KEY, None)


# --- IAM ----------------------------------------------------------------------------


def _check_iam(cloud: Cloud, request: DataPlaneRequest) -> Caller | Rejection:
    from windtunnel.cloud.signatures import parse_authorization, signature_matches

    match = parse_authorization(request.header("Authorization") or "")
    if match is None:
        return Rejection(NO_CREDENTIALS)
    access_key = match["key"]
    secret = cloud.authorizer.secret_key_of(access_key)
    if secret is not None:
        from botocore.awsrequest import HeadersDict

        headers = HeadersDict()
        for name, value in request.headers:
            headers.setdefault(name, value)
        host = request.header("host") or ""
        if not host:
            # The signature covers the Host header; without one it cannot be checked.
            logger.info("AppSync: SigV4 request from access key %s has no host header",
                        access_key)
            return Rejection(NOT_AUTHORIZED)
        # The client signed either the local path or /graphql on the API's own hostname;
        # a real-time connection signs /graphql/connect.
        suffix = request.path.partition("/graphql")[2]
        paths = (f"/_aws/appsync-api{request.path}", f"/graphql{suffix}")
        if not any(signature_matches(request.method, f"http://{host}{path}", headers,
                                     request.body, match, secret) for path in paths):
            logger.info("AppSync: invalid SigV4 signature from access key %s", access_key)
            return Rejection(NOT_AUTHORIZED)
    principal = cloud.authorizer.principal_for(access_key)
    identity = {
        "accountId": principal.account,
        "cognitoIdentityAuthProvider": None,
        "cognitoIdentityAuthType": None,
        "cognitoIdentityId": None,
        "cognitoIdentityPoolId": None,
        "sourceIp": [request.source_ip],
        "userArn": principal.arn,
        "username": access_key,
    }
    return Caller(AWS_IAM, identity, principal=principal)


def _iam_allows(cloud: Cloud, caller: Caller, api_id: str, type_name: str,
                field_name: str, source_ip: str) -> bool:
    from windtunnel.iam.enforcement import IamMode
    from windtunnel.iam.operations import AccessCheck

    authorizer = cloud.authorizer
    principal = caller.principal
    if principal is None or principal.admin or authorizer.mode is IamMode.OFF:
        return True
    resource = (f"arn:aws:appsync:{cloud.region}:{cloud.account_id}:apis/{api_id}/types/"
                f"{type_name}/fields/{field_name}")
    decision, authorization = authorizer.decide(
        principal, AccessCheck("appsync:GraphQL", resource),
        {"aws:SecureTransport": True, "aws:CurrentTime": authorizer.clock(),
         "aws:SourceIp": source_ip})
    authorizer.record(principal, "appsync", "GraphQL", authorization, decision)
    return decision.allowed or authorizer.mode is IamMode.WARN


# --- user pools and OpenID Connect ----------------------------------------------------


def _unverified_claims(token: str) -> dict[str, Any] | None:
    import base64

    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        payload = base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4))
        claims = json.loads(payload)
    except (ValueError, TypeError):
        return None
    return claims if isinstance(claims, dict) else None


def _pool_issuer(config: Mapping[str, Any]) -> str:
    pool = config.get("userPoolConfig") or {}
    pool_id = str(pool.get("userPoolId", ""))
    region = str(pool.get("awsRegion") or pool_id.split("_", 1)[0])
    return f"https://cognito-idp.{region}.amazonaws.com/{pool_id}"


def _oidc_issuer(config: Mapping[str, Any]) -> str:
    return str((config.get("openIDConnectConfig") or {}).get("issuer", "")).rstrip("/")


def _verified(cloud: Cloud, token: str, now: datetime) -> dict[str, Any] | Rejection:
    from windtunnel.services.apigateway.jwt_authorizers import (
        InvalidToken,
        verify_user_pool_token,
    )

    try:
        return verify_user_pool_token(cloud, token, now)
    except InvalidToken as error:
        logger.info("AppSync rejected a token: %s", error)
        return Rejection(EXPIRED_TOKEN if "expired" in str(error) else NOT_AUTHORIZED)


def _client_matches(pattern: object, claims: Mapping[str, Any]) -> bool:
    if not pattern:
        return True
    client = str(claims.get("aud") or claims.get("client_id") or "")
    return re.fullmatch(str(pattern), client) is not None


def _check_user_pool(cloud: Cloud, provider: _Provider, token: str,
                     request: DataPlaneRequest, now: datetime) -> Caller | Rejection:
    claims = _verified(cloud, token, now)
    if isinstance(claims, Rejection):
        return claims
    pool = provider.config.get("userPoolConfig") or {}
    if not _client_matches(pool.get("appIdClientRegex"), claims):
        return Rejection(NOT_AUTHORIZED)
    groups = claims.get("cognito:groups") or []
    default_action = str(pool.get("defaultAction", "ALLOW")) if provider.default else "ALLOW"
    identity = {
        "sub": claims.get("sub"),
        "issuer": claims.get("iss"),
        "username": claims.get("cognito:username", claims.get("username")),
        "claims": claims,
        "sourceIp": [request.source_ip],
        "defaultAuthStrategy": default_action,
        "groups": list(groups) or None,
    }
    return Caller(COGNITO, identity, groups=tuple(str(group) for group in groups),
                  default_action=default_action)


def _check_oidc(cloud: Cloud, provider: _Provider, token: str,
                now: datetime) -> Caller | Rejection:
    claims = _verified(cloud, token, now)
    if isinstance(claims, Rejection):
        return claims
    config = provider.config.get("openIDConnectConfig") or {}
    if not _client_matches(config.get("clientId"), claims):
        return Rejection(NOT_AUTHORIZED)
    # iatTTL and authTTL are milliseconds since the token was issued or the user signed in.
    for claim, ttl_name in (("iat", "iatTTL"), ("auth_time", "authTTL")):
        ttl = config.get(ttl_name)
        issued = claims.get(claim)
        if ttl and isinstance(issued, (int, float)) and \
                issued + int(ttl) / 1000 < now.timestamp():
            return Rejection(EXPIRED_TOKEN)
    identity = {"sub": claims.get("sub"), "issuer": claims.get("iss"), "claims": claims}
    return Caller(OIDC, identity, groups=tuple(str(group) for group in
                                               claims.get("cognito:groups") or []))


# --- Lambda authorizers ---------------------------------------------------------------


def _check_lambda(cloud: Cloud, api_id: str, provider: _Provider, token: str,
                  request: DataPlaneRequest, body: Mapping[str, Any]) -> Caller | Rejection:
    config = provider.config.get("lambdaAuthorizerConfig") or {}
    function_arn = str(config.get("authorizerUri", ""))
    expression = config.get("identityValidationExpression")
    if expression and re.fullmatch(str(expression), token) is None:
        # A token that does not match is rejected without invoking the function.
        return Rejection(NOT_AUTHORIZED)
    api_arn = f"arn:aws:appsync:{cloud.region}:{cloud.account_id}:apis/{api_id}"
    if not cloud.authorizer.authorize_service("appsync.amazonaws.com",
                                              "lambda:InvokeFunction", function_arn,
                                              source_arn=api_arn,
                                              source_account=cloud.account_id):
        logger.warning("AppSync API %s may not invoke its Lambda authorizer %s: the "
                       "function's resource policy does not allow appsync.amazonaws.com",
                       api_id, function_arn)
        return Rejection(NOT_AUTHORIZED)

    event = {
        "authorizationToken": token,
        "requestContext": {
            "apiId": api_id,
            "accountId": cloud.account_id,
            "requestId": str(uuid.uuid4()),
            "queryString": body.get("query"),
            "operationName": body.get("operationName"),
            "variables": body.get("variables") or {},
        },
        "requestHeaders": {name.lower(): value for name, value in request.headers},
    }
    from botocore.exceptions import ClientError

    try:
        result = cloud.client("lambda").invoke(FunctionName=function_arn,
                                               Payload=json.dumps(event).encode())
    except ClientError as error:
        logger.warning("AppSync API %s: Lambda authorizer %s failed: %s", api_id,
                       function_arn, error)
        return Rejection(NOT_AUTHORIZED)
    payload = result["Payload"].read()
    if result.get("FunctionError"):
        logger.info("AppSync API %s: Lambda authorizer %s raised an error", api_id,
                    function_arn)
        return Rejection(NOT_AUTHORIZED)
    try:
        response = json.loads(payload)
    except ValueError:
        return Rejection(NOT_AUTHORIZED)
    if not isinstance(response, dict) or response.get("isAuthorized") is not True:
        return Rejection(NOT_AUTHORIZED)
    denied = frozenset(str(name) for name in response.get("deniedFields") or [])
    identity = {"resolverContext": response.get("resolverContext") or {}}
    return Caller(AWS_LAMBDA, identity, denied_fields=denied)


# --- fields -------------------------------------------------------------------------


def field_denial(cloud: Cloud, api_id: str, api: Mapping[str, Any], caller: Caller,
                 info: GraphQLResolveInfo[Any], source_ip: str) -> str | None:
    """Return why the caller may not read a field ("Not Authorized to access ..."), or None."""
    parent = info.parent_type
    type_name, field_name = parent.name, info.field_name
    if field_name.startswith("__"):
        return None
    denied = f"Not Authorized to access {field_name} on type {type_name}"
    rule = field_authorization(parent, parent.fields[field_name])

    if rule.modes is None:
        if caller.mode != str(api.get("authenticationType")):
            return denied
    elif caller.mode not in rule.modes:
        return denied

    if caller.mode == COGNITO:
        if rule.cognito_groups is not None:
            if not set(rule.cognito_groups) & set(caller.groups):
                return denied
        elif caller.default_action == "DENY":
            return denied
    if caller.mode == AWS_LAMBDA:
        arn = (f"arn:aws:appsync:{cloud.region}:{cloud.account_id}:apis/{api_id}/types/"
               f"{type_name}/fields/{field_name}")
        if f"{type_name}.{field_name}" in caller.denied_fields or arn in caller.denied_fields:
            return denied
    if caller.mode == AWS_IAM and type_name in _ROOT_TYPES and not _iam_allows(
            cloud, caller, api_id, type_name, field_name, source_ip):
        return denied
    return None
