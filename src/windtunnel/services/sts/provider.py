"""STS operations that depend on who the caller is: AssumeRole and GetCallerIdentity.

AssumeRole evaluates the role's trust policy against the caller, as STS does, and
registers the new credentials so that requests signed with them act as the role session.
GetCallerIdentity names the principal windtunnel authenticated. Every other STS operation
goes to moto. API reference:
https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html

Limitations:
    AssumeRoleWithWebIdentity and AssumeRoleWithSAML issue credentials without checking the
    identity provider's token, and those sessions act as the administrator. Session tags
    and source identity are accepted but not available as condition keys.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from typing import TYPE_CHECKING, Any

from windtunnel.cloud.messages import AwsRequest, AwsResponse
from windtunnel.cloud.protocols import AwsError, render_query_response
from windtunnel.iam.enforcement import (
    AccessDenied,
    IamMode,
    Principal,
    RoleSession,
    default_document,
    find_role,
    iam_backend,
)
from windtunnel.iam.errors import MalformedPolicyError
from windtunnel.iam.evaluation import evaluate_trust
from windtunnel.iam.policy import PolicyKind, parse_policy
from windtunnel.iam.request import AuthorizationRequest, PrincipalType

if TYPE_CHECKING:
    from windtunnel.cloud.pipeline import Cloud

__all__ = ["StsProvider", "user_id_of"]

logger = logging.getLogger(__name__)

_ALLOW_EVERYTHING = {"Version": "2012-10-17",
                     "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
_ACCESS_KEY = re.compile(r"<AccessKeyId>([^<]+)</AccessKeyId>")
_SECRET_KEY = re.compile(r"<SecretAccessKey>([^<]+)</SecretAccessKey>")
_SESSION_TOKEN = re.compile(r"<SessionToken>([^<]+)</SessionToken>")
# A role session name: 2 to 64 characters of letters, digits and =,.@-_ (the API reference).
_SESSION_NAME = re.compile(r"[\w+=,.@-]{2,64}")


class StsProvider:
    """Handles AssumeRole and GetCallerIdentity; leaves the other STS operations to moto."""

    service = "sts"

    def __init__(self, cloud: Cloud) -> None:
        self.cloud = cloud

    def handle(self, request: AwsRequest) -> AwsResponse | None:
        """Handle AssumeRole and GetCallerIdentity; return None for other operations."""
        parameters = request.query_parameters()
        operation = parameters.get("Action") or request.operation
        principal: Principal = request.context["principal"]
        if operation == "GetCallerIdentity":
            return self.get_caller_identity(principal)
        if operation == "AssumeRole":
            return self.assume_role(request, parameters, principal)
        return None

    def get_caller_identity(self, principal: Principal) -> AwsResponse:
        """Name the authenticated principal, as STS GetCallerIdentity does."""
        return render_query_response("sts", "GetCallerIdentity", {
            "UserId": user_id_of(principal), "Account": principal.account,
            "Arn": principal.arn})

    def assume_role(self, request: AwsRequest, parameters: dict[str, str],
                    principal: Principal) -> AwsResponse | None:
        """Check the trust policy, then let moto issue the credentials and register them."""
        role_arn = parameters.get("RoleArn", "")
        session_name = parameters.get("RoleSessionName", "")
        if not _SESSION_NAME.fullmatch(session_name):
            raise AwsError(
                "ValidationError",
                f"1 validation error detected: Value '{session_name}' at 'roleSessionName' "
                "failed to satisfy constraint: Member must satisfy regular expression "
                r"pattern: [\w+=,.@-]*")
        role = find_role(iam_backend(self.cloud.account_id), role_arn)
        session_policies = _session_policies(self.cloud.account_id, parameters)
        if role is None and self.cloud.authorizer.mode is not IamMode.OFF:
            # STS treats a role that does not exist like one whose trust policy denies the caller.
            raise AccessDenied("sts", f"User: {principal.arn} is not authorized to perform: "
                                      f"sts:AssumeRole on resource: {role_arn}")
        if role is not None:
            self._check_trust(principal, role, request)
        response = self.cloud.dispatch_to_moto(request)
        body = response.body.decode("utf-8", "replace")
        match = _ACCESS_KEY.search(body)
        secret = _SECRET_KEY.search(body)
        token = _SESSION_TOKEN.search(body)
        if response.status < 400 and match and role is not None:
            self.cloud.authorizer.register_session(match.group(1), RoleSession(
                role.arn, session_name, session_policies=tuple(session_policies),
                secret_key=secret.group(1) if secret else None,
                session_token=token.group(1) if token else None))
        return response

    def _check_trust(self, principal: Principal, role: Any, request: AwsRequest) -> None:
        authorizer = self.cloud.authorizer
        if authorizer.mode is IamMode.OFF:
            return
        authorization = AuthorizationRequest(
            principal=principal.arn, action="sts:AssumeRole", resource=role.arn,
            context={"aws:SecureTransport": True, "aws:CurrentTime": authorizer.clock(),
                     "aws:RequestedRegion": request.region},
            principal_type=principal.kind, account=principal.account,
            role_arn=principal.role_arn)
        if principal.admin:
            identity: list[Any] = [_ALLOW_EVERYTHING]
            boundary = None
            sessions: list[Any] = []
        else:
            grants = authorizer.grants_of(principal)
            identity, boundary, sessions = (list(grants.identity), grants.boundary,
                                            list(grants.sessions))
        trust = json.loads(role.assume_role_policy_document)
        decision = evaluate_trust(authorization, identity, trust,
                                  permissions_boundary=boundary,
                                  session_policies=sessions or None)
        authorizer.record(principal, "sts", "AssumeRole", authorization, decision)
        if not decision.allowed and authorizer.mode is IamMode.ENFORCE:
            # STS names the caller, the action and the role, without a reason.
            raise AccessDenied("sts", f"User: {principal.arn} is not authorized to perform: "
                                      f"sts:AssumeRole on resource: {role.arn}")


def user_id_of(principal: Principal) -> str:
    """Return the principal's user ID: ``AROA...:<session>`` for role sessions, else ``AIDA...``."""
    if principal.kind is PrincipalType.ROLE_SESSION and principal.role_arn:
        session_name = principal.arn.rsplit("/", 1)[-1]
        return f"{_unique_id('AROA', principal.role_arn)}:{session_name}"
    return _unique_id("AIDA", principal.arn)


def _unique_id(prefix: str, arn: str) -> str:
    digest = hashlib.sha256(arn.encode()).hexdigest().upper()
    return prefix + digest[:17]


def _session_policies(account_id: str, parameters: dict[str, str]) -> list[dict[str, Any]]:
    """Read the inline session policy and the managed ones that ``PolicyArns`` names."""
    policies: list[dict[str, Any]] = []
    inline = parameters.get("Policy")
    if inline:
        try:
            document = json.loads(inline)
            parse_policy(document, PolicyKind.IDENTITY)
        except (ValueError, MalformedPolicyError) as error:
            raise AwsError("MalformedPolicyDocument",
                           f"The session policy is not valid: {error}") from None
        policies.append(document)
    backend = iam_backend(account_id)
    index = 1
    while f"PolicyArns.member.{index}.arn" in parameters:
        arn = parameters[f"PolicyArns.member.{index}.arn"]
        managed = backend.managed_policies.get(arn)
        if managed is None:
            raise AwsError("InvalidParameterValue",
                           f"The policy {arn} does not exist or is not attachable.")
        policies.append(json.loads(default_document(managed)))
        index += 1
    return policies
