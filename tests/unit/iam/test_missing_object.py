"""A missing object gets 404 only for callers allowed s3:ListBucket, 403 for others.

Source: https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html (Permissions:
"If you don't have the s3:ListBucket permission, Amazon S3 returns an HTTP status code 403
Access Denied error.")
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from windtunnel.cloud.inprocess import attach
from windtunnel.cloud.pipeline import Cloud
from windtunnel.runtime.variables import role_credentials


def _reader(cloud: Cloud, actions: list[str]) -> Any:
    iam = cloud.client("iam")
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
        "Action": "sts:AssumeRole"}]}
    role_arn = iam.create_role(RoleName="reader", AssumeRolePolicyDocument=json.dumps(
        trust))["Role"]["Arn"]
    iam.put_role_policy(RoleName="reader", PolicyName="read", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": actions,
            "Resource": ["arn:aws:s3:::assets", "arn:aws:s3:::assets/*"]}]}))
    key, secret, token = role_credentials(role_arn, "reader-function")
    cloud.register_role_session(key, role_arn, "reader-function", secret_key=secret,
                                session_token=token)
    client = boto3.session.Session(aws_access_key_id=key, aws_secret_access_key=secret,
                                   aws_session_token=token,
                                   region_name="us-east-1").client("s3")
    return attach(client, cloud)


@pytest.fixture
def cloud() -> Cloud:
    cloud = Cloud()
    cloud.client("s3").create_bucket(Bucket="assets")
    return cloud


def test_missing_key_without_list_is_denied(cloud: Cloud) -> None:
    """Without s3:ListBucket the caller gets AccessDenied, not NoSuchKey."""
    s3 = _reader(cloud, ["s3:GetObject"])

    with pytest.raises(ClientError) as caught:
        s3.get_object(Bucket="assets", Key="missing.txt")

    assert caught.value.response["Error"]["Code"] == "AccessDenied"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_missing_key_with_list_is_not_found(cloud: Cloud) -> None:
    """With s3:ListBucket the caller learns that the key does not exist."""
    s3 = _reader(cloud, ["s3:GetObject", "s3:ListBucket"])

    with pytest.raises(ClientError) as caught:
        s3.get_object(Bucket="assets", Key="missing.txt")

    assert caught.value.response["Error"]["Code"] == "NoSuchKey"
