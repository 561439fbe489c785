"""The policy language version that IAM requires of inline and managed policies.

Source: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_version.html
An inline policy without ``Version`` is valid (it takes 2008-10-17); a managed policy needs
one ("A managed policy must have a version string"). moto 5.2 rejects both, so windtunnel
corrects it for inline policies.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from windtunnel.cloud.pipeline import Cloud

STATEMENT = {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*"}
TRUST = {"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
    "Action": "sts:AssumeRole"}]}


@pytest.fixture
def iam() -> Any:
    client = Cloud().client("iam")
    client.create_role(RoleName="role", AssumeRolePolicyDocument=json.dumps(TRUST))
    return client


def test_inline_policy_without_version_is_accepted(iam: Any) -> None:
    """PutRolePolicy stores a document without Version unchanged."""
    document = {"Statement": [STATEMENT]}

    iam.put_role_policy(RoleName="role", PolicyName="inline",
                        PolicyDocument=json.dumps(document))
    stored = iam.get_role_policy(RoleName="role",
                                 PolicyName="inline")["PolicyDocument"]

    assert stored == document


def test_managed_policy_without_version_is_rejected(iam: Any) -> None:
    """CreatePolicy still requires a Version element."""
    with pytest.raises(ClientError) as caught:
        iam.create_policy(PolicyName="managed",
                          PolicyDocument=json.dumps({"Statement": [STATEMENT]}))

    assert caught.value.response["Error"]["Code"] == "MalformedPolicyDocument"


def test_inline_policy_with_old_version_is_rejected_when_malformed(iam: Any) -> None:
    """The correction only tolerates a missing Version, not an invalid one."""
    with pytest.raises(ClientError) as caught:
        iam.put_role_policy(RoleName="role", PolicyName="bad",
                            PolicyDocument=json.dumps({"Version": "2020-01-01",
                                                       "Statement": [STATEMENT]}))

    assert caught.value.response["Error"]["Code"] == "MalformedPolicyDocument"
