"""Action, NotAction, Resource and NotResource matching, wildcards and policy variables.

Each case is an identity-based policy, a request and whether AWS allows it. Sources are
the IAM User Guide pages named in each case.
"""

from __future__ import annotations

from typing import Any

import pytest

from windtunnel.iam import AuthorizationRequest, Reason, evaluate

DOCS = "https://docs.aws.amazon.com/IAM/latest/UserGuide/"
ACTION = DOCS + "reference_policies_elements_action.html"
NOT_ACTION = DOCS + "reference_policies_elements_notaction.html"
RESOURCE = DOCS + "reference_policies_elements_resource.html"
NOT_RESOURCE = DOCS + "reference_policies_elements_notresource.html"
VARIABLES = DOCS + "reference_policies_variables.html"
VERSION = DOCS + "reference_policies_elements_version.html"
USER = "arn:aws:iam::111122223333:user/alice"


def statement(**elements: Any) -> dict[str, Any]:
    """Build a 2012-10-17 policy with one Allow statement made of ``elements``."""
    return {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", **elements}]}


# (name, policy, action, resource, context, expected allowed, source)
CASES: list[tuple[str, dict[str, Any], str, str, dict[str, Any], bool, str]] = [
    ("action exact", statement(Action="dynamodb:PutItem", Resource="*"),
     "dynamodb:PutItem", "*", {}, True, ACTION),
    ("action other", statement(Action="dynamodb:PutItem", Resource="*"),
     "dynamodb:GetItem", "*", {}, False, ACTION),
    ("action list", statement(Action=["sqs:SendMessage", "dynamodb:GetItem"], Resource="*"),
     "dynamodb:GetItem", "*", {}, True, ACTION),
    ("action ignores case", statement(Action="DynamoDB:putitem", Resource="*"),
     "dynamodb:PutItem", "*", {}, True, ACTION),
    ("action star suffix", statement(Action="s3:Get*", Resource="*"),
     "s3:GetObjectAcl", "*", {}, True, ACTION),
    ("action star middle", statement(Action="iam:*AccessKey*", Resource="*"),
     "iam:CreateAccessKey", "*", {}, True, ACTION),
    ("action question mark", statement(Action="sqs:?etQueueUrl", Resource="*"),
     "sqs:GetQueueUrl", "*", {}, True, ACTION),
    ("action star all", statement(Action="*", Resource="*"), "lambda:InvokeFunction", "*",
     {}, True, ACTION),
    ("action service star", statement(Action="s3:*", Resource="*"), "sqs:SendMessage", "*",
     {}, False, ACTION),
    ("not action outside", statement(NotAction="iam:*", Resource="*"),
     "s3:GetObject", "*", {}, True, NOT_ACTION),
    ("not action inside", statement(NotAction="iam:*", Resource="*"),
     "iam:CreateUser", "*", {}, False, NOT_ACTION),
    ("not action list", statement(NotAction=["iam:*", "s3:*"], Resource="*"),
     "s3:GetObject", "*", {}, False, NOT_ACTION),
    ("resource exact", statement(Action="sqs:*",
                                 Resource="arn:aws:sqs:us-east-1:111122223333:queue"),
     "sqs:SendMessage", "arn:aws:sqs:us-east-1:111122223333:queue", {}, True, RESOURCE),
    ("resource is case-sensitive", statement(Action="sqs:*",
                                             Resource="arn:aws:sqs:us-east-1:111122223333:Queue"),
     "sqs:SendMessage", "arn:aws:sqs:us-east-1:111122223333:queue", {}, False, RESOURCE),
    ("resource star key", statement(Action="s3:GetObject", Resource="arn:aws:s3:::bucket/*"),
     "s3:GetObject", "arn:aws:s3:::bucket/a/b.txt", {}, True, RESOURCE),
    ("resource star not bucket", statement(Action="s3:ListBucket",
                                           Resource="arn:aws:s3:::bucket/*"),
     "s3:ListBucket", "arn:aws:s3:::bucket", {}, False, RESOURCE),
    ("resource region wildcard",
     statement(Action="dynamodb:*", Resource="arn:aws:dynamodb:*:111122223333:table/orders"),
     "dynamodb:PutItem", "arn:aws:dynamodb:eu-west-1:111122223333:table/orders", {}, True,
     RESOURCE),
    ("resource other account",
     statement(Action="dynamodb:*", Resource="arn:aws:dynamodb:*:111122223333:table/*"),
     "dynamodb:PutItem", "arn:aws:dynamodb:eu-west-1:444455556666:table/orders", {}, False,
     RESOURCE),
    ("resource question mark", statement(Action="s3:*", Resource="arn:aws:s3:::logs-202?"),
     "s3:ListBucket", "arn:aws:s3:::logs-2024", {}, True, RESOURCE),
    ("resource colon in name",
     statement(Action="lambda:*", Resource="arn:aws:lambda:*:111122223333:function:app*"),
     "lambda:InvokeFunction", "arn:aws:lambda:us-east-1:111122223333:function:app:live",
     {}, True, RESOURCE),
    ("star at segment end crosses colons",
     statement(Action="lambda:*", Resource="arn:aws:lambda:us-east-1:*"),
     "lambda:InvokeFunction", "arn:aws:lambda:us-east-1:111122223333:function:app",
     {}, True, RESOURCE),
    ("user name is case-sensitive",
     statement(Action="iam:*", Resource="arn:aws:iam::111122223333:user/Bob"),
     "iam:GetUser", "arn:aws:iam::111122223333:user/bob", {}, False, RESOURCE),
    ("not resource outside", statement(Action="s3:*", NotResource="arn:aws:s3:::secret/*"),
     "s3:GetObject", "arn:aws:s3:::public/x", {}, True, NOT_RESOURCE),
    ("not resource inside", statement(Action="s3:*", NotResource="arn:aws:s3:::secret/*"),
     "s3:GetObject", "arn:aws:s3:::secret/x", {}, False, NOT_RESOURCE),
    # Policy variables.
    ("username variable", statement(Action="s3:*", Resource="arn:aws:s3:::home/${aws:username}/*"),
     "s3:GetObject", "arn:aws:s3:::home/alice/notes", {}, True, VARIABLES),
    ("username variable other user",
     statement(Action="s3:*", Resource="arn:aws:s3:::home/${aws:username}/*"),
     "s3:GetObject", "arn:aws:s3:::home/bob/notes", {}, False, VARIABLES),
    ("principal tag variable",
     statement(Action="s3:*", Resource="arn:aws:s3:::${aws:PrincipalTag/team}/*"),
     "s3:GetObject", "arn:aws:s3:::blue/x", {"aws:PrincipalTag/team": "blue"}, True,
     VARIABLES),
    ("missing variable matches nothing",
     statement(Action="s3:*", Resource="arn:aws:s3:::${aws:PrincipalTag/team}/*"),
     "s3:GetObject", "arn:aws:s3:::/x", {}, False, VARIABLES),
    ("variable default value",
     statement(Action="s3:*",
               Resource="arn:aws:s3:::${aws:PrincipalTag/team, 'company-wide'}/*"),
     "s3:GetObject", "arn:aws:s3:::company-wide/x", {}, True, VARIABLES),
    ("escaped star is literal", statement(Action="s3:*", Resource="arn:aws:s3:::b/${*}"),
     "s3:GetObject", "arn:aws:s3:::b/anything", {}, False, VARIABLES),
    ("escaped star matches star", statement(Action="s3:*", Resource="arn:aws:s3:::b/${*}"),
     "s3:GetObject", "arn:aws:s3:::b/*", {}, True, VARIABLES),
    ("escaped question and dollar",
     statement(Action="s3:*", Resource="arn:aws:s3:::b/${?}${$}"),
     "s3:GetObject", "arn:aws:s3:::b/?$", {}, True, VARIABLES),
    ("substituted star is literal",
     statement(Action="s3:*", Resource="arn:aws:s3:::home/${aws:PrincipalTag/team}"),
     "s3:GetObject", "arn:aws:s3:::home/anything", {"aws:PrincipalTag/team": "*"}, False,
     VARIABLES),
    ("variable in condition",
     statement(Action="s3:ListBucket", Resource="arn:aws:s3:::bucket",
               Condition={"StringLike": {"s3:prefix": ["home/${aws:username}/*"]}}),
     "s3:ListBucket", "arn:aws:s3:::bucket", {"s3:prefix": "home/alice/docs"}, True,
     VARIABLES),
    ("variable in condition other prefix",
     statement(Action="s3:ListBucket", Resource="arn:aws:s3:::bucket",
               Condition={"StringLike": {"s3:prefix": ["home/${aws:username}/*"]}}),
     "s3:ListBucket", "arn:aws:s3:::bucket", {"s3:prefix": "home/bob/docs"}, False,
     VARIABLES),
    ("variables need 2012-10-17",
     {"Version": "2008-10-17", "Statement": [{
         "Effect": "Allow", "Action": "s3:*",
         "Resource": "arn:aws:s3:::home/${aws:username}/*"}]},
     "s3:GetObject", "arn:aws:s3:::home/alice/x", {}, False, VERSION),
    ("old version keeps variable text",
     {"Version": "2008-10-17", "Statement": [{
         "Effect": "Allow", "Action": "s3:*",
         "Resource": "arn:aws:s3:::home/${aws:username}/x"}]},
     "s3:GetObject", "arn:aws:s3:::home/${aws:username}/x", {}, True, VERSION),
    ("missing version keeps variable text",
     {"Statement": [{"Effect": "Allow", "Action": "s3:*",
                     "Resource": "arn:aws:s3:::home/${aws:username}/*"}]},
     "s3:GetObject", "arn:aws:s3:::home/alice/x", {}, False, VERSION),
]


@pytest.mark.parametrize(
    ("policy", "action", "resource", "context", "expected", "source"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_statement_matching(policy: dict[str, Any], action: str, resource: str,
                            context: dict[str, Any], expected: bool, source: str) -> None:
    """An Allow statement covers the request exactly when AWS documents it does."""
    assert source.startswith("https://docs.aws.amazon.com/")
    decision = evaluate(AuthorizationRequest(USER, action, resource, context), [policy])

    assert decision.allowed is expected
    assert decision.reason is (Reason.ALLOWED if expected else Reason.IMPLICIT_DENY)


def test_statement_as_single_object() -> None:
    """A Statement given as one object, not a list, is evaluated the same way."""
    policy = {"Version": "2012-10-17",
              "Statement": {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}}

    assert evaluate(AuthorizationRequest(USER, "s3:GetObject", "*"), [policy]).allowed


def test_matched_statement_reported() -> None:
    """An allow names the statement that granted it, with its Sid."""
    policy = {"Version": "2012-10-17", "Statement": [
        {"Sid": "Other", "Effect": "Allow", "Action": "sqs:*", "Resource": "*"},
        {"Sid": "Read", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}

    decision = evaluate(AuthorizationRequest(USER, "s3:GetObject", "*"), [policy])

    assert [m.statement.sid for m in decision.matched_statements] == ["Read"]
    assert decision.matched_statements[0].statement.index == 1
