"""Bucket policies with conditions: a Deny for insecure transport does not block HTTPS calls.

Source: https://docs.aws.amazon.com/AmazonS3/latest/userguide/example-bucket-policies.html
(managing access based on HTTP or HTTPS requests: the Deny applies only when
aws:SecureTransport is false)
"""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from windtunnel.cloud.pipeline import Cloud


def _policy(statement: dict[str, object]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


@pytest.fixture
def cloud() -> Cloud:
    return Cloud()


def test_enforce_ssl_policy_allows_https(cloud: Cloud) -> None:
    """The CDK's enforceSSL statement denies only requests without TLS."""
    s3 = cloud.client("s3")
    s3.create_bucket(Bucket="assets")
    s3.put_bucket_policy(Bucket="assets", Policy=_policy({
        "Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "s3:*",
        "Resource": ["arn:aws:s3:::assets", "arn:aws:s3:::assets/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}}}))

    s3.put_object(Bucket="assets", Key="logo.png", Body=b"png")
    head = s3.head_object(Bucket="assets", Key="logo.png")

    assert head["ContentLength"] == 3


def test_unconditional_deny_still_applies(cloud: Cloud) -> None:
    """A Deny without a condition for everyone still blocks the object operation."""
    s3 = cloud.client("s3")
    s3.create_bucket(Bucket="locked")
    s3.put_bucket_policy(Bucket="locked", Policy=_policy({
        "Effect": "Deny", "Principal": "*", "Action": "s3:PutObject",
        "Resource": "arn:aws:s3:::locked/*"}))

    with pytest.raises(ClientError) as caught:
        s3.put_object(Bucket="locked", Key="file.txt", Body=b"x")

    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
