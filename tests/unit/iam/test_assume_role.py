"""STS AssumeRole and GetCallerIdentity in the embedded cloud, with trust policies evaluated.

Sources:
https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html
https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html
https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_terms-and-concepts.html (trust policy)
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from windtunnel.cloud.inprocess import attach
from windtunnel.cloud.pipeline import Cloud

ACCOUNT = "123456789012"


@pytest.fixture
def cloud() -> Cloud:
    return Cloud()


def _trust(principal: Any) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}]})


def _client(cloud: Cloud, service: str, credentials: dict[str, str]) -> Any:
    session = boto3.session.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials.get("SessionToken"),
        region_name="us-east-1")
    client = session.client(service)
    attach(client, cloud)
    return client


def _user_with_key(cloud: Cloud, name: str) -> dict[str, str]:
    iam = cloud.client("iam")
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return {"AccessKeyId": key["AccessKeyId"], "SecretAccessKey": key["SecretAccessKey"]}


def test_admin_assumes_role_that_trusts_account(cloud: Cloud) -> None:
    """A role that trusts the account root is assumable; the session acts as the role."""
    iam = cloud.client("iam")
    iam.create_role(RoleName="tester", AssumeRolePolicyDocument=_trust(
        {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}))

    credentials = cloud.client("sts").assume_role(
        RoleArn=f"arn:aws:iam::{ACCOUNT}:role/tester", RoleSessionName="run-1")["Credentials"]
    identity = _client(cloud, "sts", credentials).get_caller_identity()

    assert identity["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/tester/run-1"
    assert identity["Account"] == ACCOUNT
    assert identity["UserId"].endswith(":run-1")


def test_role_trusting_only_a_service_denies_admin(cloud: Cloud) -> None:
    """A Lambda execution role's trust policy lets only the Lambda service assume it."""
    cloud.client("iam").create_role(RoleName="exec", AssumeRolePolicyDocument=_trust(
        {"Service": "lambda.amazonaws.com"}))

    with pytest.raises(ClientError) as caught:
        cloud.client("sts").assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/exec",
                                        RoleSessionName="run-1")

    error = caught.value.response["Error"]
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert error["Code"] == "AccessDenied"
    assert error["Message"] == (
        f"User: arn:aws:iam::{ACCOUNT}:user/windtunnel-admin is not authorized to perform: "
        f"sts:AssumeRole on resource: arn:aws:iam::{ACCOUNT}:role/exec")


def test_missing_role_is_denied(cloud: Cloud) -> None:
    """STS denies a role that does not exist as it denies one whose trust policy refuses."""
    with pytest.raises(ClientError) as caught:
        cloud.client("sts").assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/nobody",
                                        RoleSessionName="run-1")

    assert caught.value.response["Error"]["Code"] == "AccessDenied"


def test_trust_naming_user_needs_no_identity_policy(cloud: Cloud) -> None:
    """A trust policy that names the user itself is enough within the account."""
    credentials = _user_with_key(cloud, "alice")
    cloud.client("iam").create_role(RoleName="named", AssumeRolePolicyDocument=_trust(
        {"AWS": f"arn:aws:iam::{ACCOUNT}:user/alice"}))

    session = _client(cloud, "sts", credentials).assume_role(
        RoleArn=f"arn:aws:iam::{ACCOUNT}:role/named", RoleSessionName="alice")

    assert session["AssumedRoleUser"]["Arn"] == (
        f"arn:aws:sts::{ACCOUNT}:assumed-role/named/alice")


def test_trust_naming_account_needs_identity_policy(cloud: Cloud) -> None:
    """Trusting the account delegates to the caller's identity-based policies."""
    credentials = _user_with_key(cloud, "bob")
    iam = cloud.client("iam")
    iam.create_role(RoleName="delegated", AssumeRolePolicyDocument=_trust(
        {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}))
    sts = _client(cloud, "sts", credentials)
    role_arn = f"arn:aws:iam::{ACCOUNT}:role/delegated"

    with pytest.raises(ClientError) as caught:
        sts.assume_role(RoleArn=role_arn, RoleSessionName="bob")
    iam.put_user_policy(UserName="bob", PolicyName="assume", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": role_arn}]}))
    allowed = sts.assume_role(RoleArn=role_arn, RoleSessionName="bob")

    assert caught.value.response["Error"]["Code"] == "AccessDenied"
    assert allowed["AssumedRoleUser"]["Arn"].endswith(":assumed-role/delegated/bob")


def test_user_identity_is_reported(cloud: Cloud) -> None:
    """GetCallerIdentity names the IAM user whose access key signed the request."""
    credentials = _user_with_key(cloud, "carol")

    identity = _client(cloud, "sts", credentials).get_caller_identity()

    assert identity["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/carol"


def test_invalid_session_name_is_rejected(cloud: Cloud) -> None:
    """RoleSessionName must match [\\w+=,.@-]{2,64}."""
    cloud.client("iam").create_role(RoleName="tester", AssumeRolePolicyDocument=_trust(
        {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}))

    with pytest.raises(ClientError) as caught:
        cloud.client("sts").assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/tester",
                                        RoleSessionName="has space")

    assert caught.value.response["Error"]["Code"] == "ValidationError"


def test_off_mode_skips_trust(cloud: Cloud) -> None:
    """With IAM off, any existing role can be assumed."""
    cloud.authorizer.mode = cloud.authorizer.mode.parse("off")
    cloud.client("iam").create_role(RoleName="exec", AssumeRolePolicyDocument=_trust(
        {"Service": "lambda.amazonaws.com"}))

    response = cloud.client("sts").assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/exec",
                                               RoleSessionName="run-1")

    assert response["Credentials"]["AccessKeyId"]
