"""Verify SigV4 signatures made with credentials that windtunnel issued.

windtunnel stores the secrets of a function's role session, of a session from
``AssumeRole`` and of an IAM user's access key. A request signed with one of them is checked
as AWS checks it: the signature over the canonical request, and for temporary credentials
the session token. Requests signed with any other key (the administrator's ``test``/``test``)
are not verified. Presigned URLs (signatures in the query string) are checked by
:mod:`windtunnel.cloud.presigned`. Sources:
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv.html
https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html
https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html
"""

from __future__ import annotations

import datetime
import hmac
import logging
import re
from typing import Any
from urllib.parse import urlsplit

from windtunnel.cloud import routing
from windtunnel.cloud.presigned import check_presigned_url, read_presigned_url
from windtunnel.cloud.protocols import AwsError, protocol_of

__all__ = ["SignatureMismatch", "parse_authorization", "signature_matches", "verify_signature"]

logger = logging.getLogger(__name__)

_AUTHORIZATION = re.compile(
    r"AWS4-HMAC-SHA256\s+Credential=(?P<key>[^/,\s]+)/(?P<date>\d{8})/(?P<region>[^/]+)/"
    r"(?P<service>[^/]+)/aws4_request,\s*SignedHeaders=(?P<headers>[^,\s]+),\s*"
    r"Signature=(?P<signature>[0-9a-f]+)")

_SIGNATURE_MESSAGE = ("The request signature we calculated does not match the signature you "
                      "provided. Check your AWS Secret Access Key and signing method. Consult "
                      "the service documentation for details.")
_S3_SIGNATURE_MESSAGE = ("The request signature we calculated does not match the signature "
                         "you provided. Check your key and signing method.")
_TOKEN_MESSAGE = "The security token included in the request is invalid."


class SignatureMismatch(AwsError):
    """A request whose signature or session token does not match its credentials."""


def verify_signature(method: str, url: str, headers: Any, body: bytes, secret: str | None,
                     session_token: str | None, *,
                     now: datetime.datetime | None = None) -> None:
    """Raise :class:`SignatureMismatch` unless the request's SigV4 signature is valid.

    ``headers`` are the request's headers as sent; ``url`` is the URL the client called.
    A presigned URL is also checked for expiry at ``now`` (the wall clock when None); with
    ``secret`` None only its parameters and expiry are checked. A signature made for the
    AWS hostname of a request that reached a local address is accepted too.
    """
    match = parse_authorization(str(headers.get("Authorization") or ""))
    if match is None:
        _verify_presigned_url(method, url, headers, body, secret, session_token, now)
        return
    if secret is None:
        return
    service = match["service"]
    if session_token is not None and headers.get("X-Amz-Security-Token") != session_token:
        raise _token_error(service)
    if not signature_matches(method, url, headers, body, match, secret):
        logger.info("signature mismatch for %s %s signed by %s", method, url, match["key"])
        raise _signature_error(service)


def _verify_presigned_url(method: str, url: str, headers: Any, body: bytes,
                          secret: str | None, session_token: str | None,
                          now: datetime.datetime | None) -> None:
    presigned = read_presigned_url(url)
    if presigned is None:
        return
    try:
        check_presigned_url(method, url, headers, body,
                            now=now or datetime.datetime.now(datetime.UTC), secret=secret,
                            session_token=session_token,
                            host_alternatives=_aws_hosts(url, presigned.service,
                                                         presigned.region, headers))
    except AwsError as error:
        raise SignatureMismatch(error.code, error.message, status=error.status) from None


def _aws_hosts(url: str, service: str, region: str | None, headers: Any) -> tuple[str, ...]:
    """Return the AWS hostnames that a request to a local address may have been signed for.

    A presigned URL made for AWS and re-pointed at the local endpoint keeps the signature
    made for AWS's path-style hostname.
    """
    if routing.is_aws_host(urlsplit(url).hostname or "") or region is None:
        return ()
    hosts = [routing.service_host(service, region, headers)]
    if service == "s3" and region == "us-east-1":
        hosts.append("s3.amazonaws.com")
    return tuple(hosts)


def parse_authorization(header: str) -> re.Match[str] | None:
    """Parse a SigV4 ``Authorization`` header: key, date, region, service, signed headers
    and signature, as named groups. Returns None for any other header."""
    return _AUTHORIZATION.match(header.strip())


def signature_matches(method: str, url: str, headers: Any, body: bytes,
                      match: re.Match[str], secret: str) -> bool:
    """Recompute the SigV4 signature of a request over its signed headers and compare it.

    ``headers`` is a case-insensitive mapping of the request's headers, ``url`` the URL the
    client signed and ``match`` the parsed ``Authorization`` header.
    """
    expected = _expected_signature(method, url, headers, body, match, secret)
    return expected is not None and hmac.compare_digest(expected, match["signature"])


def _expected_signature(method: str, url: str, headers: Any, body: bytes,
                        match: re.Match[str], secret: str) -> str | None:
    from botocore.auth import S3SigV4Auth, SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    amz_date = headers.get("X-Amz-Date")
    if not amz_date:
        return None
    # A header the client signed but the transport has not added yet (Host, in process) is
    # derived from the URL by the signer, as the client's signer derived it.
    signed = {name: str(headers[name]) for name in match["headers"].split(";")
              if headers.get(name) is not None}
    request = AWSRequest(method=method, url=url, headers=signed, data=body)
    request.context["timestamp"] = str(amz_date)
    content_hash = headers.get("X-Amz-Content-SHA256")
    if content_hash and "x-amz-content-sha256" not in signed:
        # The signer takes the payload hash from this header, as the client's did.
        # (Assigning a header that is already set would add a second value.)
        request.headers["X-Amz-Content-SHA256"] = str(content_hash)
    credentials = Credentials(match["key"], secret, headers.get("X-Amz-Security-Token"))
    signer_class = S3SigV4Auth if match["service"] == "s3" else SigV4Auth
    signer = signer_class(credentials, match["service"], match["region"])
    canonical = signer.canonical_request(request)
    string_to_sign = signer.string_to_sign(request, canonical)
    return str(signer.signature(string_to_sign, request))


def _signature_error(service: str) -> SignatureMismatch:
    if service == "s3":
        return SignatureMismatch("SignatureDoesNotMatch", _S3_SIGNATURE_MESSAGE, status=403)
    if _json_protocol(service):
        return SignatureMismatch("InvalidSignatureException", _SIGNATURE_MESSAGE, status=400)
    return SignatureMismatch("SignatureDoesNotMatch", _SIGNATURE_MESSAGE, status=403)


def _token_error(service: str) -> SignatureMismatch:
    if service == "s3":
        return SignatureMismatch("InvalidToken",
                                 "The provided token is malformed or otherwise invalid.",
                                 status=400)
    if _json_protocol(service):
        return SignatureMismatch("UnrecognizedClientException", _TOKEN_MESSAGE, status=400)
    return SignatureMismatch("InvalidClientTokenId", _TOKEN_MESSAGE, status=403)


def _json_protocol(service: str) -> bool:
    return protocol_of(service) in ("json", "rest-json", "smithy-rpc-v2-cbor")
