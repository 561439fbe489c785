"""A threaded HTTP/1.1 server for WSGI applications that keeps connections alive.

Werkzeug's development server closes the connection after every response and, before
closing, waits 10 ms for more request data. SDKs and HTTP clients reuse connections, so
the endpoint and the Lambda Runtime API serve them here instead: the request body is read
to its end (``Content-Length`` or chunked) before the next request line, the response goes
out in one write with its length, and the connection stays open until the client closes
it, sends ``Connection: close``, or stays idle for :data:`IDLE_TIMEOUT_SECONDS`.

A request with ``Upgrade: websocket`` goes to the server's ``upgrade_handler`` instead,
with the WSGI environ and the connection's reader and writer, and the handler keeps the
connection until the WebSocket session ends.
"""

from __future__ import annotations

import contextlib
import io
import logging
import socket
import threading
from collections.abc import Callable
from http import HTTPStatus
from typing import Any, Protocol

from werkzeug.serving import DechunkedInput, ThreadedWSGIServer, WSGIRequestHandler

__all__ = ["IDLE_TIMEOUT_SECONDS", "HttpResponse", "KeepAliveRequestHandler",
           "LoopbackWSGIServer", "UpgradeHandler"]

logger = logging.getLogger(__name__)

IDLE_TIMEOUT_SECONDS = 120.0
"""How long a connection may wait for its next request (or a read may stall) before the
server closes it."""
# The part of a request body that the application left unread is read and dropped, so
# the connection serves on. A body with more left than this closes the connection instead.
_DRAIN_LIMIT = 64 * 1024 * 1024
_DRAIN_CHUNK = 64 * 1024
# Status codes whose responses have no body, so no Content-Length is added to them.
_NO_BODY_STATUSES = frozenset({204, 304})


# A response line's status ("404 Not Found"), its header fields and its body.
HttpResponse = tuple[str, list[tuple[str, str]], bytes]


class UpgradeHandler(Protocol):
    """Serves a connection that requested a switch of protocols, until it ends.

    The handler returns None once it took over the connection, or the HTTP response that
    rejects the upgrade, which the server then sends.
    """

    def __call__(self, environ: dict[str, Any], reader: io.BufferedIOBase,
                 writer: io.BufferedIOBase) -> HttpResponse | None: ...


class LoopbackWSGIServer(ThreadedWSGIServer):
    """Werkzeug's threaded server with keep-alive connections it can close on shutdown."""

    daemon_threads = True

    def __init__(self, host: str, port: int, app: Callable[..., Any], *,
                 handler: type[KeepAliveRequestHandler] | None = None,
                 upgrade_handler: UpgradeHandler | None = None) -> None:
        super().__init__(host, port, app, handler=handler or KeepAliveRequestHandler)
        self.upgrade_handler = upgrade_handler
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """End every open connection, so that no handler thread outlives the server."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class KeepAliveRequestHandler(WSGIRequestHandler):
    """Serves the requests of one connection, one after the other, with keep-alive."""

    protocol_version = "HTTP/1.1"
    # The client sees each response at once instead of after its delayed acknowledgement.
    disable_nagle_algorithm = True
    timeout = IDLE_TIMEOUT_SECONDS
    server: LoopbackWSGIServer

    def run_wsgi(self) -> None:
        body = self._request_body()
        if body is None:
            logger.info("rejected %s %s: invalid Content-Length %s", self.command, self.path,
                        self.headers.get_all("Content-Length"))
            self._send_plain(HTTPStatus.BAD_REQUEST, "Bad Request: invalid Content-Length.")
            self.close_connection = True
            return
        if self.headers.get("Expect", "").lower().strip(" \t") == "100-continue":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")

        self.environ = environ = self.make_environ()
        environ["wsgi.input"] = body
        environ["wsgi.input_terminated"] = True
        if self._is_websocket_upgrade() and self.server.upgrade_handler is not None:
            self.close_connection = True
            # A WebSocket connection may stay idle for as long as its client wants.
            self.connection.settimeout(None)
            rejection = self.server.upgrade_handler(environ, self.rfile, self.wfile)
            if rejection is not None:
                self._send(*rejection)
            return

        try:
            status, headers, payload = self._call_application(environ)
        except (ConnectionError, TimeoutError) as error:
            self.connection_dropped(error, environ)
            self.close_connection = True
            return
        if not body.drain(_DRAIN_LIMIT):
            self.close_connection = True
        self._send(status, headers, payload)

    def _request_body(self) -> _RequestBody | None:
        """Return the request body as a stream that ends where the body ends, or None
        when its length is malformed."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            # A Content-Length beside chunked coding is ignored, and the connection must
            # close after the response (RFC 9112, section 6.3).
            if "Content-Length" in self.headers:
                self.close_connection = True
            return _RequestBody(DechunkedInput(self.rfile), None)  # type: ignore[arg-type]
        lengths = self.headers.get_all("Content-Length") or []
        if not lengths:
            return _RequestBody(self.rfile, 0)
        if len(set(lengths)) != 1 or not lengths[0].strip().isdigit():
            return None
        return _RequestBody(self.rfile, int(lengths[0]))

    def _is_websocket_upgrade(self) -> bool:
        connection_tokens = {token.strip().lower()
                             for token in self.headers.get("Connection", "").split(",")}
        return ("upgrade" in connection_tokens
                and self.headers.get("Upgrade", "").strip().lower() == "websocket")

    def _call_application(self, environ: dict[str, Any]
                          ) -> tuple[str, list[tuple[str, str]], bytes]:
        started: list[Any] = []
        written: list[bytes] = []

        def start_response(status: str, headers: list[tuple[str, str]],
                           exc_info: Any = None) -> Callable[[bytes], None]:
            started[:] = [status, headers]
            return written.append

        try:
            result = self.server.app(environ, start_response)
            try:
                written.extend(result)
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
        except (ConnectionError, TimeoutError):
            raise
        except Exception:
            # A bug in the application must not end the server or the connection's
            # thread without a response.
            logger.exception("the application failed on %s %s", self.command, self.path)
            self.close_connection = True
            return ("500 Internal Server Error", [("Content-Type", "text/plain")],
                    b"Internal Server Error")
        if not started:
            logger.error("the application returned no response to %s %s", self.command,
                         self.path)
            self.close_connection = True
            return ("500 Internal Server Error", [("Content-Type", "text/plain")],
                    b"Internal Server Error")
        return started[0], started[1], b"".join(written)

    def _send(self, status: str, headers: list[tuple[str, str]], payload: bytes) -> None:
        code = int(status.split(None, 1)[0])
        lines = [f"{self.protocol_version} {status}",
                 f"Server: {self.version_string()}",
                 f"Date: {self.date_time_string()}"]
        has_length = False
        for name, value in headers:
            lowered = name.lower()
            if lowered == "content-length":
                has_length = True
            elif lowered == "connection":
                if value.strip().lower() == "close":
                    self.close_connection = True
                continue
            elif lowered == "transfer-encoding":
                continue
            lines.append(f"{name}: {value}")
        if not has_length and code >= 200 and code not in _NO_BODY_STATUSES:
            lines.append(f"Content-Length: {len(payload)}")
        if self.close_connection:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        if self.command == "HEAD":
            payload = b""
        try:
            self.wfile.write(head + payload)
        except (ConnectionError, TimeoutError) as error:
            self.connection_dropped(error, getattr(self, "environ", None))
            self.close_connection = True

    def _send_plain(self, status: HTTPStatus, text: str) -> None:
        self.close_connection = True
        self._send(f"{status.value} {status.phrase}",
                   [("Content-Type", "text/plain")], text.encode())

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None

    def log_error(self, format: str, *args: Any) -> None:
        # These are idle connections that timed out and requests that the standard library
        # rejected before the application ran. The client has its response already.
        logger.debug(format, *args)


class _RequestBody(io.RawIOBase):
    """The body of one request: reads end where the body ends, not at the next request."""

    def __init__(self, stream: io.BufferedIOBase | DechunkedInput,
                 length: int | None) -> None:
        self._stream = stream
        self._remaining = length
        """Bytes left of a body with a Content-Length; None for a chunked body."""
        self._ended = length == 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._ended:
            return 0
        view = memoryview(buffer)
        if isinstance(self._stream, DechunkedInput):
            # Werkzeug's reader of chunked bodies fills only a bytearray.
            chunk = bytearray(len(view))
            count = self._stream.readinto(chunk)
            view[:count] = chunk[:count]
        else:
            if self._remaining is not None:
                view = view[:self._remaining]
            count = self._stream.readinto(view)
        if not count:
            self._ended = True
            return 0
        if self._remaining is not None:
            self._remaining -= count
            self._ended = self._remaining == 0
        return count

    def drain(self, limit: int) -> bool:
        """Read and drop what is left of the body, up to ``limit`` bytes.

        Return whether the body ended, which lets the connection serve another request.
        """
        dropped = 0
        try:
            while not self._ended:
                if dropped >= limit:
                    return False
                chunk = self.read(_DRAIN_CHUNK)
                if not chunk:
                    # The client closed its side before the body ended.
                    return self._remaining is None or self._remaining == 0
                dropped += len(chunk)
        except (OSError, ValueError):
            return False
        return True
