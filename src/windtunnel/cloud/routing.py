"""Work out which service, region and operation an incoming request is for.

Every AWS SDK signs its requests with Signature Version 4, whose credential scope names
the region and the service (``AKID/20261204/us-east-1/dynamodb/aws4_request``). That is
how a request sent to ``http://127.0.0.1:4566`` finds its service. The request is then
re-addressed to the service's AWS hostname, the address moto's dispatch tables expect.
A request addressed to an AWS hostname, in its URL or in its ``Host`` header, keeps that
hostname, so virtual-hosted buckets and queue URLs route as they do in AWS.
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-signing-elements.html
https://docs.aws.amazon.com/general/latest/gr/rande.html
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit, urlunsplit

__all__ = ["Signature", "aws_host_of", "bucket_of_host", "canonical_url", "is_aws_host",
           "operation_of", "read_signature", "rest_operation_of", "service_host",
           "service_of_host"]

_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request")
_AWS_HOST = re.compile(
    r"(^|\.)amazonaws\.com(\.cn)?$|\.api\.aws$|\.auth\.[a-z0-9-]+\.amazoncognito\.com$")
# The domain suffixes of AWS endpoints: the standard one, China's and the dual-stack one.
_AWS_SUFFIX = re.compile(r"\.(?:amazonaws\.com(?:\.cn)?|api\.aws)$")
# A region code (us-east-1, cn-north-1, us-gov-west-1, us-isob-east-1).
_REGION = re.compile(r"[a-z]{2}(?:-[a-z]+)+-\d")
# S3's endpoint label: s3, s3-{region} (the legacy dash form) and s3-external-1.
_S3_LABEL = re.compile(r"s3(?:-(?P<region>[a-z]{2}(?:-[a-z]+)+-\d)|-external-1)?")

# Services whose endpoint has no region in its hostname.
_GLOBAL_HOSTS = {
    "iam": "iam.amazonaws.com",
    "route53": "route53.amazonaws.com",
    "cloudfront": "cloudfront.amazonaws.com",
}


@dataclass(frozen=True)
class Signature:
    """The parts of a SigV4 credential scope that routing needs."""

    access_key: str
    region: str
    service: str


def read_signature(headers: Any, url: str) -> Signature | None:
    """Return the credential scope of a signed request, from its header or presigned URL.

    S3's presigned URLs of Signature Version 2 (``AWSAccessKeyId``, ``Signature`` and
    ``Expires``, which boto3 still makes for us-east-1) have no credential scope. Their
    region comes from the hostname, and s3.amazonaws.com is us-east-1.
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/RESTAuthentication.html
    """
    authorization = headers.get("Authorization") or ""
    if isinstance(authorization, bytes):
        authorization = authorization.decode("latin-1")
    match = _CREDENTIAL.search(authorization)
    query = parse_qs(urlsplit(url).query)
    if match is None:
        credential = query.get("X-Amz-Credential")
        if credential:
            match = _CREDENTIAL.search(f"Credential={credential[0]}")
    if match is None:
        if not authorization and "AWSAccessKeyId" in query and "Signature" in query:
            host = aws_host_of(url, headers) or ""
            region = (service_of_host(host) or ("s3", None))[1] or "us-east-1"
            return Signature(access_key=query["AWSAccessKeyId"][0], region=region,
                             service="s3")
        return None
    access_key, _date, region, service = match.groups()
    return Signature(access_key=access_key, region=region, service=service)


# The services whose API models declare operations that need no signature, by the
# X-Amz-Target prefix of their JSON protocol, and the query-protocol ones by service.
_UNSIGNED_TARGET_PREFIXES = {
    "AWSCognitoIdentityProviderService": "cognito-idp",
    "AWSCognitoIdentityService": "cognito-identity",
}
_UNSIGNED_QUERY_SERVICES = ("sts",)
# A user pool's public documents, which applications download to verify its tokens:
# https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-using-tokens-verifying-a-jwt.html
_USER_POOL_DOCUMENT = re.compile(
    r"/[a-z]{2}(?:-[a-z]+)+-\d_[0-9A-Za-z]+/\.well-known/(?:jwks\.json|openid-configuration)")


def read_unsigned_service(headers: Any, body: bytes, url: str) -> tuple[str, str] | None:
    """Return the service and operation of an unsigned request that its API allows unsigned.

    Cognito's user-facing operations (SignUp, InitiateAuth, ...) and STS's
    AssumeRoleWithWebIdentity and AssumeRoleWithSAML take no SigV4 signature; their API
    models mark them with no authentication. Any other unsigned request returns None.
    """
    from windtunnel.cloud.protocols import service_model

    if _USER_POOL_DOCUMENT.fullmatch(urlsplit(url).path):
        return "cognito-idp", "GetJsonWebKeys"
    target = headers.get("X-Amz-Target") or ""
    if isinstance(target, bytes):
        target = target.decode("latin-1")
    prefix, _, operation = str(target).partition(".")
    service = _UNSIGNED_TARGET_PREFIXES.get(prefix)
    if service is None:
        parameters = parse_qs(urlsplit(url).query)
        if body and b"Action=" in body:
            parameters.update(parse_qs(body.decode("utf-8", "replace")))
        operation = (parameters.get("Action") or [""])[0]
        service = next((name for name in _UNSIGNED_QUERY_SERVICES
                        if operation in service_model(name).operation_names), None)
    if service is None or not operation:
        return None
    try:
        model = service_model(service).operation_model(operation)
    except Exception:
        return None
    auth = model.auth_type == "none" or "smithy.api#noAuth" in (
        getattr(model, "_operation_model", {}).get("auth") or [])
    return (service, operation) if auth else None


def is_aws_host(host: str) -> bool:
    """Tell whether a hostname belongs to AWS's public endpoints."""
    return bool(_AWS_HOST.search(host.split(":")[0]))


def aws_host_of(url: str, headers: Any) -> str | None:
    """Return the AWS hostname a request is addressed to, without a port, or None.

    The URL's host counts first. A request that reaches a local address with the AWS
    hostname in its ``Host`` header (a client whose DNS or proxy points AWS names at
    127.0.0.1) is addressed to that hostname, as the ``Host`` header addresses it in AWS.
    """
    host = (urlsplit(url).hostname or "").lower()
    if is_aws_host(host):
        return host
    header = headers.get("Host") or ""
    if isinstance(header, bytes):
        header = header.decode("latin-1")
    header_host = urlsplit(f"//{header}").hostname or ""
    return header_host.lower() if is_aws_host(header_host) else None


def service_of_host(host: str) -> tuple[str, str | None] | None:
    """Return the endpoint prefix and region that an AWS hostname names, or None.

    Endpoints are ``{service}.{region}.amazonaws.com``, ``{service}.amazonaws.com`` for
    global services, ``{bucket}.s3.{region}.amazonaws.com`` and ``s3-{region}`` for S3,
    and the same under ``amazonaws.com.cn`` and the dual-stack ``api.aws``:
    https://docs.aws.amazon.com/general/latest/gr/rande.html
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/VirtualHosting.html
    """
    host = host.split(":")[0].lower()
    stripped = _AWS_SUFFIX.sub("", host)
    if stripped == host or not stripped:
        return None
    labels = stripped.split(".")
    for index, label in enumerate(labels):
        s3 = _S3_LABEL.fullmatch(label)
        if s3 is None:
            continue
        rest = [name for name in labels[index + 1:] if name != "dualstack"]
        if s3["region"]:
            return "s3", s3["region"]
        if rest and _REGION.fullmatch(rest[0]):
            return "s3", rest[0]
        return "s3", "us-east-1" if not rest else None
    if labels[-1] == "queue" or (len(labels) > 1 and labels[-2] == "queue"):
        # SQS's legacy hostnames: queue.amazonaws.com and {region}.queue.amazonaws.com.
        return "sqs", labels[0] if _REGION.fullmatch(labels[0]) else "us-east-1"
    if len(labels) > 1 and _REGION.fullmatch(labels[-1]):
        return labels[-2], labels[-1]
    return labels[-1], None


def bucket_of_host(host: str) -> str | None:
    """Return the bucket of a virtual-hosted S3 hostname (``{bucket}.s3.{region}...``)."""
    stripped = _AWS_SUFFIX.sub("", host.split(":")[0].lower())
    labels = stripped.split(".")
    for index, label in enumerate(labels):
        if index and _S3_LABEL.fullmatch(label):
            return ".".join(labels[:index])
    return None


def canonical_url(url: str, service: str, region: str, headers: Any) -> str:
    """Re-address ``url`` to the AWS hostname of ``service`` in ``region``.

    A request addressed to an AWS hostname (see :func:`aws_host_of`) keeps it, without
    the port of a local address. Dual-stack ``api.aws`` and China ``amazonaws.com.cn``
    hostnames become their ``amazonaws.com`` twins, the names moto's dispatch tables match.
    The ``Host`` header changes with the URL, because services build URLs they return
    (queue URLs, for one) from it, and AWS returns its own hostnames there.
    """
    parts = urlsplit(url)
    host = aws_host_of(url, headers)
    if host is None:
        host = service_host(service, region, headers)
    else:
        host = _AWS_SUFFIX.sub(".amazonaws.com", host)
    headers["Host"] = host
    # AWS serves its API hostnames over HTTPS only.
    return urlunsplit(("https", host, parts.path or "/", parts.query, ""))


def service_host(service: str, region: str, headers: Any) -> str:
    """Return the AWS hostname that serves ``service`` in ``region``."""
    if service in _GLOBAL_HOSTS:
        return _GLOBAL_HOSTS[service]
    if service == "dynamodb" and str(headers.get("X-Amz-Target", "")).startswith(
            "DynamoDBStreams"):
        return f"streams.dynamodb.{region}.amazonaws.com"
    if service == "s3":
        return f"s3.{region}.amazonaws.com"
    return f"{service}.{region}.amazonaws.com"


def operation_of(headers: Any, body: bytes, url: str) -> str | None:
    """Return the operation name for the JSON and query protocols, where it is explicit."""
    target = headers.get("X-Amz-Target")
    if target:
        if isinstance(target, bytes):
            target = target.decode()
        return str(target).rsplit(".", 1)[-1]
    query = parse_qs(urlsplit(url).query)
    if "Action" in query:
        return query["Action"][0]
    content_type = str(headers.get("Content-Type", ""))
    if body and "x-www-form-urlencoded" in content_type:
        action = parse_qs(body.decode("utf-8", "replace")).get("Action")
        if action:
            return action[0]
    return None


_URI_LABEL = re.compile(r"\{([^}]+)\}")


def rest_operation_of(service_model: Any, method: str, url: str) -> str | None:
    """Return the operation of a REST-protocol request, matched by method and URI template.

    Templates come from botocore's service model (``requestUri``). A template with fewer
    variable parts wins over a more general one, because a literal path segment is more
    specific than a label. Query keys that a template names must be in the request.
    """
    parts = urlsplit(url)
    query_keys = set(parse_qs(parts.query, keep_blank_values=True))
    for operation, pattern, template_method, required_keys in _rest_routes(service_model):
        if template_method == method and pattern.match(parts.path or "/") and \
                required_keys <= query_keys:
            return operation
    return None


@functools.lru_cache(maxsize=64)
def _rest_routes(service_model: Any) -> list[tuple[str, re.Pattern[str], str, set[str]]]:
    routes = []
    for name in service_model.operation_names:
        http = service_model.operation_model(name).http
        template, _, template_query = str(http.get("requestUri", "/")).partition("?")
        required_keys = {pair.split("=", 1)[0] for pair in template_query.split("&") if pair}
        regex = ""
        position = 0
        for label in _URI_LABEL.finditer(template):
            regex += re.escape(template[position:label.start()])
            # "{Key+}" spans several path segments; "{Name}" one.
            regex += "(.+)" if label.group(1).endswith("+") else "([^/]+)"
            position = label.end()
        regex += re.escape(template[position:])
        pattern = re.compile(f"^{regex.rstrip('/')}/?$")
        specificity = (len(required_keys), -len(_URI_LABEL.findall(template)), len(template))
        routes.append((specificity, name, pattern, str(http.get("method", "GET")),
                       required_keys))
    routes.sort(key=lambda route: route[0], reverse=True)
    return [(name, pattern, method, keys) for _, name, pattern, method, keys in routes]
