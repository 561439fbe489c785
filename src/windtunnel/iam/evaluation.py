"""Decide whether a request is allowed, following IAM's policy evaluation logic.

Source: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-denyallow.html
and the permissions boundary page
https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html

Order of evaluation:

1. A matching ``Deny`` statement in any policy is an explicit deny, and it is final.
2. The account root user is allowed everything else.
3. Within one account, the request is allowed when an identity-based policy allows it and
   neither the permissions boundary nor the session policies (when present) leave it out.
   A resource-based policy can also allow it on its own: when it names the IAM user, the
   role session or the federated user session itself, implicit denies elsewhere do not
   matter. When it names the role behind a session, the boundary and the session policies
   still have to allow the request.
4. Across accounts, both an identity-based allow (limited as above) and a resource-based
   allow are needed.
5. Anything else is an implicit deny.

Limitations: service control policies, resource control policies and VPC endpoint
policies are not evaluated. ``CanonicalUser`` principals (S3 only) never match, because a
request carries no canonical user ID. Trust policies are matched like any resource-based
policy; the identity-provider checks of AssumeRoleWithWebIdentity and AssumeRoleWithSAML
are not modeled.
"""

from __future__ import annotations

import enum
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from windtunnel.iam.conditions import condition_matches
from windtunnel.iam.policy import Effect, Policy, PolicyKind, PrincipalSet, Statement, parse_policy
from windtunnel.iam.request import AuthorizationRequest, PrincipalType
from windtunnel.iam.variables import ContextValues, resolve
from windtunnel.iam.wildcards import match_any_written, match_pattern

__all__ = ["Decision", "MatchedStatement", "PolicyType", "Reason", "evaluate", "evaluate_trust"]

logger = logging.getLogger(__name__)

PolicyInput = Mapping[str, Any] | Policy

_ROOT_ARN = re.compile(r"arn:[\w-]+:iam::(\d{12}):root")


class Reason(enum.Enum):
    """The reason for a decision: an allow, an explicit deny or an implicit deny."""

    ALLOWED = "allowed"
    EXPLICIT_DENY = "explicit deny"
    IMPLICIT_DENY = "implicit deny"


class PolicyType(enum.Enum):
    """The kinds of policy that take part in a decision, named as AWS error messages do."""

    IDENTITY = "identity-based policy"
    RESOURCE = "resource-based policy"
    PERMISSIONS_BOUNDARY = "permissions boundary"
    SESSION = "session policy"


@dataclass(frozen=True)
class MatchedStatement:
    """A statement that applies to the request, and where it comes from.

    ``policy_index`` is the position in ``identity_policies`` or ``session_policies`` and
    0 for the single resource policy or boundary.
    """

    policy_type: PolicyType
    policy_index: int
    statement: Statement


@dataclass(frozen=True)
class Decision:
    """The result of :func:`evaluate`.

    For an explicit deny, ``matched_statements`` lists the ``Deny`` statements that apply
    and ``policy_type`` the kind of policy of the first. For an allow it lists the ``Allow``
    statements that granted it. For an implicit deny it is empty and ``policy_type`` names
    the kind of policy that had no matching ``Allow``.
    """

    allowed: bool
    reason: Reason
    matched_statements: tuple[MatchedStatement, ...] = ()
    policy_type: PolicyType | None = None

    def message(self, request: AuthorizationRequest) -> str:
        """Render the decision as the sentence AWS puts in an AccessDenied error.

        NOTE: the wording approximates AWS's AccessDenied messages, which differ between
        services, and is not yet checked against a recorded response.
        """
        if self.allowed:
            return (f"{request.principal} is allowed to perform: {request.action} "
                    f"on resource: {request.resource}")
        head = (f"User: {request.principal} is not authorized to perform: {request.action} "
                f"on resource: {request.resource}")
        kind = self.policy_type.value if self.policy_type else PolicyType.IDENTITY.value
        if self.reason is Reason.EXPLICIT_DENY:
            article = "an" if kind[0] in "aeiou" else "a"
            return f"{head} with an explicit deny in {article} {kind}"
        return f"{head} because no {kind} allows the {request.action} action"


class _Grant(enum.IntEnum):
    """The directness of a resource-based grant to the caller; higher is more direct."""

    ACCOUNT = 1
    ROLE = 2
    DIRECT = 3


def _as_policy(document: PolicyInput, kind: PolicyKind) -> Policy:
    return document if isinstance(document, Policy) else parse_policy(document, kind)


def _action_matches(statement: Statement, action: str) -> bool:
    if statement.actions is not None:
        return match_any_written(statement.actions, action, ignore_case=True)
    assert statement.not_actions is not None
    return not match_any_written(statement.not_actions, action, ignore_case=True)


def _any_resource_matches(patterns: Sequence[str], resource: str, context: ContextValues,
                          variables: bool) -> bool:
    for text in patterns:
        pattern = resolve(text, context, variables=variables)
        # NOTE: an entry whose variable has no value matches nothing, which also makes
        # it exclude nothing under NotResource; AWS does not document that case.
        # The whole ARN is matched at once because a "*" at the end of an ARN segment may
        # extend past the colon, as the Resource element documentation states.
        if pattern is not None and match_pattern(pattern, resource):
            return True
    return False


def _resource_matches(statement: Statement, policy: Policy, resource: str,
                      context: ContextValues) -> bool:
    variables = policy.supports_variables
    if statement.resources is not None:
        return _any_resource_matches(statement.resources, resource, context, variables)
    if statement.not_resources is not None:
        return not _any_resource_matches(statement.not_resources, resource, context, variables)
    return True  # a resource-based policy without Resource covers the resource it is on


def _principal_names(principals: PrincipalSet) -> set[str]:
    """Collect the AWS and federated names, writing an account root ARN as the account ID.

    The two forms name the same account, as the Principal element documentation states.
    """
    names: set[str] = set(principals.federated)
    for name in principals.aws:
        root = _ROOT_ARN.fullmatch(name)
        names.add(root.group(1) if root else name)
    return names


def _listed(principals: PrincipalSet, request: AuthorizationRequest) -> list[_Grant]:
    """Return how each of the caller's names is listed in ``principals``."""
    if principals.everyone:
        return [_Grant.DIRECT]
    if request.kind is PrincipalType.SERVICE:
        return [_Grant.DIRECT] if request.principal in principals.service else []
    listed_names = _principal_names(principals)
    grants = {"direct": _Grant.DIRECT, "role": _Grant.ROLE, "account": _Grant.ACCOUNT}
    return [grants[kind] for kind, name in request.identities() if name in listed_names]


def _principal_grant(statement: Statement, request: AuthorizationRequest,
                     has_boundary: bool) -> _Grant | None:
    if statement.principals is not None:
        listed = _listed(statement.principals, request)
        return max(listed) if listed else None
    if statement.not_principals is None:
        return _Grant.DIRECT  # identity-based statements name no principal
    if has_boundary and statement.effect is Effect.DENY:
        # AWS documents that a Deny with NotPrincipal always denies a principal that has
        # a permissions boundary, whatever NotPrincipal lists.
        return _Grant.DIRECT
    names = request.identities() or [("direct", "*")]
    excluded = _principal_names(statement.not_principals)
    if statement.not_principals.everyone:
        return None
    if request.kind is PrincipalType.SERVICE:
        excluded = set(statement.not_principals.service)
    # AWS checks the account, then the role, then the session, so NotPrincipal applies
    # when any of those names is not listed. That is why AWS requires the account ARN too.
    if all(name in excluded for _, name in names):
        return None
    return _Grant.DIRECT


@dataclass(frozen=True)
class _Match:
    matched: MatchedStatement
    grant: _Grant


def _matching_statements(policy_type: PolicyType, policies: Sequence[Policy],
                         request: AuthorizationRequest, context: ContextValues,
                         has_boundary: bool) -> list[_Match]:
    matches: list[_Match] = []
    for policy_index, policy in enumerate(policies):
        for statement in policy.statements:
            grant = _principal_grant(statement, request, has_boundary)
            if grant is None:
                continue
            if not _action_matches(statement, request.action):
                continue
            if not _resource_matches(statement, policy, request.resource, context):
                continue
            if not all(condition_matches(c.operator, c.key, c.values, context,
                                         variables=policy.supports_variables)
                       for c in statement.conditions):
                continue
            matched = MatchedStatement(policy_type, policy_index, statement)
            matches.append(_Match(matched, grant))
    return matches


def _with_effect(matches: Sequence[_Match], effect: Effect) -> list[_Match]:
    return [m for m in matches if m.matched.statement.effect is effect]


def _statements(*groups: Sequence[_Match]) -> tuple[MatchedStatement, ...]:
    return tuple(m.matched for group in groups for m in group)


def evaluate(
    request: AuthorizationRequest,
    identity_policies: Sequence[PolicyInput],
    *,
    resource_policy: PolicyInput | None = None,
    permissions_boundary: PolicyInput | None = None,
    session_policies: Sequence[PolicyInput] | None = None,
) -> Decision:
    """Decide whether ``request`` is allowed by the policies that apply to it.

    ``identity_policies`` are the caller's inline and attached managed policies, including
    those of its groups. ``session_policies`` are the policies passed when the session was
    created; None or an empty list means no session policy limits the session. Policies
    are decoded JSON documents or already parsed :class:`Policy` objects. Raises
    :class:`~windtunnel.iam.errors.MalformedPolicyError` for an invalid document and
    ValueError when a service principal or anonymous caller is given identity-side policies.
    """
    if request.kind in (PrincipalType.SERVICE, PrincipalType.ANONYMOUS) and (
            identity_policies or permissions_boundary or session_policies):
        raise ValueError(
            f"{request.principal!r} is a {request.kind.name.lower()} principal, which has no "
            "identity-based policies, permissions boundary or session policies; pass only "
            "resource_policy")
    has_boundary = permissions_boundary is not None
    context = request.context_values()
    groups: dict[PolicyType, list[_Match]] = {}
    inputs: list[tuple[PolicyType, PolicyKind, Sequence[PolicyInput]]] = [
        (PolicyType.IDENTITY, PolicyKind.IDENTITY, identity_policies),
        (PolicyType.RESOURCE, PolicyKind.RESOURCE,
         [resource_policy] if resource_policy is not None else []),
        (PolicyType.PERMISSIONS_BOUNDARY, PolicyKind.IDENTITY,
         [permissions_boundary] if permissions_boundary is not None else []),
        (PolicyType.SESSION, PolicyKind.IDENTITY, session_policies or []),
    ]
    for policy_type, kind, documents in inputs:
        policies = [_as_policy(document, kind) for document in documents]
        groups[policy_type] = _matching_statements(policy_type, policies, request, context,
                                                   has_boundary)

    denies = [m for group in groups.values() for m in _with_effect(group, Effect.DENY)]
    if denies:
        decision = Decision(False, Reason.EXPLICIT_DENY, _statements(denies),
                            denies[0].matched.policy_type)
    elif request.kind is PrincipalType.ROOT:
        decision = Decision(True, Reason.ALLOWED)
    else:
        decision = _decide_allow(request, groups, has_boundary, bool(session_policies))
    logger.debug("%s %s on %s: %s", request.principal, request.action, request.resource,
                 decision.reason.value)
    return decision


def _decide_allow(request: AuthorizationRequest, groups: Mapping[PolicyType, list[_Match]],
                  has_boundary: bool, has_session_policies: bool) -> Decision:
    identity = _with_effect(groups[PolicyType.IDENTITY], Effect.ALLOW)
    resource = _with_effect(groups[PolicyType.RESOURCE], Effect.ALLOW)
    boundary = _with_effect(groups[PolicyType.PERMISSIONS_BOUNDARY], Effect.ALLOW)
    session = _with_effect(groups[PolicyType.SESSION], Effect.ALLOW)

    # The policy type whose missing Allow limits identity-based permissions, if any.
    limit: PolicyType | None = None
    if has_boundary and not boundary:
        limit = PolicyType.PERMISSIONS_BOUNDARY
    elif has_session_policies and not session:
        limit = PolicyType.SESSION
    identity_allowed = bool(identity) and limit is None
    identity_statements = _statements(identity, boundary, session) if identity_allowed else ()

    if not request.same_account:
        if identity_allowed and resource:
            return Decision(True, Reason.ALLOWED, identity_statements + _statements(resource))
        missing = PolicyType.RESOURCE if identity_allowed else (limit or PolicyType.IDENTITY)
        return Decision(False, Reason.IMPLICIT_DENY, (), missing)

    if identity_allowed:
        return Decision(True, Reason.ALLOWED, identity_statements)
    direct = [m for m in resource if m.grant is _Grant.DIRECT]
    if direct:
        return Decision(True, Reason.ALLOWED, _statements(direct))
    to_role = [m for m in resource if m.grant is _Grant.ROLE]
    if to_role and limit is None:
        return Decision(True, Reason.ALLOWED, _statements(to_role, boundary, session))
    # Naming the account (its ID or root ARN) delegates to the account, so its identity
    # policies decide. NOTE: AWS documents this for other accounts; the same-account case
    # is assumed to behave alike.
    if identity or to_role:
        return Decision(False, Reason.IMPLICIT_DENY, (), limit)
    missing_type = PolicyType.RESOURCE if request.kind in (
        PrincipalType.SERVICE, PrincipalType.ANONYMOUS) else PolicyType.IDENTITY
    return Decision(False, Reason.IMPLICIT_DENY, (), missing_type)


def evaluate_trust(
    request: AuthorizationRequest,
    identity_policies: Sequence[PolicyInput],
    trust_policy: PolicyInput,
    *,
    permissions_boundary: PolicyInput | None = None,
    session_policies: Sequence[PolicyInput] | None = None,
) -> Decision:
    """Decide whether the caller may assume a role (``sts:AssumeRole`` and its kin).

    Unlike other resource-based policies, a role's trust policy must always allow the
    caller. When it names the caller itself (the user or the role session), that is
    enough within the account. When it names the caller's account or the role behind the
    session, the caller's identity-based policies must allow the action too, limited by a
    permissions boundary and session policies. Across accounts both sides always have to
    allow it. Source:
    https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_terms-and-concepts.html
    (trust policy) and
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html
    """
    has_boundary = permissions_boundary is not None
    context = request.context_values()
    trust = _matching_statements(PolicyType.RESOURCE,
                                 [_as_policy(trust_policy, PolicyKind.RESOURCE)],
                                 request, context, has_boundary)
    full = evaluate(request, identity_policies, resource_policy=trust_policy,
                    permissions_boundary=permissions_boundary,
                    session_policies=session_policies)
    if full.reason is Reason.EXPLICIT_DENY:
        return full
    trusted = _with_effect(trust, Effect.ALLOW)
    if not trusted:
        return Decision(False, Reason.IMPLICIT_DENY, (), PolicyType.RESOURCE)
    direct = [m for m in trusted if m.grant is _Grant.DIRECT]
    if direct and request.same_account and request.kind is not PrincipalType.ROOT:
        return Decision(True, Reason.ALLOWED, _statements(direct))
    identity_side = evaluate(request, identity_policies,
                             permissions_boundary=permissions_boundary,
                             session_policies=session_policies)
    if identity_side.allowed:
        return Decision(True, Reason.ALLOWED,
                        identity_side.matched_statements + _statements(trusted))
    return identity_side
