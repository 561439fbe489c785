"""Signatures made with credentials windtunnel issued are verified, as AWS verifies them.

Sources:
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv.html
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html
(InvalidSignatureException and UnrecognizedClientException, 400)
https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html
(SignatureDoesNotMatch, 403)
"""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from windtunnel.cloud.inprocess import attach
from windtunnel.cloud.pipeline import Cloud
from windtunnel.runtime.variables import role_credentials

ROLE = "arn:aws:iam::123456789012:role/worker"


@pytest.fixture
def cloud() -> Cloud:
    cloud = Cloud(iam_mode="off")
    cloud.client("dynamodb").create_table(
        TableName="items", BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}])
    cloud.client("s3").create_bucket(Bucket="uploads")
    return cloud


def _client(cloud: Cloud, service: str, key: str, secret: str, token: str | None) -> Any:
    client = boto3.session.Session(
        aws_access_key_id=key, aws_secret_access_key=secret, aws_session_token=token,
        region_name="us-east-1").client(service)
    return attach(client, cloud)


def _session(cloud: Cloud) -> tuple[str, str, str]:
    key, secret, token = role_credentials(ROLE, "worker-function")
    cloud.register_role_session(key, ROLE, "worker-function", secret_key=secret,
                                session_token=token)
    return key, secret, token


def test_correct_signature_is_accepted(cloud: Cloud) -> None:
    """The session's own credentials sign requests that are served, S3 uploads included."""
    key, secret, token = _session(cloud)

    _client(cloud, "dynamodb", key, secret, token).list_tables()
    _client(cloud, "s3", key, secret, token).put_object(Bucket="uploads", Key="a",
                                                         Body=b"hello")

    assert cloud.client("s3").get_object(Bucket="uploads", Key="a")["Body"].read() == b"hello"


def test_wrong_secret_json_service(cloud: Cloud) -> None:
    """DynamoDB rejects a wrong secret with InvalidSignatureException."""
    key, _secret, token = _session(cloud)

    with pytest.raises(ClientError) as caught:
        _client(cloud, "dynamodb", key, "wrong-secret", token).list_tables()

    assert caught.value.response["Error"]["Code"] == "InvalidSignatureException"
    assert caught.value.response["Error"]["Message"].startswith(
        "The request signature we calculated does not match the signature you provided.")


def test_wrong_secret_s3(cloud: Cloud) -> None:
    """S3 rejects a wrong secret with SignatureDoesNotMatch and status 403."""
    key, _secret, token = _session(cloud)

    with pytest.raises(ClientError) as caught:
        _client(cloud, "s3", key, "wrong-secret", token).put_object(
            Bucket="uploads", Key="a", Body=b"x")

    assert caught.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_missing_session_token(cloud: Cloud) -> None:
    """Temporary credentials without their session token are an unrecognized client."""
    key, secret, _token = _session(cloud)

    with pytest.raises(ClientError) as caught:
        _client(cloud, "dynamodb", key, secret, None).list_tables()

    assert caught.value.response["Error"]["Code"] == "UnrecognizedClientException"
    assert caught.value.response["Error"]["Message"] == (
        "The security token included in the request is invalid.")


def test_user_key_verified(cloud: Cloud) -> None:
    """An IAM user's access key signs with its own secret only."""
    iam = cloud.client("iam")
    iam.create_user(UserName="carol")
    created = iam.create_access_key(UserName="carol")["AccessKey"]

    _client(cloud, "dynamodb", created["AccessKeyId"], created["SecretAccessKey"],
            None).list_tables()
    with pytest.raises(ClientError) as caught:
        _client(cloud, "dynamodb", created["AccessKeyId"], "not-it", None).list_tables()

    assert caught.value.response["Error"]["Code"] == "InvalidSignatureException"


def test_unknown_credentials_not_verified(cloud: Cloud) -> None:
    """Credentials windtunnel did not issue (test/test) act as the administrator."""
    tables = _client(cloud, "dynamodb", "test", "test", None).list_tables()

    assert tables["TableNames"] == ["items"]
