"""Presigned S3 URLs from a stack served over https work with the local authority's bundle.

A presigned URL grants access to one object until it expires, and after that S3 returns
403 AccessDenied with the message "Request has expired"
(https://docs.aws.amazon.com/AmazonS3/latest/userguide/ShareObjectPreSignedURL.html,
https://docs.aws.amazon.com/AmazonS3/latest/userguide/using-presigned-url.html).
With ``stack.serve(https=True)`` a handler's SDK is pointed at the https endpoint, so the
URLs it presigns are https URLs, and a client verifies them with ``stack.ca_bundle``. The
requests go to the endpoint on 127.0.0.1 over a real socket.
"""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from windtunnel import EmulatedStack, Stack
from windtunnel.cloud.tls import CertificateAuthority

HANDLER = '''
import os

import boto3

def presign(event, context):
    s3 = boto3.client("s3")
    return s3.generate_presigned_url(
        "get_object", Params={"Bucket": os.environ["BUCKET"], "Key": event["key"]},
        ExpiresIn=event["expires_in"])
'''

TEMPLATE = '''
Transform: AWS::Serverless-2016-10-31
Resources:
  Reports:
    Type: AWS::S3::Bucket
  Presign:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      CodeUri: src/
      Handler: app.presign
      Environment: {Variables: {BUCKET: !Ref Reports}}
      Policies:
        - S3ReadPolicy: {BucketName: !Ref Reports}
'''

TRUST_VARIABLES = ("AWS_CA_BUNDLE", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "NODE_EXTRA_CA_CERTS")


@pytest.fixture
def data_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data directory of the test's own, where the local authority is created."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    for variable in TRUST_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    return tmp_path / "data"


@pytest.fixture
def stack(tmp_path: Path, data_home: Path) -> Iterator[EmulatedStack]:
    (tmp_path / "app" / "src").mkdir(parents=True)
    (tmp_path / "app" / "src" / "app.py").write_text(HANDLER)
    (tmp_path / "app" / "template.yaml").write_text(TEMPLATE)
    with Stack.local(tmp_path / "app", stack_name="presigned-https") as loaded:
        yield loaded


def _error(response: requests.Response) -> tuple[str | None, str | None]:
    # S3's error documents have no XML namespace.
    root = ElementTree.fromstring(response.content)
    return root.findtext("Code"), root.findtext("Message")


def test_ca_bundle_is_local_authority(stack: EmulatedStack, data_home: Path) -> None:
    """``stack.ca_bundle`` creates the authority on first use and names its bundle, which
    starts with the authority's certificate."""
    authority = CertificateAuthority()
    assert not authority.bundle_path.exists()

    bundle = stack.ca_bundle

    assert bundle == str(authority.bundle_path)
    assert Path(bundle).is_relative_to(data_home)
    assert Path(bundle).read_bytes().startswith(authority.certificate_path.read_bytes().strip())


def test_presigned_url_over_https(stack: EmulatedStack) -> None:
    """A URL presigned in a handler is an https URL of the endpoint, and requests gets
    the object with ``verify=stack.ca_bundle``."""
    endpoint = stack.serve(https=True)
    stack.client("s3").put_object(Bucket=stack.physical_id("Reports"), Key="q3.txt",
                                  Body=b"quarterly numbers")

    result = stack.invoke("Presign", {"key": "q3.txt", "expires_in": 300})

    assert result.function_error is None, result.logs
    url = result.payload
    assert url.startswith("https://")
    assert url.startswith(f"{endpoint}/")
    response = requests.get(url, verify=stack.ca_bundle, timeout=10)
    assert response.status_code == 200
    assert response.content == b"quarterly numbers"


def test_presigned_url_needs_bundle(stack: EmulatedStack) -> None:
    """Without the local authority's bundle, the endpoint's certificate does not verify."""
    stack.serve(https=True)
    result = stack.invoke("Presign", {"key": "q3.txt", "expires_in": 300})
    assert result.function_error is None, result.logs

    with pytest.raises(requests.exceptions.SSLError):
        requests.get(result.payload, timeout=10)


def test_expired_presigned_url(stack: EmulatedStack) -> None:
    """Once its expiry has passed on the stack's clock, the URL gets S3's 403
    AccessDenied "Request has expired"."""
    stack.serve(https=True)
    stack.client("s3").put_object(Bucket=stack.physical_id("Reports"), Key="q3.txt",
                                  Body=b"quarterly numbers")
    result = stack.invoke("Presign", {"key": "q3.txt", "expires_in": 60})
    assert result.function_error is None, result.logs
    url = result.payload

    before = requests.get(url, verify=stack.ca_bundle, timeout=10)
    stack.clock.advance(61)
    after = requests.get(url, verify=stack.ca_bundle, timeout=10)

    assert before.status_code == 200
    assert after.status_code == 403
    code, message = _error(after)
    assert code == "AccessDenied"
    assert message == "Request has expired"
