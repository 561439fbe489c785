"""Requests to AWS service hostnames are routed as AWS routes them.

Sources:
https://docs.aws.amazon.com/general/latest/gr/rande.html
(service endpoints: {service}.{region}.amazonaws.com, global {service}.amazonaws.com,
amazonaws.com.cn in China and the dual-stack {service}.{region}.api.aws)
https://docs.aws.amazon.com/AmazonS3/latest/userguide/VirtualHosting.html
(virtual-hosted {bucket}.s3.{region}.amazonaws.com/{key}, path-style
s3.{region}.amazonaws.com/{bucket}/{key}, legacy s3-{region} and s3.amazonaws.com, which is
us-east-1, and the Host header that selects the bucket)
https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-queue-message-identifiers.html
(queue URLs https://sqs.{region}.amazonaws.com/{account}/{queue})
https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-using-tokens-verifying-a-jwt.html
(https://cognito-idp.{region}.amazonaws.com/{userPoolId}/.well-known/jwks.json)
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import requests
from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

from windtunnel.cloud.pipeline import Cloud
from windtunnel.cloud.routing import bucket_of_host, service_of_host
from windtunnel.cloud.server import EndpointServer
from windtunnel.runtime.http_interception import aws_hostnames
from windtunnel.runtime.variables import role_credentials

ROLE = "arn:aws:iam::123456789012:role/reader"

HOSTS = [
    # hostname, (endpoint prefix, region), bucket
    ("dynamodb.eu-west-1.amazonaws.com", ("dynamodb", "eu-west-1"), None),
    ("sqs.us-east-2.amazonaws.com", ("sqs", "us-east-2"), None),
    ("cognito-idp.ap-southeast-2.amazonaws.com", ("cognito-idp", "ap-southeast-2"), None),
    ("iam.amazonaws.com", ("iam", None), None),
    ("s3.amazonaws.com", ("s3", "us-east-1"), None),
    ("s3.eu-central-1.amazonaws.com", ("s3", "eu-central-1"), None),
    ("s3-eu-west-1.amazonaws.com", ("s3", "eu-west-1"), None),
    ("reports.s3.amazonaws.com", ("s3", "us-east-1"), "reports"),
    ("reports.s3.us-west-2.amazonaws.com", ("s3", "us-west-2"), "reports"),
    ("my.reports.s3.us-west-2.amazonaws.com", ("s3", "us-west-2"), "my.reports"),
    ("reports.s3.dualstack.us-west-2.amazonaws.com", ("s3", "us-west-2"), "reports"),
    ("abc123.execute-api.us-east-1.amazonaws.com", ("execute-api", "us-east-1"), None),
    ("lambda.cn-north-1.amazonaws.com.cn", ("lambda", "cn-north-1"), None),
    ("lambda.us-east-1.api.aws", ("lambda", "us-east-1"), None),
    ("queue.amazonaws.com", ("sqs", "us-east-1"), None),
    ("example.com", None, None),
]


@pytest.mark.parametrize(("host", "expected", "bucket"), HOSTS)
def test_service_of_host(host: str, expected: tuple[str, str | None] | None,
                         bucket: str | None) -> None:
    """Each hostname names its service's endpoint prefix, region and bucket."""
    assert service_of_host(host) == expected
    assert bucket_of_host(host) == bucket


@pytest.fixture
def cloud() -> Cloud:
    cloud = Cloud(iam_mode="off")
    s3 = cloud.client("s3", "us-west-2")
    s3.create_bucket(Bucket="reports",
                     CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
    s3.put_object(Bucket="reports", Key="q1/summary.txt", Body=b"numbers")
    return cloud


def _signed(method: str, url: str, service: str, region: str, *, body: bytes = b"",
            headers: dict[str, str] | None = None,
            credentials: Credentials | None = None) -> dict[str, str]:
    """Return the headers of a request signed with SigV4 for ``url``'s host."""
    request = AWSRequest(method=method, url=url, data=body, headers=headers or {})
    signer = S3SigV4Auth if service == "s3" else SigV4Auth
    signer(credentials or Credentials("test", "test"), service, region).add_auth(request)
    return dict(request.headers.items())


S3_URLS = [
    "https://reports.s3.us-west-2.amazonaws.com/q1/summary.txt",
    "https://s3.us-west-2.amazonaws.com/reports/q1/summary.txt",
]


@pytest.mark.parametrize("url", S3_URLS, ids=["virtual-hosted", "path-style"])
def test_s3_addressing_styles(cloud: Cloud, url: str) -> None:
    """Virtual-hosted and path-style URLs both name the bucket and the key."""
    with aws_hostnames(cloud):
        response = requests.get(url, headers=_signed("GET", url, "s3", "us-west-2"))

    assert response.status_code == 200
    assert response.content == b"numbers"


def test_issued_credentials_sign_for_aws_host(cloud: Cloud) -> None:
    """A signature made with issued credentials for the AWS hostname is verified and
    accepted, and a wrong secret is rejected."""
    key, secret, token = role_credentials(ROLE, "reader-function")
    cloud.register_role_session(key, ROLE, "reader-function", secret_key=secret,
                                session_token=token)
    url = S3_URLS[0]
    good = _signed("GET", url, "s3", "us-west-2", credentials=Credentials(key, secret, token))
    bad = _signed("GET", url, "s3", "us-west-2",
                  credentials=Credentials(key, "wrong-secret", token))

    with aws_hostnames(cloud):
        accepted = requests.get(url, headers=good)
        rejected = requests.get(url, headers=bad)

    assert accepted.status_code == 200
    assert rejected.status_code == 403
    assert b"<Code>SignatureDoesNotMatch</Code>" in rejected.content


@pytest.fixture
def served(cloud: Cloud) -> Iterator[tuple[Cloud, int]]:
    server = EndpointServer(cloud, port=0).start()
    try:
        yield cloud, server.port
    finally:
        server.stop()


def _send(port: int, method: str, path: str, headers: dict[str, str]) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request(method, path, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def test_host_header_selects_bucket_at_local_address(served: tuple[Cloud, int]) -> None:
    """A request at the local endpoint whose Host header is a virtual-hosted bucket's
    hostname, signed for that hostname, reads from that bucket."""
    _cloud, port = served
    host = "reports.s3.us-west-2.amazonaws.com"
    headers = _signed("GET", f"http://{host}/q1/summary.txt", "s3", "us-west-2")
    headers["Host"] = host

    status, body = _send(port, "GET", "/q1/summary.txt", headers)

    assert status == 200
    assert body == b"numbers"


def test_local_address_signature(served: tuple[Cloud, int]) -> None:
    """A request signed for the local address itself is routed by its credential scope."""
    _cloud, port = served
    url = f"http://127.0.0.1:{port}/reports/q1/summary.txt"

    status, body = _send(port, "GET", "/reports/q1/summary.txt",
                         _signed("GET", url, "s3", "us-west-2"))

    assert status == 200
    assert body == b"numbers"


def test_presigned_url_for_aws_host_at_local_address(served: tuple[Cloud, int]) -> None:
    """A path-style URL presigned for AWS and re-pointed at the local endpoint keeps its
    valid signature."""
    cloud, port = served
    key, secret, token = role_credentials(ROLE, "reader-function")
    cloud.register_role_session(key, ROLE, "reader-function", secret_key=secret,
                                session_token=token)
    s3 = boto3.session.Session(aws_access_key_id=key, aws_secret_access_key=secret,
                               aws_session_token=token, region_name="us-west-2").client(
        "s3", config=Config(signature_version="s3v4", s3={"addressing_style": "path"}))
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "reports",
                                                          "Key": "q1/summary.txt"})
    local = url.replace("https://s3.us-west-2.amazonaws.com", f"http://127.0.0.1:{port}")

    good = requests.get(local, timeout=10)
    tampered = requests.get(local.replace("summary", "other"), timeout=10)

    assert good.status_code == 200
    assert good.content == b"numbers"
    assert tampered.status_code == 403


def test_sqs_queue_url(cloud: Cloud) -> None:
    """A query-protocol request posted to a queue URL acts on that queue."""
    queue_url = cloud.client("sqs", "us-east-2").create_queue(QueueName="orders")["QueueUrl"]
    body = b"Action=SendMessage&MessageBody=hello&Version=2012-11-05"
    headers = {"Content-Type": "application/x-www-form-urlencoded"}

    with aws_hostnames(cloud):
        response = requests.post(queue_url, data=body, headers=_signed(
            "POST", queue_url, "sqs", "us-east-2", body=body, headers=headers))

    assert queue_url == "https://sqs.us-east-2.amazonaws.com/123456789012/orders"
    assert response.status_code == 200
    assert b"<MD5OfMessageBody>5d41402abc4b2a76b9719d911017c592</MD5OfMessageBody>" in \
        response.content
    attributes = cloud.client("sqs", "us-east-2").get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages"])
    assert attributes["Attributes"]["ApproximateNumberOfMessages"] == "1"


def test_cognito_idp_unsigned_and_jwks(cloud: Cloud) -> None:
    """cognito-idp serves a pool's JWKS and its unsigned user operations on its hostname."""
    cognito = cloud.client("cognito-idp")
    pool = cognito.create_user_pool(PoolName="users")["UserPool"]["Id"]
    client_id = cognito.create_user_pool_client(
        UserPoolId=pool, ClientName="web",
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )["UserPoolClient"]["ClientId"]
    host = "https://cognito-idp.us-east-1.amazonaws.com"
    sign_up: dict[str, Any] = {"ClientId": client_id, "Username": "ana",
                               "Password": "Correct-Horse-9"}

    with aws_hostnames(cloud):
        jwks = requests.get(f"{host}/{pool}/.well-known/jwks.json").json()
        signed_up = requests.post(f"{host}/", data=json.dumps(sign_up), headers={
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": "AWSCognitoIdentityProviderService.SignUp"})

    assert [key["alg"] for key in jwks["keys"]] == ["RS256"]
    assert signed_up.status_code == 200
    assert signed_up.json()["UserConfirmed"] is False


def test_unknown_service_host(cloud: Cloud) -> None:
    """A hostname that names no emulated service gets 501 naming host and service."""
    with aws_hostnames(cloud):
        response = requests.get("https://notaservice.eu-west-1.amazonaws.com/things")

    assert response.status_code == 501
    message = response.json()["message"]
    assert "notaservice service in eu-west-1" in message
    assert "host notaservice.eu-west-1.amazonaws.com" in message
