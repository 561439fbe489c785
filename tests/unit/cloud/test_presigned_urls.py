"""Presigned URLs are checked as S3 checks them: parameters, expiry and signature.

Sources:
https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html
(X-Amz-Algorithm, X-Amz-Credential, X-Amz-Date, X-Amz-Expires at most 604800 seconds,
X-Amz-SignedHeaders, X-Amz-Signature; UNSIGNED-PAYLOAD)
https://docs.aws.amazon.com/AmazonS3/latest/userguide/RESTAuthentication.html
(version 2 query string: AWSAccessKeyId, Expires, Signature)
https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html
(AccessDenied 403, SignatureDoesNotMatch 403, AuthorizationQueryParametersError 400, and
the XML error shape <Error><Code/><Message/><RequestId/></Error>)
"""

from __future__ import annotations

import datetime
import xml.etree.ElementTree as ElementTree
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
import requests
from botocore.config import Config

from windtunnel.cloud.pipeline import Cloud
from windtunnel.cloud.presigned import check_presigned_url, read_presigned_url
from windtunnel.cloud.protocols import AwsError
from windtunnel.runtime.http_interception import aws_hostnames
from windtunnel.runtime.variables import role_credentials

ROLE = "arn:aws:iam::123456789012:role/uploader"
V4 = Config(signature_version="s3v4")
V2 = Config(signature_version="s3")


def _s3(config: Config, region: str = "us-east-1", token: str | None = None) -> Any:
    return boto3.session.Session(aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret",
                                 aws_session_token=token, region_name=region
                                 ).client("s3", config=config)


def _presign(config: Config, expires: int = 60, *, method: str = "get_object",
             token: str | None = None, region: str = "us-east-1") -> str:
    url: str = _s3(config, region, token).generate_presigned_url(
        method, Params={"Bucket": "reports", "Key": "q1/summary.txt"}, ExpiresIn=expires)
    return url


def _signed_at(url: str, expires: int = 60) -> datetime.datetime:
    """Return the signing time that the URL states, read from its query string."""
    query = parse_qs(urlsplit(url).query)
    if "X-Amz-Date" in query:
        return datetime.datetime.strptime(query["X-Amz-Date"][0], "%Y%m%dT%H%M%SZ").replace(
            tzinfo=datetime.UTC)
    return datetime.datetime.fromtimestamp(int(query["Expires"][0]) - expires, datetime.UTC)


def _error(url: str, *, now: datetime.datetime, secret: str | None = "secret",
           token: str | None = None, method: str = "GET") -> AwsError | None:
    try:
        check_presigned_url(method, url, {}, b"", now=now, secret=secret, session_token=token)
    except AwsError as error:
        return error
    return None


@pytest.mark.parametrize("config", [V4, V2], ids=["sigv4", "sigv2"])
def test_valid_until_expiry(config: Config) -> None:
    """A URL is accepted up to its lifetime and rejected from then on."""
    url = _presign(config, expires=60)
    signed_at = _signed_at(url)

    assert _error(url, now=signed_at + datetime.timedelta(seconds=59)) is None
    expired = _error(url, now=signed_at + datetime.timedelta(seconds=60))

    assert expired is not None
    assert (expired.code, expired.message, expired.status) == (
        "AccessDenied", "Request has expired", 403)


@pytest.mark.parametrize("config", [V4, V2], ids=["sigv4", "sigv2"])
def test_tampered_url(config: Config) -> None:
    """Changing the key in a signed URL makes the signature mismatch."""
    url = _presign(config).replace("summary.txt", "salaries.txt")

    error = _error(url, now=_signed_at(url))

    assert error is not None
    assert (error.code, error.status) == ("SignatureDoesNotMatch", 403)
    assert error.message == ("The request signature we calculated does not match the "
                             "signature you provided. Check your key and signing method.")


def test_wrong_secret() -> None:
    """A URL signed with another secret than the key's is rejected."""
    url = _presign(V4)
    error = _error(url, now=_signed_at(url), secret="other-secret")

    assert error is not None
    assert error.code == "SignatureDoesNotMatch"


def test_unknown_secret_checks_expiry_only() -> None:
    """Without the key's secret the signature cannot be checked, but expiry is."""
    url = _presign(V4).replace("summary.txt", "salaries.txt")

    assert _error(url, now=_signed_at(url), secret=None) is None
    expired = _error(url, now=_signed_at(url) + datetime.timedelta(hours=1), secret=None)
    assert expired is not None
    assert expired.code == "AccessDenied"


def test_session_token_must_match() -> None:
    """A URL signed with temporary credentials carries their session token."""
    url = _presign(V4, token="token-a")

    assert _error(url, now=_signed_at(url), token="token-a") is None
    wrong = _error(url, now=_signed_at(url), token="token-b")
    assert wrong is not None
    assert (wrong.code, wrong.status) == ("InvalidToken", 400)


def test_expires_above_seven_days() -> None:
    """X-Amz-Expires above 604800 seconds is rejected as a malformed query parameter."""
    url = _presign(V4, expires=604801)
    error = _error(url, now=_signed_at(url, 604801))

    assert error is not None
    assert (error.code, error.status) == ("AuthorizationQueryParametersError", 400)
    assert error.message == ("X-Amz-Expires must be less than a week (in seconds) that is "
                             "604800")


def test_missing_parameter() -> None:
    """A version 4 URL without one of its six parameters is rejected."""
    url = _presign(V4)
    without_date = "&".join(part for part in url.split("&")
                            if not part.startswith("X-Amz-Date="))

    error = _error(without_date, now=_signed_at(url))

    assert error is not None
    assert (error.code, error.status) == ("AuthorizationQueryParametersError", 400)


def test_read_presigned_url() -> None:
    """The lifetime and credential scope are read from the parameters."""
    url = _presign(V4, expires=300, region="eu-west-1")
    presigned = read_presigned_url(url)

    assert presigned is not None
    assert presigned.version == 4
    assert (presigned.access_key, presigned.region, presigned.service) == (
        "AKIDEXAMPLE", "eu-west-1", "s3")
    assert presigned.expires_at == _signed_at(url) + datetime.timedelta(seconds=300)
    assert read_presigned_url("https://reports.s3.amazonaws.com/q1/summary.txt") is None


# --- through the embedded cloud ----------------------------------------------------------

@pytest.fixture
def cloud() -> Cloud:
    cloud = Cloud(iam_mode="off")
    cloud.client("s3").create_bucket(Bucket="reports")
    cloud.client("s3").put_object(Bucket="reports", Key="q1/summary.txt", Body=b"numbers")
    return cloud


def _issued_client(cloud: Cloud, config: Config) -> Any:
    key, secret, token = role_credentials(ROLE, "uploader-function")
    cloud.register_role_session(key, ROLE, "uploader-function", secret_key=secret,
                                session_token=token)
    return boto3.session.Session(aws_access_key_id=key, aws_secret_access_key=secret,
                                 aws_session_token=token, region_name="us-east-1"
                                 ).client("s3", config=config)


def _xml_error(body: bytes) -> tuple[str | None, str | None]:
    root = ElementTree.fromstring(body)
    assert root.tag == "Error"
    assert root.findtext("RequestId")
    return root.findtext("Code"), root.findtext("Message")


def test_cloud_serves_issued_presigned_url(cloud: Cloud) -> None:
    """A URL presigned with issued credentials downloads the object."""
    url = _issued_client(cloud, V4).generate_presigned_url(
        "get_object", Params={"Bucket": "reports", "Key": "q1/summary.txt"}, ExpiresIn=60)

    response = cloud.handle_http("GET", url, {}, b"")

    assert response.status == 200
    assert response.body == b"numbers"


def test_cloud_rejects_tampered_url_in_xml(cloud: Cloud) -> None:
    """A tampered URL signed with issued credentials gets S3's XML SignatureDoesNotMatch."""
    url = _issued_client(cloud, V4).generate_presigned_url(
        "get_object", Params={"Bucket": "reports", "Key": "q1/summary.txt"}, ExpiresIn=60)

    response = cloud.handle_http("GET", url.replace("X-Amz-Expires=60", "X-Amz-Expires=600"),
                                 {}, b"")

    assert response.status == 403
    assert _xml_error(response.body)[0] == "SignatureDoesNotMatch"


def test_expiry_follows_stack_clock(cloud: Cloud) -> None:
    """Expiry is checked against the emulation's clock, which tests move forward."""
    url = _issued_client(cloud, V4).generate_presigned_url(
        "get_object", Params={"Bucket": "reports", "Key": "q1/summary.txt"}, ExpiresIn=60)

    now = datetime.datetime.now(datetime.UTC)
    with aws_hostnames(cloud):
        fresh = requests.get(url)
        cloud.authorizer.clock = lambda: now + datetime.timedelta(minutes=2)
        late = requests.get(url)

    assert fresh.status_code == 200
    assert late.status_code == 403
    assert _xml_error(late.content) == ("AccessDenied", "Request has expired")


def test_admin_presigned_put_and_tamper(cloud: Cloud) -> None:
    """URLs that the test's own clients presign upload, and their signatures are checked."""
    s3 = cloud.client("s3")
    url = s3.generate_presigned_url("put_object", Params={"Bucket": "reports",
                                                          "Key": "upload.txt"}, ExpiresIn=60)
    with aws_hostnames(cloud):
        put = requests.put(url, data=b"uploaded")
        tampered = requests.put(url.replace("upload.txt", "other.txt"), data=b"x")

    assert put.status_code == 200
    assert s3.get_object(Bucket="reports", Key="upload.txt")["Body"].read() == b"uploaded"
    assert tampered.status_code == 403
    assert _xml_error(tampered.content)[0] == "SignatureDoesNotMatch"
