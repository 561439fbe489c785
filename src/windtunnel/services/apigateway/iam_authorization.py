"""``AWS_IAM`` authorization of API Gateway methods and routes: SigV4, then execute-api:Invoke.

The caller signs the request with Signature Version 4 for the ``execute-api`` service.
API Gateway verifies the signature, then evaluates ``execute-api:Invoke`` on the method's
ARN against the caller's policies and the API's resource policy. Sources:
https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-control-access-using-iam-policies-to-invoke-api.html
https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-resource-policies-aws-condition-keys.html
https://repost.aws/knowledge-center/api-gateway-403-error-lambda-authorizer (the 403 messages)

Limitations: signatures made with credentials that windtunnel did not issue (the
administrator's, such as ``test``/``test``) are accepted without verification, and such
callers are allowed, as they are for every API call. Presigned (query-string) signatures
are not accepted.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from windtunnel.cloud.dataplane import DataPlaneRequest
from windtunnel.cloud.signatures import parse_authorization, signature_matches
from windtunnel.iam.enforcement import IamMode, Principal
from windtunnel.iam.evaluation import Reason
from windtunnel.iam.operations import AccessCheck

if TYPE_CHECKING:
    from windtunnel.cloud.pipeline import Cloud

__all__ = ["IamCaller", "IamRejection", "authorize_iam"]

logger = logging.getLogger(__name__)

MISSING_TOKEN = "Missing Authentication Token"
INVALID_SIGNATURE = ("The request signature we calculated does not match the signature you "
                     "provided. Check your AWS Secret Access Key and signing method. Consult "
                     "the service documentation for details.")


@dataclass(frozen=True)
class IamRejection:
    """The 403 response that API Gateway returns instead of running the integration."""

    status: int
    error_type: str
    message: str


@dataclass(frozen=True)
class IamCaller:
    """The authenticated caller, for the ``requestContext.identity`` of the event."""

    principal: Principal
    access_key: str


def authorize_iam(cloud: Cloud, request: DataPlaneRequest, method_arn: str,
                  resource_policy: Mapping[str, Any] | None,
                  signed_paths: tuple[str, ...]) -> IamCaller | IamRejection:
    """Authenticate and authorize an ``AWS_IAM`` request for ``method_arn``.

    ``signed_paths`` are the URL paths the client may have signed (the local
    ``/_aws/execute-api/...`` path, or the path on the API's own hostname).
    """
    header = request.header("Authorization") or ""
    match = parse_authorization(header)
    if match is None:
        return IamRejection(403, "MissingAuthenticationTokenException", MISSING_TOKEN)
    access_key = match["key"]
    principal = cloud.authorizer.principal_for(access_key)

    secret = cloud.authorizer.secret_key_of(access_key)
    if secret is not None and not any(
            _signature_matches(request, path, match, secret) for path in signed_paths):
        logger.info("API Gateway: invalid SigV4 signature from access key %s", access_key)
        return IamRejection(403, "InvalidSignatureException", INVALID_SIGNATURE)

    authorizer = cloud.authorizer
    if principal.admin or authorizer.mode is IamMode.OFF:
        return IamCaller(principal, access_key)
    check = AccessCheck("execute-api:Invoke", method_arn)
    decision, authorization = authorizer.decide(
        principal, check, {"aws:SecureTransport": True, "aws:CurrentTime": authorizer.clock(),
                           "aws:SourceIp": request.source_ip},
        resource_policy=resource_policy)
    authorizer.record(principal, "execute-api", "Invoke", authorization, decision)
    if decision.allowed or authorizer.mode is IamMode.WARN:
        return IamCaller(principal, access_key)
    message = (f"User: {principal.arn} is not authorized to perform: execute-api:Invoke on "
               f"resource: {method_arn}")
    if decision.reason is Reason.EXPLICIT_DENY:
        message += " with an explicit deny"
    return IamRejection(403, "AccessDeniedException", message)


def _signature_matches(request: DataPlaneRequest, path: str, match: re.Match[str],
                       secret: str) -> bool:
    """Tell whether the request's signature is valid when the client signed ``path``."""
    from botocore.awsrequest import HeadersDict

    headers = HeadersDict()
    for name, value in request.headers:
        headers.setdefault(name, value)
    url = f"http://{request.header('host') or ''}{path}"
    if request.raw_query:
        url += f"?{request.raw_query}"
    return signature_matches(request.method, url, headers, request.body, match, secret)


def api_resource_policy(api: Any) -> Mapping[str, Any] | None:
    """Return the decoded resource policy of a moto REST API, if it has one."""
    policy = getattr(api, "policy", None)
    if not policy:
        return None
    try:
        document = json.loads(policy) if isinstance(policy, str) else policy
    except ValueError:
        return None
    return document if isinstance(document, Mapping) else None
