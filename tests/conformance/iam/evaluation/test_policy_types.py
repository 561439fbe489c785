"""How identity-based, resource-based, boundary and session policies combine.

Each case lists the policies in force, the request and AWS's decision. Sources:
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-denyallow.html
https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from windtunnel.iam import AuthorizationRequest, PolicyType, Reason, evaluate

DOCS = "https://docs.aws.amazon.com/IAM/latest/UserGuide/"
LOGIC = DOCS + "reference_policies_evaluation-logic_policy-eval-denyallow.html"
BASICS = DOCS + "reference_policies_evaluation-logic_policy-eval-basics.html"
CROSS_ACCOUNT = DOCS + "reference_policies_evaluation-logic-cross-account.html"
NOT_ACTION = DOCS + "reference_policies_elements_notaction.html"
NOT_RESOURCE = DOCS + "reference_policies_elements_notresource.html"
BOUNDARIES = DOCS + "access_policies_boundaries.html"
SESSION = DOCS + "id_credentials_temp_control-access_assumerole.html"
PRINCIPAL = DOCS + "reference_policies_elements_principal.html"
NOT_PRINCIPAL = DOCS + "reference_policies_elements_notprincipal.html"

ACCOUNT = "111122223333"
OTHER_ACCOUNT = "444455556666"
USER = f"arn:aws:iam::{ACCOUNT}:user/alice"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/app"
SESSION_ARN = f"arn:aws:sts::{ACCOUNT}:assumed-role/app/s1"
ROOT = f"arn:aws:iam::{ACCOUNT}:root"
QUEUE = f"arn:aws:sqs:us-east-1:{ACCOUNT}:orders"
FOREIGN_QUEUE = f"arn:aws:sqs:us-east-1:{OTHER_ACCOUNT}:orders"
SEND = "sqs:SendMessage"


def identity(effect: str = "Allow", action: str | list[str] | None = SEND,
             resource: str | None = "*", **extra: Any) -> dict[str, Any]:
    """Build a one-statement identity-based policy; None leaves out Action or Resource."""
    statement = {"Effect": effect, "Action": action, "Resource": resource, **extra}
    return {"Version": "2012-10-17",
            "Statement": [{k: v for k, v in statement.items() if v is not None}]}


def resource_policy(principal: Any, effect: str = "Allow", action: str = SEND,
                    **extra: Any) -> dict[str, Any]:
    """Build a one-statement resource-based policy for the queue."""
    element = "NotPrincipal" if extra.pop("negate", False) else "Principal"
    return {"Version": "2012-10-17", "Statement": [
        {"Effect": effect, element: principal, "Action": action, "Resource": "*", **extra}]}


@dataclass
class Case:
    """One row of the table: the policies, the request and AWS's decision."""

    name: str
    principal: str
    expected: Reason
    source: str
    identity_policies: list[dict[str, Any]] = field(default_factory=list)
    resource: dict[str, Any] | None = None
    boundary: dict[str, Any] | None = None
    session: list[dict[str, Any]] | None = None
    target: str = QUEUE
    action: str = SEND
    context: dict[str, Any] = field(default_factory=dict)
    policy_type: PolicyType | None = None


ALLOWED, EXPLICIT, IMPLICIT = Reason.ALLOWED, Reason.EXPLICIT_DENY, Reason.IMPLICIT_DENY
IDENTITY, RESOURCE = PolicyType.IDENTITY, PolicyType.RESOURCE
BOUNDARY, SESSION_POLICY = PolicyType.PERMISSIONS_BOUNDARY, PolicyType.SESSION

CASES = [
    Case("no policies", USER, IMPLICIT, LOGIC, policy_type=IDENTITY),
    Case("identity allow", USER, ALLOWED, LOGIC, [identity()]),
    Case("identity deny beats allow", USER, EXPLICIT, LOGIC,
         [identity(), identity("Deny")], policy_type=IDENTITY),
    Case("deny in another policy", USER, EXPLICIT, LOGIC,
         [identity(), identity("Deny", resource=QUEUE)], policy_type=IDENTITY),
    Case("deny for other resource", USER, ALLOWED, LOGIC,
         [identity(), identity("Deny", resource=FOREIGN_QUEUE)]),
    Case("resource deny beats identity allow", USER, EXPLICIT, LOGIC, [identity()],
         resource=resource_policy({"AWS": USER}, "Deny"), policy_type=RESOURCE),
    Case("resource deny beats resource allow", USER, EXPLICIT, LOGIC,
         resource={"Version": "2012-10-17", "Statement": [
             {"Effect": "Allow", "Principal": "*", "Action": SEND, "Resource": "*"},
             {"Effect": "Deny", "Principal": "*", "Action": SEND, "Resource": "*"}]},
         policy_type=RESOURCE),
    # Permissions boundaries.
    Case("boundary allows", USER, ALLOWED, BOUNDARIES, [identity()], boundary=identity()),
    Case("boundary leaves out", USER, IMPLICIT, BOUNDARIES, [identity()],
         boundary=identity(action="s3:*"), policy_type=BOUNDARY),
    Case("boundary alone grants nothing", USER, IMPLICIT, BOUNDARIES, [],
         boundary=identity(), policy_type=IDENTITY),
    Case("boundary deny", USER, EXPLICIT, BOUNDARIES, [identity()],
         boundary={"Version": "2012-10-17", "Statement": [
             {"Effect": "Allow", "Action": "*", "Resource": "*"},
             {"Effect": "Deny", "Action": SEND, "Resource": "*"}]},
         policy_type=BOUNDARY),
    Case("boundary wildcard action", USER, ALLOWED, BOUNDARIES, [identity()],
         boundary=identity(action="sqs:*")),
    # Session policies.
    Case("session allows", SESSION_ARN, ALLOWED, SESSION, [identity()], session=[identity()]),
    Case("session leaves out", SESSION_ARN, IMPLICIT, SESSION, [identity()],
         session=[identity(action="s3:*")], policy_type=SESSION_POLICY),
    Case("session alone grants nothing", SESSION_ARN, IMPLICIT, SESSION, [],
         session=[identity()], policy_type=IDENTITY),
    Case("any session policy allows", SESSION_ARN, ALLOWED, SESSION, [identity()],
         session=[identity(action="s3:*"), identity()]),
    Case("session deny", SESSION_ARN, EXPLICIT, SESSION, [identity()],
         session=[identity(), identity("Deny")], policy_type=SESSION_POLICY),
    Case("empty session list", SESSION_ARN, ALLOWED, SESSION, [identity()], session=[]),
    Case("boundary and session both allow", SESSION_ARN, ALLOWED, BOUNDARIES, [identity()],
         boundary=identity(), session=[identity()]),
    Case("boundary allows, session not", SESSION_ARN, IMPLICIT, BOUNDARIES, [identity()],
         boundary=identity(), session=[identity(action="s3:*")],
         policy_type=SESSION_POLICY),
    # Resource-based policies in the same account.
    Case("resource names user", USER, ALLOWED, BASICS,
         resource=resource_policy({"AWS": USER})),
    Case("resource names other user", USER, IMPLICIT, BASICS,
         resource=resource_policy({"AWS": f"arn:aws:iam::{ACCOUNT}:user/bob"}),
         policy_type=IDENTITY),
    Case("resource names user despite boundary", USER, ALLOWED, BOUNDARIES,
         resource=resource_policy({"AWS": USER}), boundary=identity(action="s3:*")),
    Case("resource names role", SESSION_ARN, ALLOWED, LOGIC,
         resource=resource_policy({"AWS": ROLE})),
    Case("resource names role, boundary limits", SESSION_ARN, IMPLICIT, BOUNDARIES,
         resource=resource_policy({"AWS": ROLE}), boundary=identity(action="s3:*"),
         policy_type=BOUNDARY),
    Case("resource names role, boundary allows", SESSION_ARN, ALLOWED, BOUNDARIES,
         resource=resource_policy({"AWS": ROLE}), boundary=identity()),
    Case("resource names role, session limits", SESSION_ARN, IMPLICIT, LOGIC,
         resource=resource_policy({"AWS": ROLE}), session=[identity(action="s3:*")],
         policy_type=SESSION_POLICY),
    Case("resource names session despite boundary", SESSION_ARN, ALLOWED, BOUNDARIES,
         resource=resource_policy({"AWS": SESSION_ARN}), boundary=identity(action="s3:*")),
    Case("resource names session despite session policy", SESSION_ARN, ALLOWED, LOGIC,
         resource=resource_policy({"AWS": SESSION_ARN}), session=[identity(action="s3:*")]),
    Case("resource names role in a list", SESSION_ARN, ALLOWED, PRINCIPAL,
         resource=resource_policy({"AWS": [USER, ROLE]})),
    Case("resource names account id, no identity allow", USER, IMPLICIT, PRINCIPAL,
         resource=resource_policy({"AWS": ACCOUNT}), policy_type=IDENTITY),
    Case("resource names root, identity allows", USER, ALLOWED, PRINCIPAL, [identity()],
         resource=resource_policy({"AWS": ROOT})),
    Case("resource allows everyone", USER, ALLOWED, PRINCIPAL,
         resource=resource_policy("*")),
    Case("resource allows AWS star", SESSION_ARN, ALLOWED, PRINCIPAL,
         resource=resource_policy({"AWS": "*"}), boundary=identity(action="s3:*")),
    Case("anonymous allowed by star", "*", ALLOWED, PRINCIPAL,
         resource=resource_policy("*")),
    Case("anonymous needs resource allow", "*", IMPLICIT, PRINCIPAL, [],
         resource=resource_policy({"AWS": USER}), policy_type=RESOURCE),
    Case("service principal allowed", "sns.amazonaws.com", ALLOWED, PRINCIPAL,
         resource=resource_policy(
             {"Service": "sns.amazonaws.com"}, action="lambda:InvokeFunction",
             Condition={"ArnLike": {"aws:SourceArn": f"arn:aws:sns:*:{ACCOUNT}:*"}}),
         action="lambda:InvokeFunction",
         context={"aws:SourceArn": f"arn:aws:sns:us-east-1:{ACCOUNT}:topic"}),
    Case("service principal condition fails", "sns.amazonaws.com", IMPLICIT, PRINCIPAL,
         resource=resource_policy(
             {"Service": "sns.amazonaws.com"}, action="lambda:InvokeFunction",
             Condition={"ArnLike": {"aws:SourceArn": f"arn:aws:sns:*:{ACCOUNT}:*"}}),
         action="lambda:InvokeFunction",
         context={"aws:SourceArn": f"arn:aws:sns:us-east-1:{OTHER_ACCOUNT}:topic"},
         policy_type=RESOURCE),
    Case("other service principal", "events.amazonaws.com", IMPLICIT, PRINCIPAL,
         resource=resource_policy({"Service": "sns.amazonaws.com"}), policy_type=RESOURCE),
    # NotPrincipal.
    Case("not principal deny hits user", USER, EXPLICIT, NOT_PRINCIPAL, [identity()],
         resource=resource_policy({"AWS": [f"arn:aws:iam::{ACCOUNT}:user/bob"]}, "Deny",
                                  negate=True), policy_type=RESOURCE),
    Case("not principal needs account too", USER, EXPLICIT, NOT_PRINCIPAL, [identity()],
         resource=resource_policy({"AWS": [USER]}, "Deny", negate=True),
         policy_type=RESOURCE),
    Case("not principal excludes user and account", USER, ALLOWED, NOT_PRINCIPAL,
         [identity()], resource=resource_policy({"AWS": [USER, ROOT]}, "Deny", negate=True)),
    Case("not principal excludes session", SESSION_ARN, ALLOWED, NOT_PRINCIPAL, [identity()],
         resource=resource_policy({"AWS": [ROLE, SESSION_ARN, ROOT]}, "Deny", negate=True)),
    Case("not principal deny with boundary", USER, EXPLICIT, BOUNDARIES, [identity()],
         resource=resource_policy({"AWS": [USER, ROOT]}, "Deny", negate=True),
         boundary=identity(), policy_type=RESOURCE),
    # Cross-account requests need both sides.
    Case("cross account identity only", USER, IMPLICIT, CROSS_ACCOUNT, [identity()],
         target=FOREIGN_QUEUE, policy_type=RESOURCE),
    Case("cross account resource only", USER, IMPLICIT, CROSS_ACCOUNT,
         resource=resource_policy({"AWS": USER}), target=FOREIGN_QUEUE,
         policy_type=IDENTITY),
    Case("cross account both", USER, ALLOWED, CROSS_ACCOUNT, [identity()],
         resource=resource_policy({"AWS": ROOT}), target=FOREIGN_QUEUE),
    Case("cross account boundary limits", USER, IMPLICIT, CROSS_ACCOUNT, [identity()],
         resource=resource_policy({"AWS": USER}), boundary=identity(action="s3:*"),
         target=FOREIGN_QUEUE, policy_type=BOUNDARY),
    # The account root user.
    Case("root user without policies", ROOT, ALLOWED, LOGIC),
    Case("root user and resource deny", ROOT, EXPLICIT, LOGIC,
         resource=resource_policy("*", "Deny"), policy_type=RESOURCE),
    # Examples from the IAM User Guide.
    Case("deny unless MFA", USER, EXPLICIT, NOT_ACTION,
         [identity(action="*"), identity(
             "Deny", action="*",
             Condition={"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}})],
         policy_type=IDENTITY),
    Case("deny unless MFA, MFA present", USER, ALLOWED, NOT_ACTION,
         [identity(action="*"), identity(
             "Deny", action="*",
             Condition={"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}})],
         context={"aws:MultiFactorAuthPresent": True}),
    Case("deny NotAction iam without MFA", USER, ALLOWED, NOT_ACTION,
         [identity(action="*"), {"Version": "2012-10-17", "Statement": [{
             "Effect": "Deny", "NotAction": "iam:*", "Resource": "*",
             "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}}]}],
         action="iam:ChangePassword"),
    Case("allow all s3 but delete bucket", USER, ALLOWED, NOT_ACTION,
         [identity(action=None, NotAction="s3:DeleteBucket", resource="arn:aws:s3:::*")],
         action="s3:GetObject", target="arn:aws:s3:::bucket/key"),
    Case("allow all s3 but delete bucket, delete", USER, IMPLICIT, NOT_ACTION,
         [identity(action=None, NotAction="s3:DeleteBucket", resource="arn:aws:s3:::*")],
         action="s3:DeleteBucket", target="arn:aws:s3:::bucket", policy_type=IDENTITY),
    Case("allow all s3 but delete bucket, sqs", USER, IMPLICIT, NOT_ACTION,
         [identity(action=None, NotAction="s3:DeleteBucket", resource="arn:aws:s3:::*")],
         policy_type=IDENTITY),
    Case("payroll deny outside folder", USER, EXPLICIT, NOT_RESOURCE,
         [identity(action="s3:*"), identity(
             "Deny", action="s3:*", resource=None,
             NotResource=["arn:aws:s3:::HRBucket/Payroll", "arn:aws:s3:::HRBucket/Payroll/*"])],
         action="s3:GetObject", target="arn:aws:s3:::HRBucket/Other/x", policy_type=IDENTITY),
    Case("payroll folder still allowed", USER, ALLOWED, NOT_RESOURCE,
         [identity(action="s3:*"), identity(
             "Deny", action="s3:*", resource=None,
             NotResource=["arn:aws:s3:::HRBucket/Payroll", "arn:aws:s3:::HRBucket/Payroll/*"])],
         action="s3:GetObject", target="arn:aws:s3:::HRBucket/Payroll/x"),
    Case("deny outside trusted network", USER, EXPLICIT, LOGIC,
         [identity(action="*"), identity(
             "Deny", action="*",
             Condition={"NotIpAddress": {"aws:SourceIp": ["192.0.2.0/24", "203.0.113.0/24"]},
                        "Bool": {"aws:ViaAWSService": "false"}})],
         context={"aws:SourceIp": "198.51.100.1", "aws:ViaAWSService": False},
         policy_type=IDENTITY),
    Case("carlos puts object via bucket policy", USER, ALLOWED, BASICS,
         [identity(action=["s3:GetBucketLocation", "s3:GetObject", "s3:ListBucket"],
                   resource="arn:aws:s3:::*")],
         resource=resource_policy({"AWS": USER}, action="s3:PutObject"),
         action="s3:PutObject", target="arn:aws:s3:::carlossalazar-logs/x"),
]


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_policy_combination(case: Case) -> None:
    """The policies in force combine to the decision AWS documents."""
    assert case.source.startswith("https://docs.aws.amazon.com/")
    request = AuthorizationRequest(case.principal, case.action, case.target, case.context)

    decision = evaluate(request, case.identity_policies, resource_policy=case.resource,
                        permissions_boundary=case.boundary, session_policies=case.session)

    assert decision.reason is case.expected
    assert decision.allowed is (case.expected is Reason.ALLOWED)
    if case.expected is not Reason.ALLOWED:
        assert decision.policy_type is case.policy_type


def test_explicit_deny_lists_every_deny() -> None:
    """An explicit deny reports each Deny statement that applies, in every policy type."""
    request = AuthorizationRequest(USER, SEND, QUEUE)
    decision = evaluate(request, [identity(), identity("Deny")],
                        resource_policy=resource_policy("*", "Deny"),
                        permissions_boundary=identity("Deny"))

    types = [m.policy_type for m in decision.matched_statements]
    assert types == [IDENTITY, RESOURCE, BOUNDARY]


def test_role_session_context_keys() -> None:
    """For a role session aws:PrincipalArn is the role ARN, usable in conditions."""
    policy = identity(Condition={"ArnEquals": {"aws:PrincipalArn": ROLE},
                                 "StringEquals": {"aws:PrincipalType": "AssumedRole"}})
    request = AuthorizationRequest(SESSION_ARN, SEND, QUEUE)

    assert evaluate(request, [policy]).allowed


def test_role_arn_with_path() -> None:
    """A role with a path is matched by the role_arn given with the request."""
    role = f"arn:aws:iam::{ACCOUNT}:role/service/app"
    request = AuthorizationRequest(SESSION_ARN, SEND, QUEUE, role_arn=role)

    assert evaluate(request, [], resource_policy=resource_policy({"AWS": role})).allowed


def test_denied_message_names_policy_type() -> None:
    """The AccessDenied sentence names the action and the kind of policy that decided."""
    request = AuthorizationRequest(USER, SEND, QUEUE)

    implicit = evaluate(request, []).message(request)
    explicit = evaluate(request, [identity("Deny")]).message(request)

    assert implicit == (f"User: {USER} is not authorized to perform: {SEND} on resource: "
                        f"{QUEUE} because no identity-based policy allows the {SEND} action")
    assert explicit.endswith("with an explicit deny in an identity-based policy")


def test_anonymous_caller_has_no_identity_policies() -> None:
    """Identity-side policies passed for an anonymous caller are rejected, not ignored."""
    request = AuthorizationRequest("*", SEND, QUEUE)

    with pytest.raises(ValueError, match="pass only resource_policy"):
        evaluate(request, [identity()])
