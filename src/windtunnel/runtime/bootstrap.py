"""The program inside a subprocess execution environment: the Python runtime's side of the
Lambda Runtime API.

It loads the handler, then requests one invocation at a time from the Runtime API, calls the
handler with the event and a context, and posts the response or the error, with the same
payloads and ``[ERROR]`` log entries as the in-process runtime (which follows AWS's
runtime interface client for Python).

Standard output and standard error both go to the parent. After initialization and after
each invocation the program writes :data:`PHASE_END_MARKER` there, before it posts the
result, so the parent can tell which output belongs to which invocation.

Before it loads the handler, the program redirects HTTP requests to AWS hostnames to the
endpoint (:mod:`windtunnel.runtime.child_http_redirect`), so that the handler's urllib,
requests and httpx calls to AWS URLs reach the emulation as its boto3 calls do.

The parent starts it by file path (``python -P .../bootstrap.py``), not with ``-m``:
``-m`` would first run ``windtunnel/__init__.py``, whose imports (boto3, moto) take a
quarter of a second and are of no use here.
"""

from __future__ import annotations

import contextlib
import http.client
import importlib
import json
import logging
import os
import socket
import sys
import threading
import time
import types
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from windtunnel.runtime.context import LambdaContext

__all__ = ["PHASE_END_MARKER", "main"]

# Written to standard output after each phase; NUL bytes keep it apart from any text a
# handler prints.
PHASE_END_MARKER = b"\x00windtunnel:phase-end\x00\n"
_API_VERSION = "2018-06-01"
# The exit status after an initialization error, as AWS's runtime interface client uses.
_INIT_ERROR_EXIT_STATUS = 1

_request_id = ""


def main() -> int:
    """Run the runtime loop until the Runtime API returns 500 or closes the connection."""
    runtime, context_module, redirect = _import_runtime_modules()
    _exit_with_parent()
    _redirect_aws_hostnames(redirect)
    _configure_output(runtime)
    client = _RuntimeApiClient(os.environ["AWS_LAMBDA_RUNTIME_API"])
    try:
        return _serve(client, runtime, context_module)
    except (OSError, http.client.HTTPException):
        # The Runtime API closed: the parent stopped the environment or exited.
        return 1


def _serve(client: _RuntimeApiClient, runtime: types.ModuleType,
           context_module: types.ModuleType) -> int:
    handler = _load_handler(client, runtime)
    if handler is None:
        return _INIT_ERROR_EXIT_STATUS
    _end_phase()

    while True:
        status, headers, event = client.request("GET", "/runtime/invocation/next")
        if status != 200:
            # 500: the environment is shutting down and the runtime is expected to exit.
            return 0
        _invoke(client, runtime, context_module, handler, headers, event)


def _load_handler(client: _RuntimeApiClient, runtime: types.ModuleType) -> Any:
    """Import the handler; on failure, report the error to ``/init/error`` and return None."""
    try:
        return runtime.load_handler(os.environ.get("_HANDLER", ""), importlib.import_module)
    except runtime.HandlerFault as fault:
        payload = runtime.error_payload(fault.error_type, fault.message, fault.stack_trace,
                                        "")
    except Exception as error:
        payload = runtime.exception_payload(error, "")

    sys.stdout.write(runtime.UNHANDLED_EXCEPTION_WARNING + "\n")
    sys.stdout.write(runtime.format_error_log(payload))
    _end_phase()
    client.request("POST", "/runtime/init/error", json.dumps(payload).encode(),
                   {"Lambda-Runtime-Function-Error-Type": payload["errorType"]})
    return None


def _invoke(client: _RuntimeApiClient, runtime: types.ModuleType,
            context_module: types.ModuleType, handler: Any,
            headers: http.client.HTTPMessage, event: bytes) -> None:
    global _request_id
    request_id = headers["Lambda-Runtime-Aws-Request-Id"]
    _request_id = request_id
    trace_id = headers.get("Lambda-Runtime-Trace-Id")
    if trace_id:
        os.environ["_X_AMZN_TRACE_ID"] = trace_id
    else:
        os.environ.pop("_X_AMZN_TRACE_ID", None)

    try:
        context = _context(context_module, headers)
        result = handler(runtime.unmarshal_event(event), context)
        response: bytes = runtime.marshal_response(result)
    except runtime.HandlerFault as fault:
        payload = runtime.error_payload(fault.error_type, fault.message, fault.stack_trace,
                                        request_id)
    except Exception as error:
        payload = runtime.exception_payload(error, request_id)
    else:
        _end_phase()
        client.request("POST", f"/runtime/invocation/{request_id}/response", response)
        return

    sys.stdout.write(runtime.format_error_log(payload))
    _end_phase()
    client.request("POST", f"/runtime/invocation/{request_id}/error",
                   json.dumps(payload).encode(),
                   {"Lambda-Runtime-Function-Error-Type": payload["errorType"]})


def _context(context_module: types.ModuleType,
             headers: http.client.HTTPMessage) -> LambdaContext:
    """Build the handler's context from the invocation's headers and the variables."""
    deadline_ms = int(headers.get("Lambda-Runtime-Deadline-Ms", "0"))
    client_context = headers.get("Lambda-Runtime-Client-Context")
    cognito_identity = headers.get("Lambda-Runtime-Cognito-Identity")
    identity = None
    if cognito_identity:
        fields = json.loads(cognito_identity)
        identity = context_module.CognitoIdentity(
            cognito_identity_id=fields.get("cognitoIdentityId"),
            cognito_identity_pool_id=fields.get("cognitoIdentityPoolId"))
    context: LambdaContext = context_module.LambdaContext(
        function_name=os.environ.get("AWS_LAMBDA_FUNCTION_NAME", ""),
        function_version=os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
        invoked_function_arn=headers.get("Lambda-Runtime-Invoked-Function-Arn", ""),
        memory_limit_in_mb=int(os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")),
        aws_request_id=headers["Lambda-Runtime-Aws-Request-Id"],
        log_group_name=os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME", ""),
        log_stream_name=os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", ""),
        timeout_seconds=deadline_ms / 1000 - time.time(),
        identity=identity,
        client_context=json.loads(client_context) if client_context else None,
    )
    return context


class _RuntimeApiClient:
    """One kept-alive HTTP connection to the Runtime API."""

    def __init__(self, address: str) -> None:
        host, _, port = address.rpartition(":")
        self._connection = http.client.HTTPConnection(host, int(port))
        self._connection.connect()
        # Small requests go out at once instead of waiting for an acknowledgement.
        assert self._connection.sock is not None
        self._connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None
                ) -> tuple[int, http.client.HTTPMessage, bytes]:
        self._connection.request(method, f"/{_API_VERSION}{path}", body=body,
                                 headers=headers or {})
        response = self._connection.getresponse()
        return response.status, response.headers, response.read()


class _RequestIdFilter(logging.Filter):
    """Adds the current request ID to log records, as the runtime's root handler does."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.aws_request_id = _request_id
        return True


class _StandardOutputHandler(logging.Handler):
    """Writes formatted records to whatever ``sys.stdout`` is at the time."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stdout.write(self.format(record))
        except Exception:
            self.handleError(record)


def _configure_output(runtime: types.ModuleType) -> None:
    """Flush printed lines at once and give the root logger the runtime's format."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            # A line that a handler printed reaches the log even if the process dies next.
            reconfigure(line_buffering=True)
    handler = _StandardOutputHandler()
    handler.setFormatter(runtime.RuntimeLogFormatter())
    handler.addFilter(_RequestIdFilter())
    logging.getLogger().addHandler(handler)


def _end_phase() -> None:
    """Flush the output of this phase and write the marker after it."""
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        if stream is not None:
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
    # If the handler closed standard output, the marker never arrives and the parent
    # treats the environment as broken.
    with contextlib.suppress(OSError):
        os.write(1, PHASE_END_MARKER)


def _exit_with_parent() -> None:
    """End this process when standard input closes: the parent stopped or died.

    This keeps a handler that loops forever from outliving a parent that was killed
    before it could kill this process.
    """
    def watch() -> None:
        try:
            while os.read(0, 4096):
                pass
        except OSError:
            pass
        os._exit(1)

    threading.Thread(target=watch, name="windtunnel-parent-watch", daemon=True).start()


def _redirect_aws_hostnames(redirect: types.ModuleType) -> None:
    """Send the handler's HTTP requests to AWS hostnames to the endpoint, before the
    handler is loaded.

    The endpoint is the one the SDKs use (``AWS_ENDPOINT_URL``). An https endpoint's
    certificate is verified against ``AWS_CA_BUNDLE``, which names the local authority's
    bundle when the endpoint speaks https.
    """
    url = os.environ.get("AWS_ENDPOINT_URL")
    if not url:
        return
    try:
        endpoint = redirect.Endpoint.from_url(url, os.environ.get("AWS_CA_BUNDLE"))
    except (ValueError, OSError) as error:
        # OSError: the CA bundle is missing or unreadable.
        sys.stderr.write(f"windtunnel: requests to AWS hostnames are not redirected to the "
                         f"endpoint: {error}\n")
        return
    redirect.install(endpoint)


def _import_runtime_modules() -> tuple[types.ModuleType, types.ModuleType, types.ModuleType]:
    """Import ``python_runtime``, ``context`` and ``child_http_redirect`` without running
    ``windtunnel/__init__``.

    A bare package module stands in for ``windtunnel`` during the import. Afterwards every
    ``windtunnel`` module leaves ``sys.modules`` again, so that a handler that imports
    windtunnel itself gets the real package.
    """
    stand_in = "windtunnel" not in sys.modules
    if stand_in:
        package = types.ModuleType("windtunnel")
        package.__path__ = [str(Path(__file__).resolve().parents[1])]
        sys.modules["windtunnel"] = package
    try:
        runtime = importlib.import_module("windtunnel.runtime.python_runtime")
        context_module = importlib.import_module("windtunnel.runtime.context")
        redirect = importlib.import_module("windtunnel.runtime.child_http_redirect")
    finally:
        if stand_in:
            for name in [name for name in sys.modules
                         if name == "windtunnel" or name.startswith("windtunnel.")]:
                del sys.modules[name]
    return runtime, context_module, redirect


if __name__ == "__main__":
    sys.exit(main())
