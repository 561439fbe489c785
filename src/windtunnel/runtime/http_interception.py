"""Serve HTTP requests to AWS hostnames from the embedded cloud instead of the network.

Handler code does not only call AWS through boto3: it downloads a user pool's JWKS with
``urllib.request``, fetches a presigned S3 URL with ``requests`` or calls an API's
``execute-api`` URL with ``httpx``. While handler code runs, and in the threads it starts,
requests with urllib, urllib3 (and so requests and botocore) and httpx to
``*.amazonaws.com``, ``*.amazonaws.com.cn`` and ``*.api.aws`` are served by the cloud
that runs the handler, https URLs included, because nothing leaves the process. So are
requests to the cloud's endpoint URL, which handlers' SDKs and stack outputs name, also
when no server listens there. Requests to any other host go out as usual.

The test process opts in with :func:`aws_hostnames`::

    with aws_hostnames(stack):
        urllib.request.urlopen(presigned_url).read()

Handlers in child processes (``isolation="process"``) send such requests to the endpoint
instead, with their Host header kept (``child_http_redirect``).

Limitations: aiohttp is not intercepted; urllib3 pools called with ``redirect=True`` do
not follow redirects that the emulation returns.
"""

from __future__ import annotations

import contextlib
import http
import json
import logging
import threading
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from botocore.awsrequest import HeadersDict
from botocore.exceptions import UnknownServiceError

from windtunnel.cloud import routing
from windtunnel.cloud.messages import AwsResponse
from windtunnel.cloud.protocols import AwsError, render_error
from windtunnel.cloud.signatures import SignatureMismatch, verify_signature
from windtunnel.runtime import transport

if TYPE_CHECKING:
    from windtunnel.cloud.pipeline import Cloud
    from windtunnel.stack.local import EmulatedStack

__all__ = ["aws_hostnames", "cloud_for", "install", "reason_phrase", "respond"]

logger = logging.getLogger(__name__)

_lock = threading.Lock()
# The clouds that the test process routed AWS hostnames to with aws_hostnames(), innermost
# last. They apply to every thread of the process.
_process_clouds: list[Cloud] = []


@contextlib.contextmanager
def aws_hostnames(target: EmulatedStack | Cloud) -> Iterator[None]:
    """Serve this process's HTTP requests to AWS hostnames from ``target`` in the block.

    ``target`` is a local stack (``Stack.local(...)``) or a cloud. In the block, every
    thread of the test process that calls an AWS hostname with urllib, urllib3, requests,
    httpx or a boto3 client without an endpoint URL reaches the emulation, never AWS.
    Handler code is intercepted without this, by the cloud that runs it.
    """
    environment = getattr(target, "environment", None)
    cloud: Cloud = environment.cloud if environment is not None else target  # type: ignore[assignment]
    install()
    with _lock:
        _process_clouds.append(cloud)
    try:
        yield
    finally:
        with _lock:
            # Remove this block's entry, also when nested blocks end out of order.
            index = len(_process_clouds) - 1 - _process_clouds[::-1].index(cloud)
            del _process_clouds[index]


def install() -> None:
    """Hook the HTTP clients that are installed, once; hooks without a cloud do nothing."""
    from windtunnel.runtime import http_client_hooks

    http_client_hooks.install()


def cloud_for(url: str, headers: Any = None) -> Cloud | None:
    """Return the cloud that serves a request to ``url``, or None to send it as usual.

    AWS hostnames are served, and the cloud's own endpoint URL, which handlers' SDKs are
    pointed at (so presigned URLs and stack outputs that a handler reads name it). The
    cloud is the one running the handler in this context, else the one that issued the
    request's signing key (threads started outside the handler's context), else the
    innermost :func:`aws_hostnames` block's.
    """
    parts = urlsplit(url)
    aws = routing.is_aws_host(parts.hostname or "")
    cloud = transport._current_cloud.get()
    if cloud is None and aws:
        cloud = _issuer_of(url, headers)
    if cloud is None:
        with _lock:
            cloud = _process_clouds[-1] if _process_clouds else None
    if cloud is None or not (aws or _is_endpoint_of(cloud, parts.netloc)):
        return None
    return cloud


def _issuer_of(url: str, headers: Any) -> Cloud | None:
    signature = routing.read_signature(_headers(headers or {}), url)
    if signature is None:
        return None
    for issuer in list(transport._clouds):
        if signature.access_key in issuer.authorizer.sessions:
            return issuer
    return None


def _is_endpoint_of(cloud: Cloud, netloc: str) -> bool:
    return netloc.lower() == urlsplit(cloud.endpoint_url).netloc.lower()


def respond(cloud: Cloud, method: str, url: str, headers: Any, body: bytes) -> AwsResponse:
    """Return the response of ``cloud`` to one HTTP request to an AWS hostname.

    ``headers`` is a mapping or a list of (name, value) pairs. Requests to the cloud's
    endpoint URL and to API Gateway hostnames go through the endpoint's application, so
    data planes are served. Requests to every other hostname go through the pipeline.
    """
    headers = _headers(headers)
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    try:
        from windtunnel.cloud.server import data_plane_path

        local = _is_endpoint_of(cloud, parts.netloc)
        data_plane = data_plane_path(host, parts.path or "/") is not None
        if not data_plane:
            rejection = _check_presigned_url(cloud, method, url, headers, body)
            if rejection is not None:
                return rejection
        if local or data_plane:
            return _serve_with_endpoint(cloud, method, url, headers, body)
        if not _emulated(host):
            return _not_emulated(host)
        return cloud.handle_http(method, url, headers, body)
    except Exception as error:
        # An emulation bug must reach the caller as AWS's InternalFailure, never as an
        # exception in the HTTP library, which the handler would take for a network error.
        logger.exception("internal error while responding to %s %s", method, host)
        service = (routing.service_of_host(host) or ("sts", None))[0]
        return render_error(service, AwsError(
            "InternalFailure", f"windtunnel failed to respond to {method} {host}: "
            f"{type(error).__name__}: {error}. Please report it.", status=500,
            sender_fault=False))


def reason_phrase(status: int) -> str:
    """Return the standard reason phrase of an HTTP status code."""
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return ""


def _headers(headers: Mapping[str, Any] | Iterable[tuple[str, Any]]) -> HeadersDict:
    items = headers.items() if isinstance(headers, Mapping) else headers
    text = HeadersDict()
    for name, value in items:
        name = name.decode("latin-1") if isinstance(name, bytes) else str(name)
        text[name] = value.decode("latin-1") if isinstance(value, bytes) else str(value)
    return text


def _check_presigned_url(cloud: Cloud, method: str, url: str, headers: HeadersDict,
                         body: bytes) -> AwsResponse | None:
    """Reject an expired or tampered presigned URL, with expiry on the cloud's clock.

    The administrator's key signs the presigned URLs of ``stack.client(...)``, so its
    signatures are verified too.
    """
    from windtunnel.cloud.pipeline import ADMIN_ACCESS_KEY, ADMIN_SECRET_KEY
    from windtunnel.cloud.presigned import read_presigned_url

    if headers.get("Authorization") or read_presigned_url(url) is None:
        return None
    signature = routing.read_signature(headers, url)
    if signature is None:
        return None
    credentials = cloud.authorizer.issued_credentials(signature.access_key)
    if credentials is None and signature.access_key == ADMIN_ACCESS_KEY:
        credentials = (ADMIN_SECRET_KEY, None)
    secret, session_token = credentials or (None, None)
    try:
        verify_signature(method, url, headers, body, secret, session_token,
                         now=cloud.authorizer.clock())
    except SignatureMismatch as error:
        return render_error(signature.service, error)
    return None


def _emulated(host: str) -> bool:
    """Tell whether a service that the emulation dispatches to serves ``host``."""
    import moto.backend_index as backend_index

    probe = routing.canonical_url(f"https://{host}/", "", "", HeadersDict())
    return any(pattern.match(probe) for _, pattern in backend_index.backend_url_patterns)


def _not_emulated(host: str) -> AwsResponse:
    service, region = routing.service_of_host(host) or (host, None)
    where = f" in {region}" if region else ""
    error = AwsError(
        "NotImplemented",
        f"windtunnel does not emulate the {service} service{where} (host {host}), so the "
        f"request was not sent to AWS.",
        status=501, sender_fault=False)
    try:
        return render_error(service, error)
    except UnknownServiceError:
        # botocore has no model of the service, so it gets the JSON protocol's shape.
        payload = {"__type": error.code, "message": error.message}
        return AwsResponse(error.status, {"Content-Type": "application/json",
                                          "x-amzn-ErrorType": error.code},
                           json.dumps(payload).encode())


def _serve_with_endpoint(cloud: Cloud, method: str, url: str, headers: HeadersDict,
                          body: bytes) -> AwsResponse:
    """Serve a request through the endpoint's WSGI application, without a socket."""
    from werkzeug.test import EnvironBuilder, run_wsgi_app

    from windtunnel.cloud.server import EndpointApp

    parts = urlsplit(url)
    builder = EnvironBuilder(path=parts.path or "/", base_url=f"{parts.scheme}://{parts.netloc}",
                             query_string=parts.query, method=method,
                             headers=list(headers.items()), data=body)
    environ = builder.get_environ()
    # The path as the client encoded it, which API Gateway passes on undecoded.
    environ["RAW_URI"] = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    iterable, status, response_headers = run_wsgi_app(EndpointApp(cloud), environ,
                                                      buffered=True)
    content = b"".join(iterable)
    first: dict[str, str] = {}
    repeated: list[tuple[str, str]] = []
    for name, value in response_headers.items():
        if name in first:
            repeated.append((name, value))
        else:
            first[name] = value
    return AwsResponse(int(status.split(" ", 1)[0]), first, content, repeated)
