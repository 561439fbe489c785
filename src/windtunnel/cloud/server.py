"""The HTTP endpoint on 127.0.0.1 that any AWS SDK reaches through ``AWS_ENDPOINT_URL``."""

from __future__ import annotations

import errno
import io
import json
import logging
import os
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from botocore.awsrequest import HeadersDict
from werkzeug.wrappers import Request, Response

from windtunnel.cloud import routing
from windtunnel.cloud.dataplane import DataPlaneRequest
from windtunnel.cloud.http_server import (
    HttpResponse,
    KeepAliveRequestHandler,
    LoopbackWSGIServer,
)
from windtunnel.cloud.messages import AwsResponse
from windtunnel.cloud.protocols import AwsError, render_error
from windtunnel.cloud.websocket import (
    WebSocketSession,
    handshake_problem,
    switching_protocols,
)
from windtunnel.constants import DEFAULT_HOST

if TYPE_CHECKING:
    from windtunnel.cloud.pipeline import Cloud

__all__ = ["EndpointApp", "EndpointServer", "check_port_free"]

logger = logging.getLogger(__name__)

# Paths under this prefix are windtunnel's own (health) or data planes of emulated
# services (API Gateway, AppSync, function URLs), never AWS API operations.
_INTERNAL_PREFIX = "/_aws/"
_HEALTH_PATH = "/_windtunnel/health"
_EXECUTE_API_PLANE = "/execute-api/"
# The environ key of the request's headers as a list of (name, value) pairs.
_HEADER_LIST = "windtunnel.header_list"
# The maximum payload of a REST or HTTP API request, 10 MB, from
# https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html
MAX_API_PAYLOAD = 10 * 1024 * 1024
_MALFORMED_HEADERS = "windtunnel.malformed_headers"
# A header field name is a token (RFC 9110, section 5.1): no spaces, no separators.
_FIELD_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
# How much of an oversized API request body the server reads to keep the connection open.
_DRAINED_MAX = 64 * 1024 * 1024
_CLOSE_CONNECTION = "windtunnel.close_connection"
# The characters that a path segment may contain unencoded (RFC 3986, pchar) and "/".
_PATH_SAFE = "/!$&'()*+,;=:@-._~"
# Headers the HTTP server writes itself; copies in a service response would repeat them.
_SERVER_HEADERS = frozenset({"date", "server", "connection", "transfer-encoding"})


class _Response(Response):
    """A response that adds no Content-Type the service did not send."""

    default_mimetype = None


class _RequestHandler(KeepAliveRequestHandler):
    """Passes the request's header fields as received, and whether they were malformed."""

    def make_environ(self) -> Any:
        environ = super().make_environ()
        # The WSGI environ joins repeated headers with commas, but API Gateway passes
        # them apart (multiValueHeaders), so the data planes get the headers as received.
        environ[_HEADER_LIST] = list(self.headers.items())
        # The standard library stops reading header fields at a malformed line, such as
        # one without a colon, and keeps what follows as a defect or as body.
        names_valid = all(_FIELD_NAME.fullmatch(name) for name in self.headers)
        environ[_MALFORMED_HEADERS] = (bool(self.headers.defects)
                                       or bool(self.headers.get_payload())
                                       or not names_valid)
        return environ


class EndpointServer:
    """Serves a :class:`Cloud` over HTTP or HTTPS on the loopback interface."""

    def __init__(self, cloud: Cloud, *, port: int, host: str = DEFAULT_HOST,
                 ssl_context: ssl.SSLContext | None = None) -> None:
        """Bind the socket; raise OSError when the port is taken.

        With ``ssl_context``, a server context, the server speaks HTTPS.
        """
        self.cloud = cloud
        self.app = EndpointApp(cloud)
        check_port_free(host, port)
        try:
            self._server = LoopbackWSGIServer(host, port, self.app, handler=_RequestHandler,
                                              upgrade_handler=self.app.upgrade)
        except SystemExit:
            # Werkzeug exits the process when the port is taken between the check above
            # and its own bind; report it as the bind error it is.
            raise OSError(errno.EADDRINUSE, os.strerror(errno.EADDRINUSE)) from None
        if ssl_context is not None:
            # Werkzeug's own wrapping completes each TLS handshake in the thread that
            # accepts connections, so one client that never sends its hello would stop
            # the server. Here the handshake happens on the first read, in the thread
            # that handles the connection.
            self._server.socket = ssl_context.wrap_socket(
                self._server.socket, server_side=True, do_handshake_on_connect=False)
            self._server.ssl_context = ssl_context
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The port the server listens on (useful when it was started with port 0)."""
        return int(self._server.server_port)

    @property
    def url(self) -> str:
        """The endpoint URL to give to SDKs."""
        host = self._server.server_address[0]
        if isinstance(host, bytes):
            host = host.decode()
        scheme = "http" if self._server.ssl_context is None else "https"
        return f"{scheme}://{host}:{self.port}"

    def start(self) -> EndpointServer:
        """Serve requests in a background thread; return self."""
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        name="windtunnel-endpoint", daemon=True)
        self._thread.start()
        logger.debug("serving on %s", self.url)
        return self

    def serve_forever(self) -> None:
        """Serve requests in the calling thread until interrupted, then close the socket.

        An interruption (KeyboardInterrupt from a signal handler) propagates after the
        socket is closed, whenever it arrives.
        """
        try:
            self._server.serve_forever()
        finally:
            self._server.server_close()
            self._server.close_connections()

    def stop(self) -> None:
        """Stop serving in the background thread that :meth:`start` started, and close."""
        if self._thread is not None:
            # shutdown() waits for a serve_forever loop, so only a started one is asked.
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._server.server_close()
        self._server.close_connections()
        logger.debug("stopped serving on %s", self.url)

    def __enter__(self) -> EndpointServer:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()


class EndpointApp:
    """The WSGI application behind the endpoint: AWS API requests and data planes.

    :class:`EndpointServer` serves it on a socket; the Stack API's HTTP client calls it
    in process through a WSGI transport, with the same responses.
    """

    def __init__(self, cloud: Cloud) -> None:
        self.cloud = cloud

    def __call__(self, environ: dict[str, Any],
                 start_response: Callable[..., Any]) -> Iterable[bytes]:
        return self._wsgi(environ, start_response)

    def upgrade(self, environ: dict[str, Any], reader: io.BufferedIOBase,
                writer: io.BufferedIOBase) -> HttpResponse | None:
        """Serve a request to switch to WebSocket, until the WebSocket connection ends.

        A data plane that registered a WebSocket handler decides whether to accept. Any
        other upgrade request gets the HTTP response that rejects it, for the server to
        send.
        """
        request = Request(environ)
        plane_path = data_plane_path(request.host, request.path)
        plane = (plane_path or "").lstrip("/").partition("/")[0]
        handler = self.cloud.websocket_planes.get(plane)
        if plane_path is None or handler is None:
            logger.info("WebSocket upgrade to %s rejected: no WebSocket endpoint there",
                        request.path)
            return _rejection(render_error("execute-api", AwsError(
                "NotFound", f"No WebSocket endpoint is served at {request.path}.",
                status=404)))
        _plane, plane_request = _plane_request(request, b"", plane_path)
        problem = handshake_problem(plane_request)
        if problem is not None:
            logger.info("WebSocket upgrade to %s rejected: %s", request.path, problem)
            return _rejection(AwsResponse(400, {"Content-Type": "text/plain"},
                                          problem.encode()))
        try:
            answer = handler(plane_request)
        except Exception:
            logger.exception("internal error in the %s WebSocket plane", plane)
            answer = render_error("execute-api", AwsError(
                "InternalFailure", "windtunnel failed to process the request; run with "
                "--debug to see the traceback.", status=500, sender_fault=False))
        if isinstance(answer, AwsResponse):
            return _rejection(answer)
        writer.write(switching_protocols(plane_request, answer.subprotocol))
        writer.flush()
        logger.info("WebSocket %s opened", request.path)
        session = WebSocketSession(reader, writer, plane_request.source_ip)
        try:
            answer.serve(session)
        except Exception:
            logger.exception("internal error in the %s WebSocket plane", plane)
            session.close(1011, "internal error")
        finally:
            session.close()
            logger.info("WebSocket %s closed", request.path)
        return None

    def _wsgi(self, environ: dict[str, Any],
              start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        started = time.perf_counter()
        response = self._answer(request)
        # Data-plane requests are no AWS operations, and their bodies may be large.
        operation = "" if data_plane_path(request.host, request.path) else _operation(request)
        logger.info("%s %s %s %d %.1fms", request.method, request.path, operation,
                    response.status_code, (time.perf_counter() - started) * 1000)
        return response(environ, start_response)

    def _answer_data_plane(self, request: Request, body: bytes,
                           plane_path: str) -> AwsResponse:
        plane, plane_request = _plane_request(request, body, plane_path)
        handler = self.cloud.data_planes.get(plane)
        if handler is None:
            return render_error("execute-api", AwsError(
                "NotImplemented", f"windtunnel does not serve the {plane} data plane yet.",
                status=501, sender_fault=False))
        try:
            return handler(plane_request)
        except Exception:
            logger.exception("internal error in the %s data plane for %s %s", plane,
                             request.method, request.path)
            return render_error("execute-api", AwsError(
                "InternalFailure", "windtunnel failed to process the request; run with "
                "--debug to see the traceback.", status=500, sender_fault=False))

    def _answer(self, request: Request) -> Response:
        if request.path == _HEALTH_PATH:
            return Response(json.dumps({"status": "running"}), 200,
                            content_type="application/json")
        plane_path = data_plane_path(request.host, request.path)
        if plane_path is not None and plane_path.startswith(_EXECUTE_API_PLANE):
            if request.environ.get(_MALFORMED_HEADERS):
                return _bad_request()
            plane_path = _execute_api_path(request)
            body = _read_api_payload(request)
            if body is None:
                return _payload_too_large(request)
            answer = self._answer_data_plane(request, body, plane_path)
        elif plane_path is not None:
            answer = self._answer_data_plane(request, request.get_data(), plane_path)
        else:
            body = request.get_data()
            headers = HeadersDict()
            for key, value in request.headers.items():
                headers[key] = value
            try:
                answer = self.cloud.handle_http(request.method, request.url, headers, body)
            except Exception:
                # The pipeline renders AWS errors itself; anything else is a windtunnel bug,
                # which must not take the server down.
                logger.exception("internal error while handling %s %s", request.method,
                                 request.path)
                answer = render_error("sts", AwsError(
                    "InternalFailure", "windtunnel failed to process the request; run with "
                    "--debug to see the traceback.", status=500, sender_fault=False))
        headers = [(key, value) for key, value in answer.headers.items()
                   if key.lower() not in _SERVER_HEADERS]
        headers.extend(answer.repeated_headers)
        return _Response(answer.body, answer.status, headers=headers)



# Hostnames of REST and HTTP APIs, with an optional port: AWS's own, LocalStack's, and
# {api id}.execute-api.localhost, which resolves to the loopback interface (RFC 6761).
_EXECUTE_API_HOST = re.compile(
    r"(?P<api>[a-z0-9]+)\.execute-api\.(?:[a-z0-9-]+\.amazonaws\.com(?:\.cn)?"
    r"|localhost\.localstack\.cloud|localhost)(?::\d+)?", re.IGNORECASE)
# An AppSync API's GraphQL endpoint: {api id}.appsync-api.{region}.amazonaws.com/graphql.
# https://docs.aws.amazon.com/appsync/latest/devguide/graphql-endpoints.html (not a
# custom domain).
# Its real-time endpoint for subscriptions is {api id}.appsync-realtime-api.{region}...
_APPSYNC_API_HOST = re.compile(
    r"(?P<api>[a-z0-9]+)\.appsync-(?P<realtime>realtime-)?api\."
    r"(?:[a-z0-9-]+\.amazonaws\.com(?:\.cn)?|localhost)(?::\d+)?", re.IGNORECASE)
# LocalStack's path form of an API request: /restapis/{id}/{stage}/_user_request_/{path}.
_LOCALSTACK_API_PATH = re.compile(r"/restapis/(?P<api>[^/]+)/(?P<stage>[^/]+)/_user_request_"
                                  r"(?P<rest>/.*)?")


def data_plane_path(host: str, path: str) -> str | None:
    """Return ``/{plane}/...`` for a request to a data plane, or None for an API request.

    A data plane is reached at ``/_aws/{plane}/...``, and an API also under the hostnames
    AWS gives it (``{api id}.appsync-api.{region}.amazonaws.com/graphql``, and
    ``{api id}.execute-api.{region}.amazonaws.com``, whose paths start with the stage: https://docs.aws.amazon.com/apigateway/latest/developerguide/how-to-call-api.html),
    under ``{api id}.execute-api.localhost`` and under LocalStack's URL forms, so that URLs
    built for either keep working.
    """
    if path.startswith(_INTERNAL_PREFIX):
        return path[len(_INTERNAL_PREFIX) - 1:]
    found = _EXECUTE_API_HOST.fullmatch(host or "")
    if found is not None:
        return f"/execute-api/{found['api']}{path}"
    found = _APPSYNC_API_HOST.fullmatch(host or "")
    if found is not None:
        # The real-time endpoint (subscriptions over WebSocket) is a plane of its own.
        plane = "appsync-realtime-api" if found["realtime"] else "appsync-api"
        return f"/{plane}/{found['api']}{path}"
    from windtunnel.services.cognito.oauth import domain_of_host

    domain = domain_of_host(host)
    if domain is not None:
        return f"/cognito-oauth/{domain}{path}"
    localstack = _LOCALSTACK_API_PATH.fullmatch(path)
    if localstack is not None:
        rest = localstack["rest"] or "/"
        return f"/execute-api/{localstack['api']}/{localstack['stage']}{rest}"
    return None


def _execute_api_path(request: Request) -> str:
    """Return ``/execute-api/{api id}/...`` with the path as the client encoded it.

    REST APIs pass the path and path parameters to the integration percent-encoded as
    sent, so the path is taken before the WSGI server decodes it. Dot segments are removed
    from the part after the API ID (RFC 3986, section 5.2.4), as clients remove them.
    NOTE: AWS does not document how it treats ``.`` and ``..`` segments that a client sends
    unchanged; removing them keeps a request inside its API.
    """
    raw_uri = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI")
    # The in-process transport passes only the decoded path. Encoding it again loses the
    # difference between "/" and "%2F".
    raw_path = (urlsplit(raw_uri).path or "/" if raw_uri
                else quote(request.path, safe=_PATH_SAFE))
    plane_path = data_plane_path(request.host, raw_path) or ""
    api_id, _, rest = plane_path.removeprefix(_EXECUTE_API_PLANE).partition("/")
    return f"{_EXECUTE_API_PLANE}{api_id}{_remove_dot_segments('/' + rest)}"


def _remove_dot_segments(path: str) -> str:
    segments: list[str] = []
    parts = path.split("/")[1:]
    for part in parts:
        if part == "..":
            if segments:
                segments.pop()
        elif part != ".":
            segments.append(part)
    if parts and parts[-1] in (".", ".."):
        segments.append("")
    return "/" + "/".join(segments)


def _read_api_payload(request: Request) -> bytes | None:
    """Return the body of an API request, or None when it is over the 10 MB quota.

    An oversized body is kept in memory only up to one byte past the quota. The rest is
    read and dropped in chunks, up to ``_DRAINED_MAX`` bytes, so that the client can read
    the response and the connection stays usable.
    """
    if (request.content_length or 0) > MAX_API_PAYLOAD:
        _drain(request)
        return None
    body = request.stream.read(MAX_API_PAYLOAD + 1)
    if len(body) > MAX_API_PAYLOAD:
        _drain(request)
        return None
    return body


def _drain(request: Request) -> None:
    drained = 0
    while drained < _DRAINED_MAX:
        chunk = request.stream.read(64 * 1024)
        if not chunk:
            return
        drained += len(chunk)
    # Still more: the connection closes after the response instead.
    request.environ[_CLOSE_CONNECTION] = True


def _payload_too_large(request: Request) -> Response:
    """Return API Gateway's response to a payload over 10 MB.

    The text and media type are those of a response recorded from AWS for an 11 MB body.
    The response is not a gateway response, so an API cannot customize it.
    """
    headers = [("Content-Type", "text; charset=utf-8")]
    if request.environ.get(_CLOSE_CONNECTION):
        headers.append(("Connection", "close"))
    return _Response(f"HTTP content length exceeded {MAX_API_PAYLOAD} bytes.", 413,
                     headers=headers)


def _rejection(answer: AwsResponse) -> HttpResponse:
    """Return the HTTP response that rejects an upgrade request."""
    headers = [(name, value) for name, value in answer.headers.items()
               if name.lower() not in _SERVER_HEADERS]
    return f"{answer.status} {HTTPStatus(answer.status).phrase}", headers, answer.body


def _bad_request() -> Response:
    """Return 400 to an API request whose header section is malformed.

    RFC 9112, section 5.1, requires 400 for whitespace between a field name and its
    colon. NOTE: AWS documents no response for malformed headers; this one applies the
    RFC's rule to every malformed header line.
    """
    return _Response("Bad Request", 400, headers=[("Content-Type", "text/plain"),
                                                  ("Connection", "close")])


def _plane_request(request: Request, body: bytes,
                   plane_path: str) -> tuple[str, DataPlaneRequest]:
    plane, _, rest = plane_path.lstrip("/").partition("/")
    raw_query = request.query_string.decode("latin-1")
    header_list = request.environ.get(_HEADER_LIST)
    if header_list is None:
        header_list = request.headers.items()
    headers = tuple((str(key), str(value)) for key, value in header_list)
    return plane, DataPlaneRequest(method=request.method, path="/" + rest,
                                   raw_query=raw_query, headers=headers, body=body,
                                   source_ip=request.remote_addr or "127.0.0.1")


def _operation(request: Request) -> str:
    """Name the service and operation of a request for the log, where they are explicit."""
    signature = routing.read_signature(request.headers, request.url)
    body = request.get_data(cache=True)
    operation = routing.operation_of(request.headers, body, request.url)
    if signature is not None:
        service = signature.service
    else:
        # Unsigned operations (Cognito's InitiateAuth, STS's AssumeRoleWithWebIdentity).
        unsigned = routing.read_unsigned_service(request.headers, body, request.url)
        service = unsigned[0] if unsigned else ""
    return f"{service}.{operation}" if operation else service


def check_port_free(host: str, port: int) -> None:
    """Raise OSError when ``port`` on ``host`` cannot be bound; port 0 always can."""
    if port == 0:
        return
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # The same option the server sets, so a port in TIME_WAIT counts as free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((host, port))
