"""The Lambda Runtime API, server side: what a runtime inside an execution environment
polls for invocations and posts results to.

Paths, headers and status codes follow the Runtime API reference (version 2018-06-01):
https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html

Each subprocess execution environment gets its own server on 127.0.0.1 and a free port.
Lambda gives a runtime the API's address in ``AWS_LAMBDA_RUNTIME_API`` as ``host:port``,
and runtime clients append the fixed ``/2018-06-01/runtime/...`` paths to it. So the
address alone must identify the environment; a path prefix would break clients that
treat the variable as host and port only.

The API's own error bodies have the documented ``errorMessage`` and ``errorType`` fields;
the ``errorType`` values are windtunnel's, because the reference names none.
"""

from __future__ import annotations

import json
import logging
import queue
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from werkzeug.wrappers import Request, Response

from windtunnel.cloud.http_server import LoopbackWSGIServer
from windtunnel.constants import DEFAULT_HOST

__all__ = ["API_VERSION", "RESPONSE_LIMIT", "Invocation", "RuntimeApiServer"]

logger = logging.getLogger(__name__)

API_VERSION = "2018-06-01"
# The maximum response of a synchronous invocation (6 MB):
# https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
RESPONSE_LIMIT = 6 * 1024 * 1024
# Lambda's error for a larger response names this byte count, not the 6 MB above.
_RESPONSE_TOO_LARGE = {
    "errorMessage": "Response payload size exceeded maximum allowed payload size "
                    "(6291556 bytes).",
    "errorType": "Function.ResponseSizeTooLarge",
}

_NEXT_PATH = f"/{API_VERSION}/runtime/invocation/next"
_INIT_ERROR_PATH = f"/{API_VERSION}/runtime/init/error"
_RESULT_PATH = re.compile(
    rf"^/{API_VERSION}/runtime/invocation/(?P<request_id>[^/]+)/(?P<kind>response|error)$")


@dataclass
class Invocation:
    """One invocation for the runtime, and what the runtime posted for it."""

    request_id: str
    event: bytes
    deadline_ms: int
    """When the invocation times out, in milliseconds since the Unix epoch."""
    invoked_arn: str
    trace_id: str
    client_context: str | None = None
    """The client context as JSON text, or None."""
    cognito_identity: str | None = None
    """The Amazon Cognito identity as JSON text, or None."""
    response: bytes | None = None
    error: bytes | None = None
    """The error document the runtime posted to ``/error``."""
    error_type: str | None = None
    """The ``Lambda-Runtime-Function-Error-Type`` header of the posted error."""
    done: threading.Event = field(default_factory=threading.Event)
    """Set once a response or error arrived, or when the environment gives up on it."""


class RuntimeApiServer:
    """The Runtime API of one execution environment, served in background threads.

    The environment hands invocations over with :meth:`submit`; a runtime's ``/next``
    request takes them one at a time. :attr:`ready` is set when the runtime first requests
    an invocation (its initialization is over) or reports an initialization error.
    """

    def __init__(self, host: str = DEFAULT_HOST) -> None:
        self._server = LoopbackWSGIServer(host, 0, self._wsgi)
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        name="lambda-runtime-api", daemon=True)
        self._lock = threading.Lock()
        self._invocations: queue.SimpleQueue[Invocation | None] = queue.SimpleQueue()
        self._current: Invocation | None = None
        self._stopped = False
        self.ready = threading.Event()
        self.ready_at: float | None = None
        """``time.perf_counter()`` when :attr:`ready` was first set by the runtime."""
        self.init_error: bytes | None = None
        """The error document the runtime posted to ``/init/error``, if any."""
        self.init_error_type: str | None = None

    @property
    def address(self) -> str:
        """``host:port``, the value of ``AWS_LAMBDA_RUNTIME_API``."""
        host = self._server.server_address[0]
        if isinstance(host, bytes):
            host = host.decode()
        return f"{host}:{self._server.server_port}"

    def start(self) -> RuntimeApiServer:
        """Serve requests in a background thread; return self."""
        self._thread.start()
        return self

    def submit(self, invocation: Invocation) -> None:
        """Queue ``invocation`` for the runtime's next ``/next`` request."""
        self._invocations.put(invocation)

    def stop(self) -> None:
        """Return 500 for ``/next`` from now on and close the server.

        Closing waits for the server's polling loop (up to half a second), so it happens in
        a background thread and ``stop`` returns at once.
        """
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
        self._invocations.put(None)
        threading.Thread(target=self._close, name="lambda-runtime-api-stop",
                         daemon=True).start()

    def _close(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
        self._server.server_close()

    # --- requests ------------------------------------------------------------------------

    def _wsgi(self, environ: dict[str, Any],
              start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        try:
            response = self._route(request)
        except Exception:
            # A bug here must not take the server down; the runtime gets a container error.
            logger.exception("Runtime API failed on %s %s", request.method, request.path)
            response = _error(500, "ServiceException", "The Runtime API failed internally.")
        return response(environ, start_response)

    def _route(self, request: Request) -> Response:
        path = request.path
        if path == _NEXT_PATH:
            if request.method != "GET":
                return _error(405, "MethodNotAllowed", "Use GET for /invocation/next.")
            return self._next()
        if path == _INIT_ERROR_PATH:
            if request.method != "POST":
                return _error(405, "MethodNotAllowed", "Use POST for /init/error.")
            return self._init_error(request)
        match = _RESULT_PATH.match(path)
        if match is None:
            return _error(404, "NotFound", f"No Runtime API resource at {path}.")
        if request.method != "POST":
            return _error(405, "MethodNotAllowed",
                          f"Use POST for /invocation/{{id}}/{match['kind']}.")
        if match["kind"] == "response":
            return self._invocation_response(request, match["request_id"])
        return self._invocation_error(request, match["request_id"])

    def _next(self) -> Response:
        if not self.ready.is_set():
            self.ready_at = time.perf_counter()
            self.ready.set()
        invocation = self._invocations.get()
        if invocation is None:
            # Let every other waiting request see the stop too.
            self._invocations.put(None)
            return _container_error()
        with self._lock:
            self._current = invocation

        headers = {
            "Lambda-Runtime-Aws-Request-Id": invocation.request_id,
            "Lambda-Runtime-Deadline-Ms": str(invocation.deadline_ms),
            "Lambda-Runtime-Invoked-Function-Arn": invocation.invoked_arn,
            "Lambda-Runtime-Trace-Id": invocation.trace_id,
        }
        if invocation.client_context is not None:
            headers["Lambda-Runtime-Client-Context"] = invocation.client_context
        if invocation.cognito_identity is not None:
            headers["Lambda-Runtime-Cognito-Identity"] = invocation.cognito_identity
        return Response(invocation.event, 200, headers=headers,
                        content_type="application/json")

    def _invocation_response(self, request: Request, request_id: str) -> Response:
        # Read the body first, so that the connection stays usable whatever the answer.
        body = request.get_data()
        invocation = self._take_current(request_id)
        if invocation is None:
            return _invalid_request_id(request_id)
        if len(body) > RESPONSE_LIMIT:
            # The invocation fails; the runtime learns why and goes on to the next one.
            invocation.error = json.dumps(_RESPONSE_TOO_LARGE).encode()
            invocation.error_type = _RESPONSE_TOO_LARGE["errorType"]
            invocation.done.set()
            return _error(413, "RequestEntityTooLarge",
                          f"The response of {len(body)} bytes exceeds the limit of "
                          f"{RESPONSE_LIMIT} bytes.")
        invocation.response = body
        invocation.done.set()
        return _accepted()

    def _invocation_error(self, request: Request, request_id: str) -> Response:
        body = request.get_data()
        try:
            json.loads(body)
        except ValueError:
            return _error(400, "InvalidErrorRequest",
                          "The error document is not JSON; send errorMessage, errorType "
                          "and stackTrace as a JSON object.")
        invocation = self._take_current(request_id)
        if invocation is None:
            return _invalid_request_id(request_id)
        invocation.error = body
        invocation.error_type = request.headers.get("Lambda-Runtime-Function-Error-Type")
        invocation.done.set()
        return _accepted()

    def _init_error(self, request: Request) -> Response:
        body = request.get_data()
        try:
            json.loads(body)
        except ValueError:
            return _error(400, "InvalidErrorRequest",
                          "The error document is not JSON; send errorMessage, errorType "
                          "and stackTrace as a JSON object.")
        if self.ready.is_set():
            return _error(403, "InvalidStateTransition",
                          "The runtime already finished its initialization.")
        self.init_error = body
        self.init_error_type = request.headers.get("Lambda-Runtime-Function-Error-Type")
        self.ready_at = time.perf_counter()
        self.ready.set()
        return _accepted()

    def _take_current(self, request_id: str) -> Invocation | None:
        """Return the invocation in progress if its ID is ``request_id`` and end it there."""
        with self._lock:
            invocation = self._current
            if invocation is None or invocation.request_id != request_id:
                return None
            self._current = None
            return invocation


def _accepted() -> Response:
    return Response(b'{"status":"OK"}', 202, content_type="application/json")


def _invalid_request_id(request_id: str) -> Response:
    return _error(403, "InvalidRequestID",
                  f"Request ID {request_id} is not the invocation in progress.")


def _container_error() -> Response:
    # The documented meaning of 500: a state the runtime cannot recover from, so it exits.
    return _error(500, "ContainerError", "The execution environment is shutting down.")


def _error(status: int, error_type: str, message: str) -> Response:
    body = json.dumps({"errorMessage": message, "errorType": error_type})
    return Response(body, status, content_type="application/json")
