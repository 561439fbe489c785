"""Policy documents that IAM rejects, and the public names of the package.

Sources: the IAM User Guide pages for each element, such as
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_version.html
and https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notprincipal.html
"""

from __future__ import annotations

import inspect
from typing import Any

import pytest

import windtunnel.iam
from windtunnel.iam import (
    AuthorizationRequest,
    Effect,
    MalformedPolicyError,
    PolicyKind,
    SetQualifier,
    evaluate,
    parse_operator,
    parse_policy,
)

ALLOW = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}


def policy(**changes: Any) -> dict[str, Any]:
    """Build a policy whose one statement is ALLOW with ``changes`` applied; None removes."""
    statement = {**ALLOW, **changes}
    return {"Version": "2012-10-17",
            "Statement": [{k: v for k, v in statement.items() if v is not None}]}


# (name, document, kind, text expected in the message)
INVALID: list[tuple[str, Any, PolicyKind, str]] = [
    ("bad version", {"Version": "2020-01-01", "Statement": [ALLOW]}, PolicyKind.IDENTITY,
     "Version '2020-01-01' is not supported"),
    ("no statement", {"Version": "2012-10-17"}, PolicyKind.IDENTITY, "has no Statement"),
    ("bad effect", policy(Effect="allow"), PolicyKind.IDENTITY, "Effect is 'allow'"),
    ("no action", policy(Action=None), PolicyKind.IDENTITY, "missing Action or NotAction"),
    ("action and not action", policy(NotAction="s3:*"), PolicyKind.IDENTITY,
     "both Action and NotAction"),
    ("no resource", policy(Resource=None), PolicyKind.IDENTITY,
     "missing Resource or NotResource"),
    ("empty action list", policy(Action=[]), PolicyKind.IDENTITY, "non-empty list"),
    ("principal in identity policy", policy(Principal="*"), PolicyKind.IDENTITY,
     "identity-based policies do not allow"),
    ("no principal in resource policy", policy(), PolicyKind.RESOURCE,
     "missing Principal or NotPrincipal"),
    ("unknown principal type", policy(Principal={"User": "x"}), PolicyKind.RESOURCE,
     "unknown principal type 'User'"),
    ("unknown operator", policy(Condition={"StringEqualz": {"k": "v"}}),
     PolicyKind.IDENTITY, "unknown condition operator 'StringEqualz'"),
    ("unknown set operator", policy(Condition={"ForSomeValues:StringEquals": {"k": "v"}}),
     PolicyKind.IDENTITY, "unknown set operator 'ForSomeValues'"),
    ("null if exists", policy(Condition={"NullIfExists": {"k": "true"}}),
     PolicyKind.IDENTITY, "unknown condition operator 'NullIfExists'"),
    ("not principal with allow", policy(NotPrincipal={"AWS": "111122223333"}),
     PolicyKind.RESOURCE, "supported only with"),
    ("condition value object", policy(Condition={"StringEquals": {"k": {"a": 1}}}),
     PolicyKind.IDENTITY, "is not a string, number or boolean"),
]


@pytest.mark.parametrize(("document", "kind", "message"), [c[1:] for c in INVALID],
                         ids=[c[0] for c in INVALID])
def test_invalid_policy_rejected(document: Any, kind: PolicyKind, message: str) -> None:
    """parse_policy rejects a document IAM would reject and names the wrong element."""
    with pytest.raises(MalformedPolicyError, match=message):
        parse_policy(document, kind)


def test_error_names_statement_path() -> None:
    """The error message starts with the path of the offending element."""
    document = {"Version": "2012-10-17",
                "Statement": [ALLOW, {**ALLOW, "Condition": {"Bogus": {"k": "v"}}}]}

    with pytest.raises(MalformedPolicyError) as caught:
        parse_policy(document)

    assert caught.value.path == "Statement[1].Condition.Bogus"


def test_evaluate_rejects_invalid_policy() -> None:
    """evaluate raises for an invalid document instead of treating it as a deny."""
    request = AuthorizationRequest("arn:aws:iam::111122223333:user/alice", "s3:GetObject", "*")

    with pytest.raises(MalformedPolicyError):
        evaluate(request, [policy(Effect="Permit")])


def test_parsed_policy_is_reusable() -> None:
    """A parsed Policy can be passed to evaluate in place of the document."""
    parsed = parse_policy(policy(Sid="Read"))
    request = AuthorizationRequest("arn:aws:iam::111122223333:user/alice", "s3:GetObject", "*")

    assert parsed.statements[0].effect is Effect.ALLOW
    assert evaluate(request, [parsed]).allowed


def test_operator_parts() -> None:
    """An operator splits into set qualifier, base name and IfExists suffix."""
    operator = parse_operator("ForAnyValue:StringLikeIfExists")

    assert operator.qualifier is SetQualifier.FOR_ANY_VALUE
    assert operator.base == "StringLike"
    assert operator.if_exists


def test_invalid_principal_arn() -> None:
    """A role ARN cannot make requests; the error lists the valid principals."""
    with pytest.raises(ValueError, match="requests come from users, role sessions"):
        AuthorizationRequest("arn:aws:iam::111122223333:role/app", "s3:GetObject", "*")


def test_all_names_exported() -> None:
    """__all__ lists exactly the public names the package imports, sorted."""
    public = {name for name, value in vars(windtunnel.iam).items()
              if not name.startswith("_") and not inspect.ismodule(value)}

    assert set(windtunnel.iam.__all__) == public - {"annotations"}
    assert sorted(windtunnel.iam.__all__) == windtunnel.iam.__all__
