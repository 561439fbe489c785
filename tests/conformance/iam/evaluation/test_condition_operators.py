"""Condition operators, their ...IfExists forms and the ForAllValues/ForAnyValue set operators.

Each case is one identity-based Allow statement with a single condition, checked against a
request context; the expected value is whether the request is allowed. Sources:
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_multi-value-conditions.html
"""

from __future__ import annotations

from typing import Any

import pytest

from windtunnel.iam import AuthorizationRequest, evaluate

OPERATORS = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html"
MULTIVALUE = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_multi-value-conditions.html"
USER = "arn:aws:iam::111122223333:user/alice"
MISSING = object()


def allowed(operator: str, key: str, values: Any, context_value: Any) -> bool:
    """Evaluate one Allow statement whose only condition is ``operator: {key: values}``."""
    policy = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*",
        "Condition": {operator: {key: values}}}]}
    context = {} if context_value is MISSING else {key: context_value}
    request = AuthorizationRequest(USER, "s3:GetObject", "arn:aws:s3:::bucket/key", context)
    return evaluate(request, [policy]).allowed


# (operator, key, policy values, request value or MISSING, expected allowed, source)
CASES: list[tuple[str, str, Any, Any, bool, str]] = [
    # String operators.
    ("StringEquals", "aws:PrincipalTag/team", "blue", "blue", True, OPERATORS),
    ("StringEquals", "aws:PrincipalTag/team", "blue", "Blue", False, OPERATORS),
    ("StringEquals", "aws:PrincipalTag/team", ["red", "blue"], "blue", True, OPERATORS),
    ("StringEquals", "aws:PrincipalTag/team", "blue", MISSING, False, OPERATORS),
    ("StringEquals", "aws:PrincipalTag/team", "b*", "blue", False, OPERATORS),
    ("StringNotEquals", "aws:PrincipalTag/team", "blue", "red", True, OPERATORS),
    ("StringNotEquals", "aws:PrincipalTag/team", "blue", "blue", False, OPERATORS),
    ("StringNotEquals", "aws:PrincipalTag/team", ["red", "blue"], "blue", False, MULTIVALUE),
    ("StringNotEquals", "aws:PrincipalTag/team", ["red", "blue"], "green", True, MULTIVALUE),
    ("StringNotEquals", "aws:PrincipalTag/team", "blue", MISSING, True, OPERATORS),
    ("StringEqualsIgnoreCase", "aws:PrincipalTag/team", "BLUE", "blue", True, OPERATORS),
    ("StringEqualsIgnoreCase", "aws:PrincipalTag/team", "BLUE", "red", False, OPERATORS),
    ("StringNotEqualsIgnoreCase", "aws:PrincipalTag/team", "BLUE", "blue", False, OPERATORS),
    ("StringNotEqualsIgnoreCase", "aws:PrincipalTag/team", "BLUE", "red", True, OPERATORS),
    ("StringLike", "s3:prefix", "home/*", "home/alice/notes", True, OPERATORS),
    ("StringLike", "s3:prefix", "home/?", "home/a", True, OPERATORS),
    ("StringLike", "s3:prefix", "home/?", "home/ab", False, OPERATORS),
    ("StringLike", "s3:prefix", "Home/*", "home/alice", False, OPERATORS),
    ("StringLike", "s3:prefix", "home/*", MISSING, False, OPERATORS),
    ("StringNotLike", "s3:prefix", "home/*", "home/alice", False, OPERATORS),
    ("StringNotLike", "s3:prefix", "home/*", "public/x", True, OPERATORS),
    ("StringNotLike", "s3:prefix", "home/*", MISSING, True, OPERATORS),
    # Numeric operators.
    ("NumericEquals", "s3:max-keys", "10", "10", True, OPERATORS),
    ("NumericEquals", "s3:max-keys", "10", "10.0", True, OPERATORS),
    ("NumericEquals", "s3:max-keys", "10", "11", False, OPERATORS),
    ("NumericNotEquals", "s3:max-keys", "10", "11", True, OPERATORS),
    ("NumericNotEquals", "s3:max-keys", ["10", "11"], "11", False, MULTIVALUE),
    ("NumericLessThan", "s3:max-keys", "10", "9", True, OPERATORS),
    ("NumericLessThan", "s3:max-keys", "10", "10", False, OPERATORS),
    ("NumericLessThanEquals", "s3:max-keys", "10", "10", True, OPERATORS),
    ("NumericGreaterThan", "s3:max-keys", "10", "11", True, OPERATORS),
    ("NumericGreaterThan", "s3:max-keys", "10", "10", False, OPERATORS),
    ("NumericGreaterThanEquals", "s3:max-keys", "10", "10", True, OPERATORS),
    ("NumericLessThan", "s3:max-keys", "10", "not-a-number", False, OPERATORS),
    ("NumericLessThan", "s3:max-keys", 10, 9, True, OPERATORS),
    # Date operators: ISO 8601 and POSIX time in seconds.
    ("DateLessThan", "aws:CurrentTime", "2020-01-01T00:00:00Z", "2019-06-30T00:00:00Z",
     True, OPERATORS),
    ("DateLessThan", "aws:CurrentTime", "2020-01-01T00:00:00Z", "2021-06-30T00:00:00Z",
     False, OPERATORS),
    ("DateGreaterThan", "aws:CurrentTime", "2020-01-01T00:00:00Z", "2021-01-01T00:00:00Z",
     True, OPERATORS),
    ("DateEquals", "aws:CurrentTime", "2020-01-01T00:00:00Z", "1577836800", True, OPERATORS),
    ("DateNotEquals", "aws:CurrentTime", "2020-01-01T00:00:00Z", "2020-01-02T00:00:00Z",
     True, OPERATORS),
    ("DateLessThanEquals", "aws:EpochTime", "1577836800", "2020-01-01T00:00:00Z",
     True, OPERATORS),
    ("DateGreaterThanEquals", "aws:CurrentTime", "2020-01-01", "2020-01-01T00:00:00Z",
     True, OPERATORS),
    ("DateGreaterThan", "aws:CurrentTime", "2020-01-01T00:00:00Z", MISSING, False, OPERATORS),
    # Bool.
    ("Bool", "aws:SecureTransport", "true", True, True, OPERATORS),
    ("Bool", "aws:SecureTransport", "true", False, False, OPERATORS),
    ("Bool", "aws:SecureTransport", "false", "false", True, OPERATORS),
    ("Bool", "aws:MultiFactorAuthPresent", "true", MISSING, False, OPERATORS),
    ("BoolIfExists", "aws:MultiFactorAuthPresent", "false", MISSING, True, OPERATORS),
    ("BoolIfExists", "aws:MultiFactorAuthPresent", "false", "true", False, OPERATORS),
    # Binary: values are base64-encoded.
    ("BinaryEquals", "key", "QmluYXJ5VmFsdWVJbkJhc2U2NA==", "QmluYXJ5VmFsdWVJbkJhc2U2NA==",
     True, OPERATORS),
    ("BinaryEquals", "key", "QmluYXJ5VmFsdWVJbkJhc2U2NA==", "b3RoZXI=", False, OPERATORS),
    # IP address operators: CIDR ranges, IPv4 and IPv6.
    ("IpAddress", "aws:SourceIp", "203.0.113.0/24", "203.0.113.7", True, OPERATORS),
    ("IpAddress", "aws:SourceIp", "203.0.113.0/24", "198.51.100.7", False, OPERATORS),
    ("IpAddress", "aws:SourceIp", "203.0.113.7", "203.0.113.7", True, OPERATORS),
    ("IpAddress", "aws:SourceIp", ["203.0.113.0/24", "2001:db8::/32"], "2001:db8::1",
     True, OPERATORS),
    ("NotIpAddress", "aws:SourceIp", "203.0.113.0/24", "198.51.100.7", True, OPERATORS),
    ("NotIpAddress", "aws:SourceIp", "203.0.113.0/24", "203.0.113.7", False, OPERATORS),
    ("NotIpAddress", "aws:SourceIp", "203.0.113.0/24", MISSING, True, OPERATORS),
    # ARN operators: each of the six components is matched on its own.
    ("ArnEquals", "aws:SourceArn", "arn:aws:sns:us-east-1:111122223333:topic",
     "arn:aws:sns:us-east-1:111122223333:topic", True, OPERATORS),
    ("ArnLike", "aws:SourceArn", "arn:aws:sns:*:111122223333:*",
     "arn:aws:sns:eu-west-1:111122223333:orders", True, OPERATORS),
    ("ArnLike", "aws:SourceArn", "arn:aws:sns:*:111122223333:*",
     "arn:aws:sns:eu-west-1:444455556666:orders", False, OPERATORS),
    ("ArnLike", "aws:SourceArn", "arn:aws:s3:::bucket-?", "arn:aws:s3:::bucket-a",
     True, OPERATORS),
    ("ArnLike", "aws:SourceArn", "arn:aws:sns:*:111122223333:*", "not-an-arn", False,
     OPERATORS),
    ("ArnNotEquals", "aws:PrincipalArn", "arn:aws:iam::111122223333:user/bob",
     "arn:aws:iam::111122223333:user/alice", True, OPERATORS),
    ("ArnNotLike", "aws:SourceArn", "arn:aws:sns:*:111122223333:*",
     "arn:aws:sns:eu-west-1:111122223333:orders", False, OPERATORS),
    ("ArnNotLike", "aws:SourceArn", "arn:aws:sns:*:111122223333:*", MISSING, True, OPERATORS),
    # Null: true matches a missing key, false a present one.
    ("Null", "aws:TokenIssueTime", "true", MISSING, True, OPERATORS),
    ("Null", "aws:TokenIssueTime", "true", "2020-01-01T00:00:00Z", False, OPERATORS),
    ("Null", "aws:TokenIssueTime", "false", "2020-01-01T00:00:00Z", True, OPERATORS),
    ("Null", "aws:TokenIssueTime", "false", MISSING, False, OPERATORS),
    # ...IfExists: a missing key passes, a present key is checked.
    ("StringEqualsIfExists", "ec2:InstanceType", "t2.micro", MISSING, True, OPERATORS),
    ("StringEqualsIfExists", "ec2:InstanceType", "t2.micro", "t2.micro", True, OPERATORS),
    ("StringEqualsIfExists", "ec2:InstanceType", "t2.micro", "m5.large", False, OPERATORS),
    ("StringLikeIfExists", "ec2:InstanceType", "t2.*", "t2.small", True, OPERATORS),
    ("NumericLessThanIfExists", "s3:max-keys", "10", MISSING, True, OPERATORS),
    ("DateGreaterThanIfExists", "aws:TokenIssueTime", "2020-01-01T00:00:00Z", MISSING, True,
     OPERATORS),
    ("IpAddressIfExists", "aws:SourceIp", "203.0.113.0/24", MISSING, True, OPERATORS),
    ("ArnLikeIfExists", "aws:SourceArn", "arn:aws:sns:*:*:*", MISSING, True, OPERATORS),
    ("StringNotEqualsIfExists", "aws:PrincipalTag/team", "blue", "blue", False, OPERATORS),
    # ForAllValues: every request value must match; a missing or empty key passes.
    ("ForAllValues:StringEquals", "aws:TagKeys", ["env", "team"], ["env"], True, MULTIVALUE),
    ("ForAllValues:StringEquals", "aws:TagKeys", ["env", "team"], ["env", "team"], True,
     MULTIVALUE),
    ("ForAllValues:StringEquals", "aws:TagKeys", ["env", "team"], ["env", "cost"], False,
     MULTIVALUE),
    ("ForAllValues:StringEquals", "aws:TagKeys", ["env", "team"], MISSING, True, MULTIVALUE),
    ("ForAllValues:StringEquals", "aws:TagKeys", ["env", "team"], [], True, MULTIVALUE),
    ("ForAllValues:StringLike", "aws:TagKeys", "key*", ["key1", "key2"], True, MULTIVALUE),
    ("ForAllValues:StringNotEquals", "aws:TagKeys", ["secret"], ["env", "team"], True,
     MULTIVALUE),
    ("ForAllValues:StringNotEquals", "aws:TagKeys", ["secret"], ["env", "secret"], False,
     MULTIVALUE),
    # ForAnyValue: at least one request value must match; a missing or empty key fails.
    ("ForAnyValue:StringEquals", "aws:TagKeys", ["env", "team"], ["cost", "env"], True,
     MULTIVALUE),
    ("ForAnyValue:StringEquals", "aws:TagKeys", ["env", "team"], ["cost"], False, MULTIVALUE),
    ("ForAnyValue:StringEquals", "aws:TagKeys", ["env", "team"], MISSING, False, MULTIVALUE),
    ("ForAnyValue:StringEquals", "aws:TagKeys", ["env", "team"], [], False, MULTIVALUE),
    ("ForAnyValue:StringNotEquals", "aws:TagKeys", ["env"], ["env", "cost"], True, MULTIVALUE),
    ("ForAnyValue:StringNotEquals", "aws:TagKeys", ["env"], ["env"], False, MULTIVALUE),
    ("ForAnyValue:StringLike", "dynamodb:Attributes", "Pk*", ["Name", "PkId"], True,
     MULTIVALUE),
    ("ForAnyValue:StringEqualsIfExists", "aws:TagKeys", ["env"], MISSING, True, MULTIVALUE),
    ("ForAllValues:StringEquals", "dynamodb:LeadingKeys", "${aws:userid}", ["AIDA1"], True,
     MULTIVALUE),
]


@pytest.mark.parametrize(
    ("operator", "key", "values", "context_value", "expected", "source"),
    CASES,
    ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)],
)
def test_condition_operator(operator: str, key: str, values: Any, context_value: Any,
                            expected: bool, source: str) -> None:
    """A single condition allows the request exactly when AWS documents it does."""
    assert source.startswith("https://docs.aws.amazon.com/")
    if key == "dynamodb:LeadingKeys":
        policy = {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": "*",
            "Condition": {operator: {key: values}}}]}
        request = AuthorizationRequest(USER, "dynamodb:GetItem", "*",
                                       {key: context_value, "aws:userid": "AIDA1"})
        assert evaluate(request, [policy]).allowed is expected
        return
    assert allowed(operator, key, values, context_value) is expected


def test_condition_keys_ignore_case() -> None:
    """Condition key names match the request context regardless of case."""
    assert allowed("StringEquals", "AWS:PRINCIPALTAG/Team", "blue", "blue")
    policy = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*",
        "Condition": {"StringEquals": {"aws:principaltag/team": "blue"}}}]}
    request = AuthorizationRequest(USER, "s3:GetObject", "*", {"aws:PrincipalTag/team": "blue"})
    assert evaluate(request, [policy]).allowed


def test_keys_in_block_combine_with_and() -> None:
    """Two keys under one operator, and two operators, must all hold."""
    policy = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*",
        "Condition": {
            "StringEquals": {"aws:PrincipalTag/team": "blue", "aws:RequestedRegion": "eu-west-1"},
            "Bool": {"aws:SecureTransport": "true"}}}]}
    full = {"aws:PrincipalTag/team": "blue", "aws:RequestedRegion": "eu-west-1",
            "aws:SecureTransport": True}

    assert evaluate(AuthorizationRequest(USER, "s3:GetObject", "*", full), [policy]).allowed
    for dropped in full:
        partial = {k: v for k, v in full.items() if k != dropped}
        request = AuthorizationRequest(USER, "s3:GetObject", "*", partial)
        assert not evaluate(request, [policy]).allowed, dropped


def test_json_booleans_and_numbers_compare_as_text() -> None:
    """Policy values written as JSON true or 10 match the request's "true" and "10"."""
    assert allowed("Bool", "aws:SecureTransport", True, "true")
    assert allowed("NumericEquals", "s3:max-keys", 10, "10")
