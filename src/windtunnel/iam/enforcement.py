"""Enforce IAM in the embedded cloud: find the caller's policies, decide, deny as AWS does.

Every request signed with credentials that windtunnel issued (a function's execution role
session, a session from ``AssumeRole``, an IAM user's access key) is checked against the
caller's policies with :func:`windtunnel.iam.evaluate`, one check per action and resource
the request needs. Requests signed with any other credentials come from the administrator
principal, which is allowed everything, so test code with dummy credentials keeps working.

Modes: ``enforce`` denies what AWS denies, ``warn`` lets the request through and records
the denial for the report, ``off`` checks nothing.

Limitations: service control policies, VPC endpoint policies and the identity-provider
checks of web identity and SAML federation are not evaluated. The administrator principal
is not subject to resource-based policies.
"""

from __future__ import annotations

import enum
import functools
import json
import logging
import threading
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from windtunnel.iam.evaluation import Decision, evaluate
from windtunnel.iam.policy import Policy, PolicyKind, parse_policy
from windtunnel.iam.records import DecisionRecord
from windtunnel.iam.request import AuthorizationRequest, ContextValue, PrincipalType

if TYPE_CHECKING:
    from windtunnel.cloud.messages import AwsRequest
    from windtunnel.iam.operations import AccessCheck

__all__ = [
    "AccessDenied",
    "Authorizer",
    "Grants",
    "IamMode",
    "Principal",
    "RoleSession",
    "default_document",
    "find_role",
    "iam_backend",
]

logger = logging.getLogger(__name__)

# How many decisions the authorizer keeps for the report; older ones are dropped first.
_MAX_RECORDED_DECISIONS = 100_000

_ADMIN_USER_NAME = "windtunnel-admin"


class IamMode(enum.Enum):
    """The way the embedded cloud applies IAM decisions: enforce, warn or off."""

    ENFORCE = "enforce"
    """Deny what AWS denies, with AWS's error."""
    WARN = "warn"
    """Allow every request, and record what AWS would deny for the report."""
    OFF = "off"
    """Check nothing and record nothing."""

    @classmethod
    def parse(cls, value: str | IamMode) -> IamMode:
        """Read a mode from its name, as given in options and settings."""
        if isinstance(value, IamMode):
            return value
        try:
            return cls(value.strip().lower())
        except ValueError:
            names = ", ".join(mode.value for mode in cls)
            raise ValueError(f"invalid IAM mode {value!r}: use one of {names}") from None


@dataclass(frozen=True)
class RoleSession:
    """Temporary credentials that windtunnel issued for a role.

    ``function_name`` is set for the sessions of Lambda execution roles, whose session name
    is the function name as in AWS. ``session_policies`` are the policies passed to
    ``AssumeRole`` (inline ``Policy`` and the documents of ``PolicyArns``).
    """

    role_arn: str
    session_name: str
    function_name: str | None = None
    session_policies: tuple[Mapping[str, Any], ...] = ()
    secret_key: str | None = field(default=None, repr=False)
    """The secret access key, to verify signatures made with the session's credentials."""
    session_token: str | None = field(default=None, repr=False)
    """The session token that requests with these credentials must carry."""

    @property
    def arn(self) -> str:
        """The session's ARN: ``arn:aws:sts::<account>:assumed-role/<role name>/<session>``."""
        partition, account, role_name = _role_parts(self.role_arn)
        return f"arn:{partition}:sts::{account}:assumed-role/{role_name}/{self.session_name}"


@dataclass(frozen=True)
class Principal:
    """The authenticated caller of a request."""

    arn: str
    kind: PrincipalType
    account: str
    role_arn: str | None = None
    function_name: str | None = None
    session_policies: tuple[Mapping[str, Any], ...] = ()
    admin: bool = False


@dataclass
class AccessDenied(Exception):
    """A request that IAM denies; the pipeline renders it in the service's error shape."""

    service: str
    message: str

    def __str__(self) -> str:
        return self.message


@dataclass
class Grants:
    """The parsed identity-side policies of one principal."""

    identity: tuple[Policy, ...]
    boundary: Policy | None
    sessions: tuple[Policy, ...] = ()


@dataclass
class _Cache:
    generation: int = 0
    grants: dict[str, Grants] = field(default_factory=dict)
    service_decisions: dict[tuple[str, ...], Decision] = field(default_factory=dict)
    """Decisions on deliveries by a service principal, by request and resource policy."""


def _role_parts(role_arn: str) -> tuple[str, str, str]:
    """Split a role ARN into partition, account and role name (the last path segment)."""
    parts = role_arn.split(":", 5)
    return parts[1], parts[4], parts[5].rsplit("/", 1)[-1]


@functools.lru_cache(maxsize=4096)
def _parse_document(text: str, kind: PolicyKind) -> Policy:
    return parse_policy(json.loads(text), kind)


def _parse(document: str | Mapping[str, Any], kind: PolicyKind) -> Policy:
    if isinstance(document, str):
        return _parse_document(document, kind)
    return parse_policy(document, kind)


class Authorizer:
    """The authorization stage of the embedded cloud's pipeline.

    ``clock`` returns the current time for ``aws:CurrentTime`` and ``aws:EpochTime``; the
    stack passes its virtual clock.
    """

    def __init__(self, account_id: str, *, mode: IamMode | str = IamMode.ENFORCE,
                 clock: Callable[[], datetime] | None = None) -> None:
        self.account_id = account_id
        self.mode = IamMode.parse(mode)
        self.clock = clock or (lambda: datetime.now(UTC))
        self.records: deque[DecisionRecord] = deque(maxlen=_MAX_RECORDED_DECISIONS)
        self.sessions: dict[str, RoleSession] = {}
        """Access keys that windtunnel issued to role sessions, by key ID."""
        self._cache = _Cache()
        self._lock = threading.Lock()

    # --- principals ------------------------------------------------------------------

    def register_session(self, access_key: str, session: RoleSession) -> None:
        """Remember that ``access_key`` signs as ``session``."""
        self.sessions[access_key] = session

    def principal_for(self, access_key: str | None) -> Principal:
        """Return the principal that signs with ``access_key``.

        Keys of role sessions and of IAM users in the embedded IAM name their owner; every
        other key is the administrator.
        """
        session = self.sessions.get(access_key or "")
        if session is not None:
            return Principal(session.arn, PrincipalType.ROLE_SESSION,
                             _role_parts(session.role_arn)[1], role_arn=session.role_arn,
                             function_name=session.function_name,
                             session_policies=session.session_policies)
        user = _user_of_access_key(self.account_id, access_key) if access_key else None
        if user is not None:
            return Principal(user.arn, PrincipalType.USER, self.account_id)
        return self.admin

    def issued_credentials(self, access_key: str) -> tuple[str, str | None] | None:
        """Return the secret and session token of a key that windtunnel issued or that an
        IAM user has, or None for any other key.

        Signatures made with other keys (the administrator's) are not verified.
        """
        session = self.sessions.get(access_key)
        if session is not None:
            if session.secret_key is None:
                return None
            return session.secret_key, session.session_token
        backend = iam_backend(self.account_id)
        for user in backend.users.values():
            for key in user.access_keys:
                if key.access_key_id == access_key:
                    return str(key.secret_access_key), None
        return None

    def secret_key_of(self, access_key: str) -> str | None:
        """Return the secret of a key that windtunnel issued or that an IAM user has."""
        issued = self.issued_credentials(access_key)
        return issued[0] if issued is not None else None

    @property
    def admin(self) -> Principal:
        """The administrator principal of tests and of requests with other credentials."""
        return Principal(f"arn:aws:iam::{self.account_id}:user/{_ADMIN_USER_NAME}",
                         PrincipalType.USER, self.account_id, admin=True)

    def invalidate(self) -> None:
        """Forget cached policies, after IAM changed or the cloud's state was restored."""
        with self._lock:
            self._cache = _Cache(self._cache.generation + 1)

    # --- decisions -------------------------------------------------------------------

    def authorize(self, request: AwsRequest, principal: Principal) -> None:
        """Check every action ``request`` needs; raise :class:`AccessDenied` on a denial.

        The administrator and the ``off`` mode skip the checks.
        """
        if principal.admin or self.mode is IamMode.OFF:
            return
        from windtunnel.iam.operations import access_checks

        checks = access_checks(request, self.account_id)
        request.context["access_checks"] = checks
        context = self._global_context(request)
        for check in checks:
            if check.action.lower() == "sts:assumerole":
                continue  # the STS provider evaluates the trust policy with the identity side
            decision, authorization = self.decide(principal, check, context)
            self.record(principal, request.service, request.operation, authorization,
                         decision)
            if not decision.allowed and self.mode is IamMode.ENFORCE:
                raise AccessDenied(request.service, decision.message(authorization))

    def may_list_bucket_of(self, request: AwsRequest, principal: Principal) -> bool:
        """Tell whether the caller of an object read may list the object's bucket.

        S3 returns 404 for a missing key only to callers allowed ``s3:ListBucket``; others
        get 403, so that they cannot learn which keys exist:
        https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html (Permissions)
        """
        if principal.admin or self.mode is not IamMode.ENFORCE:
            return True
        from windtunnel.iam.operations import AccessCheck as Check

        reads = [check for check in request.context.get("access_checks", ())
                 if check.action == "s3:GetObject"]
        if not reads:
            return True
        bucket_arn = reads[0].resource.split("/", 1)[0]
        decision, authorization = self.decide(principal, Check("s3:ListBucket", bucket_arn),
                                              self._global_context(request))
        self.record(principal, "s3", "ListBucket", authorization, decision)
        return decision.allowed

    def decide(self, principal: Principal, check: AccessCheck,
               global_context: Mapping[str, ContextValue] | None = None, *,
               resource_policy: Mapping[str, Any] | None = None,
               ) -> tuple[Decision, AuthorizationRequest]:
        """Evaluate one check for ``principal``; return the decision and the request.

        ``resource_policy`` replaces the policy looked up for the check's resource, for
        resources whose policy the lookup does not know (an API's resource policy).
        """
        context: dict[str, ContextValue] = dict(global_context or {})
        context.update(check.context)
        authorization = AuthorizationRequest(
            principal=principal.arn, action=check.action, resource=check.resource,
            context=context, principal_type=principal.kind, account=principal.account,
            role_arn=principal.role_arn)
        grants = self.grants_of(principal)
        policy = resource_policy if resource_policy is not None else _resource_policy(
            check.resource)
        decision = evaluate(authorization, grants.identity,
                            resource_policy=policy,
                            permissions_boundary=grants.boundary,
                            session_policies=grants.sessions or None)
        return decision, authorization

    def authorize_service(self, service_principal: str, action: str, resource: str, *,
                          source_arn: str | None = None,
                          source_account: str | None = None) -> bool:
        """Decide whether a service may act on ``resource`` for a delivery; record it.

        The resource's resource-based policy must allow the service principal, as for
        SNS delivering to an SQS queue or EventBridge invoking a function. Returns True
        when the delivery may go ahead (always in ``warn`` and ``off`` modes).
        """
        if self.mode is IamMode.OFF:
            return True
        context: dict[str, ContextValue] = {
            "aws:SecureTransport": True,
            "aws:CurrentTime": self.clock(),
        }
        if source_arn is not None:
            context["aws:SourceArn"] = source_arn
        context["aws:SourceAccount"] = source_account or self.account_id
        authorization = AuthorizationRequest(
            principal=service_principal, action=action, resource=resource, context=context,
            principal_type=PrincipalType.SERVICE)
        policy = _resource_policy(resource)
        # The same delivery under the same resource policy gets the same decision, unless
        # the policy reads the time; API Gateway and event targets repeat deliveries often.
        policy_text = json.dumps(policy, sort_keys=True, default=str) if policy else ""
        key = (service_principal, action, resource, source_arn or "",
               source_account or "", policy_text)
        cache = self._cache
        decision = None if "Date" in policy_text else cache.service_decisions.get(key)
        if decision is None:
            decision = evaluate(authorization, [], resource_policy=policy)
            if "Date" not in policy_text:
                cache.service_decisions[key] = decision
        principal = Principal(service_principal, PrincipalType.SERVICE, "")
        self.record(principal, action.split(":", 1)[0], None, authorization, decision)
        return decision.allowed or self.mode is IamMode.WARN

    def _global_context(self, request: AwsRequest) -> dict[str, ContextValue]:
        now = self.clock()
        # NOTE: requests reach the local endpoint over plain HTTP too, but the same code
        # calls AWS over HTTPS, so aws:SecureTransport is true as it would be there.
        return {
            "aws:SecureTransport": True,
            "aws:CurrentTime": now,
            "aws:EpochTime": int(now.timestamp()),
            "aws:RequestedRegion": request.region,
            "aws:SourceIp": str(request.context.get("source_ip", "127.0.0.1")),
        }

    def record(self, principal: Principal, service: str, operation: str | None,
               authorization: AuthorizationRequest, decision: Decision) -> None:
        """Keep ``decision`` for the least-privilege report."""
        if not decision.allowed and self.mode is IamMode.WARN:
            logger.warning("IAM would deny (warn mode): %s", decision.message(authorization))
        elif not decision.allowed:
            logger.info("IAM denied: %s", decision.message(authorization))
        self.records.append(DecisionRecord(
            principal=principal.arn,
            role_arn=principal.role_arn,
            function_name=principal.function_name,
            service=service,
            operation=operation,
            action=authorization.action,
            resource=authorization.resource,
            allowed=decision.allowed,
            reason=decision.reason,
            enforced=self.mode is IamMode.ENFORCE,
            matched_statements=decision.matched_statements,
            policy_type=decision.policy_type,
        ))

    # --- policies --------------------------------------------------------------------

    def grants_of(self, principal: Principal) -> Grants:
        """Return the parsed identity-side policies of ``principal``, cached until IAM changes."""
        cache = self._cache
        grants = cache.grants.get(principal.arn)
        if grants is None:
            grants = self._load_grants(principal)
            with self._lock:
                if cache is self._cache:
                    cache.grants[principal.arn] = grants
        return grants

    def _load_grants(self, principal: Principal) -> Grants:
        backend = iam_backend(self.account_id)
        sessions = tuple(_parse(document, PolicyKind.IDENTITY)
                         for document in principal.session_policies)
        if principal.kind is PrincipalType.ROLE_SESSION and principal.role_arn:
            role = find_role(backend, principal.role_arn)
            if role is None:
                # A deleted role's sessions keep their keys but have no permissions.
                return Grants((), None, sessions)
            identity = _owner_policies(role)
            boundary = _managed_document(backend, role.permissions_boundary_arn)
            return Grants(identity, boundary, sessions)
        user = backend.users.get(principal.arn.rsplit("/", 1)[-1])
        if user is None:
            return Grants((), None, sessions)
        identity = _owner_policies(user)
        for group in backend.groups.values():
            if any(member is user for member in group.users):
                identity += _owner_policies(group)
        boundary_arn = getattr(user, "permissions_boundary", None)
        return Grants(identity, _managed_document(backend, boundary_arn), sessions)


def _owner_policies(owner: Any) -> tuple[Policy, ...]:
    """Parse the inline and attached managed policies of a moto role, user or group."""
    policies = [_parse(document, PolicyKind.IDENTITY) for document in owner.policies.values()]
    for managed in owner.managed_policies.values():
        policies.append(_parse(default_document(managed), PolicyKind.IDENTITY))
    return tuple(policies)


def default_document(managed: Any) -> str:
    """Return the text of the default version of a moto managed policy."""
    for version in managed.versions:
        if version.is_default:
            return str(version.document)
    return str(managed.versions[-1].document)


def _managed_document(backend: Any, policy_arn: str | None) -> Policy | None:
    if not policy_arn:
        return None
    managed = backend.managed_policies.get(policy_arn)
    if managed is None:
        # AWS refuses a boundary that does not exist when it is set; a boundary whose
        # policy was deleted later allows nothing.
        return parse_policy({"Version": "2012-10-17", "Statement": []}, PolicyKind.IDENTITY)
    return _parse(default_document(managed), PolicyKind.IDENTITY)


def iam_backend(account_id: str) -> Any:
    """Return moto's IAM backend of the account (IAM is global, in partition aws)."""
    from moto.iam.models import iam_backends

    return iam_backends[account_id]["aws"]


def find_role(backend: Any, role_arn: str) -> Any:
    """Return the moto role with ``role_arn``, or None."""
    for role in backend.roles.values():
        if role.arn == role_arn:
            return role
    return None


def _user_of_access_key(account_id: str, access_key: str) -> Any:
    backend = iam_backend(account_id)
    if not backend.users:
        return None
    return backend.get_user_from_access_key_id(access_key)


def _resource_policy(resource_arn: str) -> Mapping[str, Any] | Policy | None:
    if resource_arn == "*":
        return None
    from windtunnel.iam.resource_policies import resource_policy_of

    return resource_policy_of(resource_arn)
