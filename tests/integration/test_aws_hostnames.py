"""HTTP requests from handlers and tests to AWS hostnames are served by the emulation.

Handlers call AWS URLs with plain HTTP clients: a user pool's JWKS at
https://cognito-idp.{region}.amazonaws.com/{userPoolId}/.well-known/jwks.json
(https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-using-tokens-verifying-a-jwt.html),
presigned S3 URLs
(https://docs.aws.amazon.com/AmazonS3/latest/userguide/using-presigned-url.html) and
service endpoints (https://docs.aws.amazon.com/general/latest/gr/rande.html).
No test needs the network: every AWS hostname is served in process, and the one request
to another host goes to a server on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import boto3
import httpx
import pytest
import requests
import urllib3
from botocore.exceptions import ClientError

from windtunnel import EmulatedStack, Stack
from windtunnel.cloud.server import EndpointServer
from windtunnel.runtime.http_interception import aws_hostnames, cloud_for

HANDLER = '''
import json
import os
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import boto3
import httpx
import requests
from botocore.config import Config
from joserfc import jwt
from joserfc.jwk import KeySet

REGION = os.environ["AWS_REGION"]
POOL = os.environ["USER_POOL_ID"]
BUCKET = os.environ["BUCKET"]


def verify(event, context):
    url = f"https://cognito-idp.{REGION}.amazonaws.com/{POOL}/.well-known/jwks.json"
    with urllib.request.urlopen(url) as response:
        keys = KeySet.import_key_set(json.loads(response.read()))
    token = jwt.decode(event["token"], keys)
    claims = token.claims
    issuer = f"https://cognito-idp.{REGION}.amazonaws.com/{POOL}"
    if claims["iss"] != issuer or claims["token_use"] != "id":
        raise ValueError("token from another issuer")
    return {"alg": token.header["alg"], "username": claims["cognito:username"]}


def presigned(event, context):
    s3 = boto3.client("s3", config=Config(signature_version="s3v4"))
    put_url = s3.generate_presigned_url(
        "put_object", Params={"Bucket": BUCKET, "Key": "report.txt"}, ExpiresIn=300)
    put = requests.put(put_url, data=b"quarterly numbers")
    get_url = s3.generate_presigned_url(
        "get_object", Params={"Bucket": BUCKET, "Key": "report.txt"}, ExpiresIn=300)
    with ThreadPoolExecutor(max_workers=1) as pool:
        in_thread = pool.submit(lambda: urllib.request.urlopen(get_url).read()).result()
    return {"put": put.status_code, "httpx": httpx.get(get_url).text,
            "thread": in_thread.decode()}


def unknown_host(event, context):
    target = "AWSShineFrontendService_20170701.TranslateText"
    response = httpx.post("https://translate.us-east-1.amazonaws.com/",
                          headers={"X-Amz-Target": target}, content=b"{}")
    return {"status": response.status_code, "body": response.text,
            "error_type": response.headers.get("x-amzn-ErrorType")}
'''

TEMPLATE = '''
Transform: AWS::Serverless-2016-10-31
Resources:
  Users:
    Type: AWS::Cognito::UserPool
    Properties: {UserPoolName: users}
  WebClient:
    Type: AWS::Cognito::UserPoolClient
    Properties:
      UserPoolId: !Ref Users
      ExplicitAuthFlows: [ALLOW_ADMIN_USER_PASSWORD_AUTH, ALLOW_REFRESH_TOKEN_AUTH]
  Reports:
    Type: AWS::S3::Bucket
  Verify:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: app.verify
      CodeUri: src/
      Environment: {Variables: {USER_POOL_ID: !Ref Users, BUCKET: !Ref Reports}}
  Presign:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: app.presigned
      CodeUri: src/
      Environment: {Variables: {USER_POOL_ID: !Ref Users, BUCKET: !Ref Reports}}
      Policies:
        - S3CrudPolicy: {BucketName: !Ref Reports}
  UnknownHost:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: app.unknown_host
      CodeUri: src/
      Environment: {Variables: {USER_POOL_ID: !Ref Users, BUCKET: !Ref Reports}}
'''


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatedStack]:
    root = tmp_path_factory.mktemp("hostnames")
    (root / "src").mkdir()
    (root / "src" / "app.py").write_text(HANDLER)
    (root / "template.yaml").write_text(TEMPLATE)
    with Stack.local(root, stack_name="hostnames") as loaded:
        yield loaded


def _id_token(stack: EmulatedStack) -> str:
    cognito = stack.client("cognito-idp")
    pool = stack.physical_id("Users")
    client_id = stack.physical_id("WebClient")
    cognito.admin_create_user(UserPoolId=pool, Username="ana",
                              MessageAction="SUPPRESS")
    cognito.admin_set_user_password(UserPoolId=pool, Username="ana",
                                    Password="Correct-Horse-9", Permanent=True)
    result = cognito.admin_initiate_auth(
        UserPoolId=pool, ClientId=client_id, AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "ana", "PASSWORD": "Correct-Horse-9"})
    token: str = result["AuthenticationResult"]["IdToken"]
    return token


def test_handler_verifies_token_with_jwks(stack: EmulatedStack) -> None:
    """A handler downloads its user pool's JWKS over https with urllib.request and verifies
    an ID token of the local pool with it, unchanged."""
    result = stack.invoke("Verify", {"token": _id_token(stack)})

    assert result.function_error is None, result.payload
    assert result.payload == {"alg": "RS256", "username": "ana"}


def test_handler_uses_presigned_urls(stack: EmulatedStack) -> None:
    """URLs that a handler presigns with its own credentials work with requests, httpx and
    urllib in a thread it starts."""
    result = stack.invoke("Presign", {})

    assert result.function_error is None, result.payload
    assert result.payload == {"put": 200, "httpx": "quarterly numbers",
                              "thread": "quarterly numbers"}
    stored = stack.client("s3").get_object(Bucket=stack.physical_id("Reports"),
                                           Key="report.txt")
    assert stored["Body"].read() == b"quarterly numbers"


def test_unknown_aws_host_is_named(stack: EmulatedStack) -> None:
    """A hostname of a service the emulation lacks gets an HTTP error that names host and
    service, and no network call."""
    result = stack.invoke("UnknownHost", {})

    assert result.function_error is None, result.payload
    assert result.payload["status"] == 501
    body = json.loads(result.payload["body"])
    assert result.payload["error_type"] == "NotImplemented"
    assert "translate.us-east-1.amazonaws.com" in body["message"]
    assert "translate service" in body["message"]


def test_test_process_opts_in(stack: EmulatedStack) -> None:
    """Inside aws_hostnames(stack) the test's own urllib, urllib3, requests, httpx and
    boto3 requests to AWS hostnames reach the emulation; outside it they are not routed."""
    bucket = stack.physical_id("Reports")
    stack.client("s3").put_object(Bucket=bucket, Key="shared.txt", Body=b"shared")
    url = stack.client("s3").generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "shared.txt"}, ExpiresIn=60)

    with aws_hostnames(stack):
        with urllib.request.urlopen(url) as response:
            from_urllib = response.read()
        from_urllib3 = urllib3.PoolManager().request("GET", url).data
        from_requests = requests.get(url).content
        from_httpx = httpx.get(url).content
        plain = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test",
                                      region_name="us-east-1").client("s3")
        from_boto3 = plain.get_object(Bucket=bucket, Key="shared.txt")["Body"].read()

    assert from_urllib == b"shared"
    assert from_urllib3 == b"shared"
    assert from_requests == b"shared"
    assert from_httpx == b"shared"
    assert from_boto3 == b"shared"
    assert cloud_for(url) is None


def test_async_httpx_in_test_process(stack: EmulatedStack) -> None:
    """httpx's async client is served by the emulation too."""
    pool = stack.physical_id("Users")
    url = f"https://cognito-idp.us-east-1.amazonaws.com/{pool}/.well-known/jwks.json"

    async def fetch() -> Any:
        async with httpx.AsyncClient() as client:
            return (await client.get(url)).json()

    with aws_hostnames(stack):
        jwks = asyncio.run(fetch())

    assert [key["alg"] for key in jwks["keys"]] == ["RS256"]


def test_other_hosts_keep_default_behaviour(stack: EmulatedStack) -> None:
    """A request to a host that is not AWS's goes out as usual, here to 127.0.0.1."""
    with EndpointServer(stack.environment.cloud, port=0) as server, aws_hostnames(stack):
        health = requests.get(f"{server.url}/_windtunnel/health", timeout=10).json()
        with urllib.request.urlopen(f"{server.url}/_windtunnel/health") as response:
            from_urllib = json.loads(response.read())

    assert health == {"status": "running"}
    assert from_urllib == {"status": "running"}


def test_errors_reach_urllib_as_http_errors(stack: EmulatedStack) -> None:
    """An S3 error from the emulation reaches urllib as HTTPError with S3's XML body."""
    bucket = stack.physical_id("Reports")
    url = stack.client("s3").generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "missing.txt"}, ExpiresIn=60)

    with aws_hostnames(stack), pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(url)

    assert caught.value.code == 404
    assert b"<Code>NoSuchKey</Code>" in caught.value.read()


def test_head_keeps_content_length(stack: EmulatedStack) -> None:
    """A HEAD response keeps the object's Content-Length, with no body."""
    bucket = stack.physical_id("Reports")
    stack.client("s3").put_object(Bucket=bucket, Key="sized.txt", Body=b"12345")
    url = stack.client("s3").generate_presigned_url(
        "head_object", Params={"Bucket": bucket, "Key": "sized.txt"}, ExpiresIn=60)

    with aws_hostnames(stack):
        response = requests.head(url)

    assert response.status_code == 200
    assert response.headers["Content-Length"] == "5"
    assert response.content == b""


def test_boto3_error_in_test_process(stack: EmulatedStack) -> None:
    """A plain boto3 client in the block gets the emulation's errors as ClientError."""
    with aws_hostnames(stack):
        plain = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test",
                                      region_name="us-east-1").client("s3")
        with pytest.raises(ClientError) as caught:
            plain.head_bucket(Bucket="no-such-bucket-here")

    assert caught.value.response["Error"]["Code"] == "404"
