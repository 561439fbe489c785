"""Check presigned URLs: query-string signatures of Signature Version 4 and 2, and expiry.

A presigned URL carries its signature in the query string instead of an ``Authorization``
header. Version 4 names the algorithm, credential scope, signing time, lifetime in seconds
and signed headers (``X-Amz-Algorithm``, ``X-Amz-Credential``, ``X-Amz-Date``,
``X-Amz-Expires``, ``X-Amz-SignedHeaders``, ``X-Amz-Signature``); S3's older version 2
names the access key, the expiry as epoch seconds and the signature (``AWSAccessKeyId``,
``Expires``, ``Signature``). Sources:
https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html
https://docs.aws.amazon.com/AmazonS3/latest/userguide/RESTAuthentication.html
https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html

Limitations: a signing time in the future is accepted, because AWS does not document the
error it returns for one.
"""

from __future__ import annotations

import base64
import contextlib
import datetime
import hashlib
import hmac
import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from windtunnel.cloud.protocols import AwsError
from windtunnel.cloud.routing import bucket_of_host

__all__ = ["MAX_EXPIRES_SECONDS", "PresignedUrl", "check_presigned_url", "read_presigned_url"]

logger = logging.getLogger(__name__)

MAX_EXPIRES_SECONDS = 604800
"""The longest lifetime of a version 4 presigned URL, seven days, in seconds."""

_ALGORITHM = "AWS4-HMAC-SHA256"
_V4_PARAMETERS = ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature", "X-Amz-Date",
                  "X-Amz-SignedHeaders", "X-Amz-Expires")
_MISSING_V4_MESSAGE = (
    "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, "
    "X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.")
_S3_SIGNATURE_MESSAGE = ("The request signature we calculated does not match the signature "
                         "you provided. Check your key and signing method.")
_SIGNATURE_MESSAGE = ("The request signature we calculated does not match the signature you "
                      "provided. Check your AWS Secret Access Key and signing method. Consult "
                      "the service documentation for details.")


@dataclass(frozen=True)
class PresignedUrl:
    """The authentication parameters of a presigned URL."""

    version: int
    """4 for ``X-Amz-*`` parameters, 2 for S3's ``AWSAccessKeyId``/``Expires``."""
    access_key: str
    region: str | None
    service: str
    expires_at: datetime.datetime | None
    """The end of the URL's lifetime; None when the lifetime parameters are malformed."""
    parameters: tuple[tuple[str, str], ...]
    """The query parameters, decoded, in the order of the URL."""

    def get(self, name: str) -> str | None:
        """Return the first value of query parameter ``name``, or None."""
        return next((value for key, value in self.parameters if key == name), None)


def read_presigned_url(url: str) -> PresignedUrl | None:
    """Return the authentication parameters of a presigned URL, or None for any other URL."""
    parameters = _query_pairs(urlsplit(url).query)
    names = {name for name, _ in parameters}
    if "X-Amz-Signature" in names or "X-Amz-Credential" in names:
        return _read_v4(parameters)
    if {"AWSAccessKeyId", "Signature"} <= names:
        return _read_v2(parameters)
    return None


def check_presigned_url(method: str, url: str, headers: Any, body: bytes, *,
                        now: datetime.datetime, secret: str | None,
                        session_token: str | None, host_alternatives: tuple[str, ...] = ()
                        ) -> None:
    """Raise :class:`AwsError` unless the presigned ``url`` is complete, unexpired and signed.

    ``now`` is the emulation's clock. With ``secret`` (credentials that windtunnel issued)
    the signature and ``session_token`` are verified; without it only the parameters and
    the lifetime are. ``host_alternatives`` are further hostnames that the URL may have
    been signed for (its AWS hostname, when it reached a local address). Expiry is checked
    before the signature.
    NOTE: AWS does not document which check comes first for a URL that is expired and
    tampered with.
    """
    presigned = read_presigned_url(url)
    if presigned is None:
        return
    service = presigned.service
    if presigned.version == 4:
        _check_v4_parameters(presigned)
    assert presigned.expires_at is not None
    if now >= presigned.expires_at:
        raise AwsError("AccessDenied", "Request has expired", status=403)
    if secret is None:
        return
    if session_token is not None and _security_token(presigned) != session_token:
        raise _token_error(service)
    hosts = (_host_header(url, headers), *host_alternatives)
    for host in dict.fromkeys(hosts):
        if presigned.version == 4:
            matches = _v4_signature_matches(method, url, headers, body, presigned, secret,
                                            host)
        else:
            matches = _v2_signature_matches(method, url, headers, presigned, secret, host)
        if matches:
            return
    logger.info("presigned URL signature mismatch for %s %s signed by %s", method,
                urlsplit(url).path, presigned.access_key)
    message = _S3_SIGNATURE_MESSAGE if service == "s3" else _SIGNATURE_MESSAGE
    raise AwsError("SignatureDoesNotMatch", message, status=403)


# --- reading -------------------------------------------------------------------------

def _query_pairs(query: str) -> tuple[tuple[str, str], ...]:
    """Split a query string into decoded pairs; "+" stays a plus sign, as SigV4 reads it."""
    pairs = []
    for item in query.split("&"):
        if not item:
            continue
        name, _, value = item.partition("=")
        pairs.append((unquote(name), unquote(value)))
    return tuple(pairs)


def _read_v4(parameters: tuple[tuple[str, str], ...]) -> PresignedUrl:
    values = dict(reversed(parameters))
    scope = values.get("X-Amz-Credential", "").split("/")
    access_key = scope[0]
    region = scope[2] if len(scope) == 5 else None
    service = scope[3] if len(scope) == 5 else "s3"
    expires_at = None
    with contextlib.suppress(ValueError, OverflowError):
        signed_at = datetime.datetime.strptime(values.get("X-Amz-Date", ""),
                                               "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.UTC)
        lifetime = int(values.get("X-Amz-Expires", ""))
        expires_at = signed_at + datetime.timedelta(seconds=lifetime)
    return PresignedUrl(version=4, access_key=access_key, region=region, service=service,
                        expires_at=expires_at, parameters=parameters)


def _read_v2(parameters: tuple[tuple[str, str], ...]) -> PresignedUrl:
    values = dict(reversed(parameters))
    expires_at = None
    with contextlib.suppress(ValueError, OverflowError, OSError):
        expires_at = datetime.datetime.fromtimestamp(int(values.get("Expires", "")),
                                                     datetime.UTC)
    return PresignedUrl(version=2, access_key=values["AWSAccessKeyId"], region=None,
                        service="s3", expires_at=expires_at, parameters=parameters)


# --- checks --------------------------------------------------------------------------

def _check_v4_parameters(presigned: PresignedUrl) -> None:
    """Raise S3's AuthorizationQueryParametersError for missing or malformed parameters.

    NOTE: AWS documents the error code and status, not these messages. They follow the
    texts S3 returns as its users report them, which were not checked against AWS here.
    """
    if any(presigned.get(name) is None for name in _V4_PARAMETERS):
        raise _query_parameters_error(_MISSING_V4_MESSAGE)
    if presigned.get("X-Amz-Algorithm") != _ALGORITHM:
        raise _query_parameters_error(
            f'X-Amz-Algorithm only supports "{_ALGORITHM}"')
    if presigned.region is None:
        raise _query_parameters_error(
            "Error parsing the X-Amz-Credential parameter; the Credential is mal-formed; "
            'expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".')
    expires = presigned.get("X-Amz-Expires") or ""
    if not expires.lstrip("-").isdigit():
        raise _query_parameters_error("X-Amz-Expires should be a number")
    if int(expires) < 0:
        raise _query_parameters_error("X-Amz-Expires must be non-negative")
    if int(expires) > MAX_EXPIRES_SECONDS:
        raise _query_parameters_error(
            f"X-Amz-Expires must be less than a week (in seconds) that is "
            f"{MAX_EXPIRES_SECONDS}")
    if presigned.expires_at is None:
        raise _query_parameters_error(
            "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"")


def _query_parameters_error(message: str) -> AwsError:
    return AwsError("AuthorizationQueryParametersError", message, status=400)


def _token_error(service: str) -> AwsError:
    if service == "s3":
        return AwsError("InvalidToken", "The provided token is malformed or otherwise invalid.",
                        status=400)
    return AwsError("InvalidClientTokenId",
                    "The security token included in the request is invalid.", status=403)


def _security_token(presigned: PresignedUrl) -> str | None:
    token = presigned.get("X-Amz-Security-Token")
    if token is None:
        token = presigned.get("x-amz-security-token")
    return token


def _host_header(url: str, headers: Any) -> str:
    host = headers.get("Host")
    if isinstance(host, bytes):
        host = host.decode("latin-1")
    if host:
        return str(host)
    from botocore.auth import _host_from_url

    return str(_host_from_url(url))


# --- signatures ----------------------------------------------------------------------

def _v4_signature_matches(method: str, url: str, headers: Any, body: bytes,
                          presigned: PresignedUrl, secret: str, host: str) -> bool:
    """Recompute a version 4 query signature, as the signing client computed it."""
    from botocore.auth import S3SigV4QueryAuth, SigV4QueryAuth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    signed_names = (presigned.get("X-Amz-SignedHeaders") or "host").split(";")
    sent = {str(name).lower(): value for name, value in dict(headers).items()}
    signed = {}
    for name in signed_names:
        value = host if name == "host" else sent.get(name)
        if value is not None:
            signed[name] = value.decode("latin-1") if isinstance(value, bytes) else str(value)
    # The canonical query string is every parameter but the signature, each name and value
    # encoded as RFC 3986 specifies, sorted by name.
    parts = urlsplit(url)
    unsigned_url = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
    request = AWSRequest(method=method, url=unsigned_url, headers=signed, data=body)
    request.params = [(name, value) for name, value in presigned.parameters
                      if name != "X-Amz-Signature"]
    request.context["timestamp"] = presigned.get("X-Amz-Date")
    credentials = Credentials(presigned.access_key, secret)
    signer_class = S3SigV4QueryAuth if presigned.service == "s3" else SigV4QueryAuth
    signer = signer_class(credentials, presigned.service, presigned.region)
    canonical = signer.canonical_request(request)
    expected = str(signer.signature(signer.string_to_sign(request, canonical), request))
    return hmac.compare_digest(expected, presigned.get("X-Amz-Signature") or "")


# Sub-resources that S3's version 2 canonical resource keeps from the query string.
_V2_SUBRESOURCES = frozenset({
    "acl", "cors", "delete", "lifecycle", "location", "logging", "notification",
    "partNumber", "policy", "requestPayment", "response-cache-control",
    "response-content-disposition", "response-content-encoding", "response-content-language",
    "response-content-type", "response-expires", "restore", "tagging", "torrent", "uploadId",
    "uploads", "versionId", "versioning", "versions", "website",
})


def _v2_signature_matches(method: str, url: str, headers: Any, presigned: PresignedUrl,
                          secret: str, host: str) -> bool:
    """Recompute a version 2 query signature (HMAC-SHA1 over S3's string to sign)."""
    amz_headers: dict[str, list[str]] = {}
    for name, value in presigned.parameters:
        if name.lower().startswith("x-amz-"):
            amz_headers.setdefault(name.lower(), []).append(value.strip())
    sent = {str(name).lower(): str(value) for name, value in dict(headers).items()}
    for name, value in sent.items():
        if name.startswith("x-amz-") and name not in amz_headers:
            amz_headers[name] = [value.strip()]
    lines = [method.upper(), sent.get("content-md5", ""), sent.get("content-type", ""),
             presigned.get("Expires") or ""]
    lines += [f"{name}:{','.join(amz_headers[name])}" for name in sorted(amz_headers)]
    lines.append(_v2_resource(url, host, presigned))
    digest = hmac.new(secret.encode(), "\n".join(lines).encode(), hashlib.sha1).digest()
    expected = base64.b64encode(digest).decode()
    return hmac.compare_digest(expected, presigned.get("Signature") or "")


def _v2_resource(url: str, host: str, presigned: PresignedUrl) -> str:
    """Return the canonical resource: the bucket and key path, with sub-resources.

    For a virtual-hosted bucket the bucket comes from the hostname.
    """
    path = urlsplit(url).path or "/"
    bucket = bucket_of_host(host)
    resource = f"/{quote(bucket, safe='')}{path}" if bucket else path
    subresources = sorted((name, value) for name, value in presigned.parameters
                          if name in _V2_SUBRESOURCES)
    if subresources:
        resource += "?" + "&".join(f"{name}={value}" if value else name
                                   for name, value in subresources)
    return resource
