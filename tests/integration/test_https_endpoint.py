"""The endpoint over HTTPS, with a certificate from the local certificate authority.

Clients verify the certificate as Python's ``ssl`` module does by default
(https://docs.python.org/3/library/ssl.html#ssl.create_default_context). An API's
hostname is ``{api id}.execute-api.{region}.amazonaws.com``
(https://docs.aws.amazon.com/apigateway/latest/developerguide/how-to-call-api.html).
Handlers trust the authority through AWS_CA_BUNDLE, which botocore reads
(https://docs.aws.amazon.com/cli/latest/userguide/cli-configure-envvars.html),
REQUESTS_CA_BUNDLE, SSL_CERT_FILE and NODE_EXTRA_CA_CERTS
(https://nodejs.org/api/cli.html#node_extra_ca_certsfile).
"""

from __future__ import annotations

import socket
import ssl
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.unit.cli.harness import run_command

from windtunnel import Stack
from windtunnel.cloud.pipeline import Cloud
from windtunnel.cloud.server import EndpointServer
from windtunnel.cloud.tls import CertificateAuthority

TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
Resources:
  Api:
    Type: AWS::Serverless::HttpApi
  Hello:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      CodeUri: src/
      Handler: app.hello
      Events:
        Get: {Type: HttpApi, Properties: {ApiId: !Ref Api, Path: /hello, Method: GET}}
  Trust:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      CodeUri: src/
      Handler: app.trust
      Timeout: 30
"""

HANDLER = '''
import os

import boto3

NAMES = ("AWS_ENDPOINT_URL", "AWS_CA_BUNDLE", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE",
         "NODE_EXTRA_CA_CERTS")


def hello(event, context):
    return {"statusCode": 200, "body": "hello over " + event["headers"].get("host", "")}


def trust(event, context):
    variables = {name: os.environ.get(name) for name in NAMES}
    if event.get("call"):
        identity = boto3.client("sts").get_caller_identity()
        variables["account"] = identity["Account"]
    return variables
'''

TRUST_VARIABLES = ("AWS_CA_BUNDLE", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "NODE_EXTRA_CA_CERTS")


@pytest.fixture
def authority(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CertificateAuthority:
    """The user's authority, in a data directory of the test's own."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    for variable in TRUST_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    return CertificateAuthority().ensure()


@pytest.fixture
def app(tmp_path: Path) -> Path:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "template.yaml").write_text(TEMPLATE)
    (tmp_path / "app" / "src").mkdir()
    (tmp_path / "app" / "src" / "app.py").write_text(HANDLER)
    return tmp_path / "app"


@pytest.fixture
def https_server(authority: CertificateAuthority) -> Iterator[EndpointServer]:
    with EndpointServer(Cloud(), port=0, ssl_context=authority.server_context()) as server:
        yield server


def test_https_request_verifies_against_authority(https_server: EndpointServer,
                                                  authority: CertificateAuthority) -> None:
    """httpx with the bundle gets the health check over HTTPS from 127.0.0.1."""
    assert https_server.url.startswith("https://127.0.0.1:")

    response = httpx.get(f"{https_server.url}/_windtunnel/health",
                         verify=authority.client_context())

    assert response.status_code == 200
    assert response.json() == {"status": "running"}


def test_https_request_with_bundle_file(https_server: EndpointServer,
                                        authority: CertificateAuthority) -> None:
    """A default ssl context loaded from the bundle path verifies the endpoint."""
    context = ssl.create_default_context(cafile=str(authority.bundle_path))
    url = f"https://localhost:{https_server.port}/_windtunnel/health"

    response = httpx.get(url, verify=context)

    assert response.status_code == 200


def test_client_without_authority_is_rejected(https_server: EndpointServer) -> None:
    """A client that trusts only the public roots fails certificate verification."""
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        httpx.get(f"{https_server.url}/_windtunnel/health")


def test_silent_client_does_not_block_others(https_server: EndpointServer,
                                             authority: CertificateAuthority) -> None:
    """A connection that never starts its handshake does not stop the server from serving others."""
    with socket.create_connection(("127.0.0.1", https_server.port)):
        response = httpx.get(f"{https_server.url}/_windtunnel/health",
                             verify=authority.client_context(), timeout=10)

    assert response.status_code == 200


def test_api_served_under_aws_hostname(app: Path, authority: CertificateAuthority) -> None:
    """A TLS request with the API's AWS hostname verifies and reaches its route."""
    with Stack.local(app, region="eu-west-1") as stack, \
            EndpointServer(stack.environment.cloud, port=0,
                           ssl_context=authority.server_context()) as server:
        api_id = stack.physical_id("Api")
        hostname = f"{api_id}.execute-api.eu-west-1.amazonaws.com"
        context = authority.client_context()
        with socket.create_connection(("127.0.0.1", server.port)) as raw, \
                context.wrap_socket(raw, server_hostname=hostname) as tls:
            tls.sendall(f"GET /hello HTTP/1.1\r\nHost: {hostname}\r\n"
                        f"Connection: close\r\n\r\n".encode())
            received = b""
            while chunk := tls.recv(65536):
                received += chunk

    head, _, body = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    assert body == f"hello over {hostname}".encode()


def test_handler_trusts_authority_over_https(app: Path,
                                             authority: CertificateAuthority) -> None:
    """A handler in its own process calls the HTTPS endpoint with the authority trusted."""
    with Stack.local(app, isolation="process") as stack, \
            EndpointServer(stack.environment.cloud, port=0,
                           ssl_context=authority.server_context()) as server:
        stack.environment.set_endpoint_url(server.url)

        result = stack.invoke("Trust", {"call": True})

    assert result.error is None, result.logs
    variables = result.payload
    assert variables["AWS_ENDPOINT_URL"] == server.url
    assert variables["account"] == "123456789012"
    assert variables["AWS_CA_BUNDLE"] == str(authority.bundle_path)
    assert variables["REQUESTS_CA_BUNDLE"] == str(authority.bundle_path)
    assert variables["SSL_CERT_FILE"] == str(authority.bundle_path)
    assert variables["NODE_EXTRA_CA_CERTS"] == str(authority.certificate_path)


def test_handler_environment_without_tls(app: Path, authority: CertificateAuthority) -> None:
    """Over plain HTTP, a handler gets no variable that names the authority."""
    with Stack.local(app) as stack:
        result = stack.invoke("Trust", {})

    assert result.error is None, result.logs
    variables = result.payload
    assert variables["AWS_ENDPOINT_URL"].startswith("http://")
    for name in TRUST_VARIABLES:
        assert variables[name] is None, name


def test_ca_command_prints_bundle_path(authority: CertificateAuthority, tmp_path: Path) -> None:
    """'windtunnel ca' prints the bundle path; with --print, the authority's PEM."""
    path = run_command("ca", "ca", cwd=tmp_path, timeout=60)
    pem = run_command("ca", "ca", "--print", cwd=tmp_path, timeout=60)

    assert path.returncode == 0, path.stderr
    assert path.stdout == f"{authority.bundle_path}\n"
    assert pem.returncode == 0, pem.stderr
    assert pem.stdout == authority.certificate_path.read_text()
    assert pem.stdout.startswith("-----BEGIN CERTIFICATE-----")


def test_up_serves_https_to_command(app: Path, authority: CertificateAuthority,
                                    tmp_path: Path) -> None:
    """'up --https' gives COMMAND an https endpoint and a bundle that verifies it."""
    script = ("import boto3, os; "
              "print('ENDPOINT', os.environ['AWS_ENDPOINT_URL']); "
              "print('BUNDLE', os.environ['AWS_CA_BUNDLE']); "
              "print('ACCOUNT', boto3.client('sts').get_caller_identity()['Account'])")

    result = run_command("up", "up", str(app), "--port", "0", "--https-port", "0", "--https",
                         "--", sys.executable, "-c", script, cwd=tmp_path, timeout=120)

    assert result.returncode == 0, result.stderr
    assert "ENDPOINT https://127.0.0.1:" in result.stdout
    assert f"BUNDLE {authority.bundle_path}\n" in result.stdout
    assert "ACCOUNT 123456789012" in result.stdout
    assert "windtunnel: serving HTTPS on https://127.0.0.1:" in result.stdout


def test_stack_serves_https(app: Path, authority: CertificateAuthority) -> None:
    """``stack.serve(https=True)`` serves the endpoint over TLS with the authority's
    certificate, and the stack's outputs name the https endpoint."""
    with Stack.local(app) as stack:
        url = stack.serve(https=True)
        response = httpx.post(url, data={"Action": "GetCallerIdentity"},
                              verify=authority.client_context())

        assert url.startswith("https://127.0.0.1:")
        assert stack.environment.cloud.endpoint_url == url
        assert response.status_code == 403
        assert "MissingAuthenticationToken" in response.text
