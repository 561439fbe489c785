"""WebSocket connections that the endpoint accepts after an HTTP upgrade (RFC 6455).

A data plane that serves WebSocket clients (AppSync's real-time endpoint) registers a
:class:`WebSocketPlaneHandler` with the cloud. The endpoint checks the upgrade request and
lets the plane decide whether to accept it. On acceptance it sends
``101 Switching Protocols`` and gives the plane a :class:`WebSocketSession` for text
messages. wsproto does the framing.
"""

from __future__ import annotations

import base64
import hashlib
import io
import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol

from wsproto.connection import Connection, ConnectionState, ConnectionType
from wsproto.events import BytesMessage, CloseConnection, Ping, TextMessage
from wsproto.utilities import LocalProtocolError, RemoteProtocolError

from windtunnel.cloud.dataplane import DataPlaneRequest
from windtunnel.cloud.messages import AwsResponse

__all__ = ["WebSocketAcceptance", "WebSocketPlaneHandler", "WebSocketSession",
           "handshake_problem", "switching_protocols"]

logger = logging.getLogger(__name__)

# RFC 6455, section 1.3: the server appends this GUID to the client's key.
_ACCEPT_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_READ_SIZE = 65536
# The largest message a client may send; a larger one closes the connection with 1009.
MAX_MESSAGE_BYTES = 1024 * 1024


@dataclass(frozen=True)
class WebSocketAcceptance:
    """A plane's decision to accept an upgrade: the subprotocol and who serves the session."""

    subprotocol: str | None
    serve: Callable[[WebSocketSession], None]


class WebSocketPlaneHandler(Protocol):
    """Decides on an upgrade request: an HTTP response to reject it, or an acceptance."""

    def __call__(self, request: DataPlaneRequest) -> AwsResponse | WebSocketAcceptance: ...


def handshake_problem(request: DataPlaneRequest) -> str | None:
    """Return what makes an upgrade request invalid under RFC 6455, section 4.2.1, or None."""
    if request.method.upper() != "GET":
        return "A WebSocket handshake must use GET."
    if (request.header("Sec-WebSocket-Version") or "").strip() != "13":
        return "Only version 13 of the WebSocket protocol is supported."
    key = (request.header("Sec-WebSocket-Key") or "").strip()
    try:
        decoded = base64.b64decode(key, validate=True)
    except ValueError:
        decoded = b""
    if len(decoded) != 16:
        return "The Sec-WebSocket-Key header must be 16 bytes in base64."
    return None


def switching_protocols(request: DataPlaneRequest, subprotocol: str | None) -> bytes:
    """Return the ``101 Switching Protocols`` response to a valid upgrade request."""
    key = (request.header("Sec-WebSocket-Key") or "").strip().encode("ascii")
    accept = base64.b64encode(hashlib.sha1(key + _ACCEPT_GUID).digest()).decode("ascii")
    lines = ["HTTP/1.1 101 Switching Protocols", "Upgrade: websocket",
             "Connection: Upgrade", f"Sec-WebSocket-Accept: {accept}"]
    if subprotocol is not None:
        lines.append(f"Sec-WebSocket-Protocol: {subprotocol}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


class WebSocketSession:
    """One accepted WebSocket connection: receive text messages, send them from any thread."""

    def __init__(self, reader: io.BufferedIOBase, writer: io.BufferedIOBase,
                 source_ip: str) -> None:
        self.source_ip = source_ip
        self._reader = reader
        self._writer = writer
        self._connection = Connection(ConnectionType.SERVER)
        self._send_lock = threading.Lock()
        self.closed = threading.Event()
        """Set once the connection is closing or closed; sends are dropped from then on."""

    def messages(self) -> Iterator[str]:
        """Yield the client's text messages until the connection closes.

        Binary messages are rejected with close code 1003 (RFC 6455, section 7.4.1).
        """
        parts: list[str] = []
        size = 0
        while not self.closed.is_set():
            try:
                data = self._reader.read1(_READ_SIZE)
            except (OSError, ValueError):
                data = b""
            if not data:
                self.closed.set()
                return
            try:
                self._connection.receive_data(data)
                events = list(self._connection.events())
            except RemoteProtocolError as error:
                logger.debug("WebSocket protocol error from the client: %s", error)
                self.close(1002, "protocol error")
                return
            for event in events:
                if isinstance(event, TextMessage):
                    parts.append(event.data)
                    size += len(event.data)
                    if size > MAX_MESSAGE_BYTES:
                        self.close(1009, "message too big")
                        return
                    if event.message_finished:
                        yield "".join(parts)
                        parts, size = [], 0
                elif isinstance(event, BytesMessage):
                    self.close(1003, "binary messages are not accepted")
                    return
                elif isinstance(event, Ping):
                    self._send_bytes(self._connection.send(event.response()))
                elif isinstance(event, CloseConnection):
                    self._answer_close(event)
                    return

    def send_text(self, text: str) -> bool:
        """Send one text message; return False when the connection is already closed."""
        return self._send_event(TextMessage(data=text))

    def close(self, code: int = 1000, reason: str = "") -> None:
        """Send a close frame (once) and stop reading."""
        if self._connection.state in (ConnectionState.OPEN, ConnectionState.REMOTE_CLOSING):
            self._send_event(CloseConnection(code=code, reason=reason), closing=True)
        self.closed.set()

    def _answer_close(self, event: CloseConnection) -> None:
        if self._connection.state == ConnectionState.REMOTE_CLOSING:
            self._send_event(event.response(), closing=True)
        self.closed.set()

    def _send_event(self, event: TextMessage | CloseConnection, *,
                    closing: bool = False) -> bool:
        with self._send_lock:
            if self.closed.is_set() and not closing:
                return False
            try:
                data = self._connection.send(event)
            except LocalProtocolError:
                return False
            return self._write(data)

    def _send_bytes(self, data: bytes) -> None:
        with self._send_lock:
            self._write(data)

    def _write(self, data: bytes) -> bool:
        try:
            self._writer.write(data)
            self._writer.flush()
        except OSError:
            self.closed.set()
            return False
        return True
