"""Handlers in child processes reach AWS hostnames through the endpoint, with their Host.

With ``isolation="process"`` a handler runs in its own Python process, which reaches the
emulation over HTTP at ``AWS_ENDPOINT_URL``. Its urllib, urllib3/requests and httpx
requests to AWS hostnames go to that endpoint with the original ``Host`` header, so that
they are served as AWS serves them:

- a user pool's JWKS at
  https://cognito-idp.{region}.amazonaws.com/{userPoolId}/.well-known/jwks.json, which
  verifies the pool's ID tokens
  (https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-using-tokens-verifying-a-jwt.html);
- presigned S3 URLs, whose signature covers the Host header
  (https://docs.aws.amazon.com/AmazonS3/latest/userguide/ShareObjectPreSignedURL.html);
- an HTTP API's default endpoint, https://{api-id}.execute-api.{region}.amazonaws.com
  (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop.html#http-api-develop-endpoint).

Requests to other hosts go where they are addressed; here, to a server on 127.0.0.1
that the test starts. Nothing reaches the network.
"""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

from windtunnel import EmulatedStack, Stack

HANDLER = '''
import asyncio
import json
import os
import urllib.request

import boto3
import httpx
import requests
import urllib3
from botocore.config import Config
from joserfc import jwt
from joserfc.jwk import KeySet

REGION = os.environ["AWS_REGION"]
POOL = os.environ["USER_POOL_ID"]
BUCKET = os.environ["BUCKET"]
API = os.environ["API_ID"]


def verify(event, context):
    url = f"https://cognito-idp.{REGION}.amazonaws.com/{POOL}/.well-known/jwks.json"
    with urllib.request.urlopen(url) as response:
        keys = KeySet.import_key_set(json.loads(response.read()))
    token = jwt.decode(event["token"], keys)
    claims = token.claims
    issuer = f"https://cognito-idp.{REGION}.amazonaws.com/{POOL}"
    if claims["iss"] != issuer or claims["token_use"] != "id":
        raise ValueError("token from another issuer")
    return {"alg": token.header["alg"], "username": claims["cognito:username"],
            "pid": os.getpid()}


def presigned(event, context):
    # A client for S3's AWS hostname, as code that sets its own endpoint has it: its
    # presigned URLs name s3.{region}.amazonaws.com, not the local endpoint.
    s3 = boto3.client("s3", endpoint_url=f"https://s3.{REGION}.amazonaws.com",
                      config=Config(signature_version="s3v4"))
    put_url = s3.generate_presigned_url(
        "put_object", Params={"Bucket": BUCKET, "Key": "report.txt"}, ExpiresIn=300)
    put = requests.put(put_url, data=b"quarterly numbers")
    get_url = s3.generate_presigned_url(
        "get_object", Params={"Bucket": BUCKET, "Key": "report.txt"}, ExpiresIn=300)

    async def fetch_async():
        async with httpx.AsyncClient() as client:
            return (await client.get(get_url)).text

    with urllib.request.urlopen(get_url) as response:
        from_urllib = response.read().decode()
    return {
        "put": put.status_code,
        "get_url": get_url,
        "urllib": from_urllib,
        "urllib3": urllib3.PoolManager().request("GET", get_url).data.decode(),
        "httpx": httpx.get(get_url).text,
        "httpx_async": asyncio.run(fetch_async()),
        "boto3": s3.get_object(Bucket=BUCKET, Key="report.txt")["Body"].read().decode(),
    }


def call_api(event, context):
    url = f"https://{API}.execute-api.{REGION}.amazonaws.com/hello"
    with urllib.request.urlopen(url) as response:
        return {"status": response.status, "body": response.read().decode()}


def hello(event, context):
    return {"statusCode": 200, "body": "hello over " + event["headers"]["host"]}


def other_host(event, context):
    url = event["url"]
    with urllib.request.urlopen(url + "/urllib") as response:
        from_urllib = response.read().decode()
    return {"urllib": from_urllib, "requests": requests.get(url + "/requests").text,
            "httpx": httpx.get(url + "/httpx").text}
'''

TEMPLATE = '''
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Runtime: python3.12
    CodeUri: src/
    Timeout: 30
    Environment:
      Variables: {USER_POOL_ID: !Ref Users, BUCKET: !Ref Reports, API_ID: !Ref Api}
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
  Api:
    Type: AWS::Serverless::HttpApi
  Hello:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.hello
      Environment: {Variables: {API_ID: unused}}
      Events:
        Get: {Type: HttpApi, Properties: {ApiId: !Ref Api, Path: /hello, Method: GET}}
  Verify:
    Type: AWS::Serverless::Function
    Properties: {Handler: app.verify}
  Presign:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.presigned
      Policies:
        - S3CrudPolicy: {BucketName: !Ref Reports}
  CallApi:
    Type: AWS::Serverless::Function
    Properties: {Handler: app.call_api}
  OtherHost:
    Type: AWS::Serverless::Function
    Properties: {Handler: app.other_host}
'''

PASSWORD = "Correct-Horse-9"


def _write_app(root: Path) -> Path:
    (root / "src").mkdir()
    (root / "src" / "app.py").write_text(HANDLER)
    (root / "template.yaml").write_text(TEMPLATE)
    return root


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatedStack]:
    root = _write_app(tmp_path_factory.mktemp("child-hostnames"))
    with Stack.local(root, stack_name="child-hostnames", isolation="process") as loaded:
        yield loaded


@pytest.fixture(scope="module")
def https_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatedStack]:
    """A stack served over https, with a certificate authority of its own."""
    root = _write_app(tmp_path_factory.mktemp("child-hostnames-https"))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_DATA_HOME", str(root / "data"))
        for variable in ("AWS_CA_BUNDLE", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE",
                         "NODE_EXTRA_CA_CERTS"):
            patch.delenv(variable, raising=False)
        with Stack.local(root, stack_name="child-hostnames-https",
                         isolation="process") as loaded:
            loaded.serve(https=True)
            yield loaded


def _id_token(stack: EmulatedStack, username: str) -> str:
    cognito = stack.client("cognito-idp")
    pool = stack.physical_id("Users")
    cognito.admin_create_user(UserPoolId=pool, Username=username, MessageAction="SUPPRESS")
    cognito.admin_set_user_password(UserPoolId=pool, Username=username, Password=PASSWORD,
                                    Permanent=True)
    result = cognito.admin_initiate_auth(
        UserPoolId=pool, ClientId=stack.physical_id("WebClient"),
        AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": username, "PASSWORD": PASSWORD})
    token: str = result["AuthenticationResult"]["IdToken"]
    return token


def test_handler_verifies_token_with_jwks(stack: EmulatedStack) -> None:
    """A handler in a child process downloads its user pool's JWKS from the pool's AWS
    URL with urllib.request and verifies an ID token of the local pool, unchanged."""
    result = stack.invoke("Verify", {"token": _id_token(stack, "ana")})

    assert result.function_error is None, result.logs
    assert result.payload["alg"] == "RS256"
    assert result.payload["username"] == "ana"


def test_handler_runs_in_child_process(stack: EmulatedStack) -> None:
    """The handler runs in another process than the test, so nothing is served in
    process."""
    import os

    result = stack.invoke("Verify", {"token": _id_token(stack, "ben")})

    assert result.function_error is None, result.logs
    assert result.payload["pid"] != os.getpid()


def test_presigned_urls_with_every_client(stack: EmulatedStack) -> None:
    """URLs presigned for S3's AWS hostname work with requests, urllib, urllib3, httpx
    (sync and async) and a boto3 client for that hostname."""
    result = stack.invoke("Presign", {})

    assert result.function_error is None, result.logs
    payload = result.payload
    assert payload["get_url"].startswith("https://s3.us-east-1.amazonaws.com/")
    assert payload["put"] == 200
    for client in ("urllib", "urllib3", "httpx", "httpx_async", "boto3"):
        assert payload[client] == "quarterly numbers", client
    stored = stack.client("s3").get_object(Bucket=stack.physical_id("Reports"),
                                           Key="report.txt")
    assert stored["Body"].read() == b"quarterly numbers"


def test_execute_api_hostname(stack: EmulatedStack) -> None:
    """A request to an HTTP API's execute-api hostname reaches its route, and the
    integration receives that hostname in the Host header."""
    result = stack.invoke("CallApi", {})

    assert result.function_error is None, result.logs
    api_id = stack.physical_id("Api")
    assert result.payload == {
        "status": 200, "body": f"hello over {api_id}.execute-api.us-east-1.amazonaws.com"}


class _RecordingHandler(http.server.BaseHTTPRequestHandler):
    """Responds to every GET with the path it received, and records the Host header."""

    hosts: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        self.hosts.append(self.headers["Host"])
        body = f"local {self.path}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return None


def test_other_hosts_keep_default_behaviour(stack: EmulatedStack) -> None:
    """Requests to a host that is not AWS's go to that host, here a server on 127.0.0.1."""
    _RecordingHandler.hosts = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _RecordingHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        address = f"127.0.0.1:{server.server_address[1]}"
        result = stack.invoke("OtherHost", {"url": f"http://{address}"})
    finally:
        server.shutdown()
        server.server_close()

    assert result.function_error is None, result.logs
    assert result.payload == {"urllib": "local /urllib", "requests": "local /requests",
                              "httpx": "local /httpx"}
    assert _RecordingHandler.hosts == [address] * 3


def test_https_endpoint_verifies_token(https_stack: EmulatedStack) -> None:
    """With an https endpoint, the child's request for the JWKS goes to it over TLS,
    trusting the local certificate authority."""
    assert https_stack.environment.cloud.endpoint_url.startswith("https://127.0.0.1:")

    result = https_stack.invoke("Verify", {"token": _id_token(https_stack, "cy")})

    assert result.function_error is None, result.logs
    assert result.payload["username"] == "cy"


def test_https_endpoint_serves_presigned_urls(https_stack: EmulatedStack) -> None:
    """With an https endpoint, presigned URLs for S3's AWS hostname work with every
    client in the child."""
    result = https_stack.invoke("Presign", {})

    assert result.function_error is None, result.logs
    for client in ("urllib", "urllib3", "httpx", "httpx_async", "boto3"):
        assert result.payload[client] == "quarterly numbers", client
