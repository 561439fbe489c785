"""Connections to the endpoint: HTTP/1.1 keep-alive, request framing and closing.

The rules come from RFC 9112 (https://www.rfc-editor.org/rfc/rfc9112):

- a connection persists unless a side sends ``Connection: close`` (section 9.3);
- ``Content-Length`` or the chunked coding marks the end of a body (section 6.3);
- a message with both, or with a ``Content-Length`` that is not a number, gets its
  response and then the connection closes (sections 6.3 and 6.1).
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import BinaryIO

import pytest

from windtunnel.cloud.pipeline import Cloud
from windtunnel.cloud.server import EndpointServer

pytestmark = pytest.mark.integration

HEALTH = b"GET /_windtunnel/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
# One buffered reader per open socket, so that bytes of a following response are kept.
_readers: dict[int, BinaryIO] = {}


@pytest.fixture(scope="module")
def server() -> Iterator[EndpointServer]:
    with EndpointServer(Cloud(), port=0) as served:
        yield served


@pytest.fixture
def connection(server: EndpointServer) -> Iterator[socket.socket]:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as opened:
        yield opened
        reader = _readers.pop(opened.fileno(), None)
        if reader is not None:
            reader.close()


def read_response(connection: socket.socket) -> tuple[bytes, dict[str, str], bytes]:
    """Read one response with a Content-Length; return its status line, headers, body.

    The connection's reader keeps what arrived beyond this response for the next call.
    """
    reader = _readers.setdefault(connection.fileno(), connection.makefile("rb"))
    status = reader.readline().rstrip(b"\r\n")
    if not status:
        raise ConnectionError("the connection closed before a response")
    headers = {}
    while (line := reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers, reader.read(int(headers.get("content-length", "0")))


def is_closed(connection: socket.socket) -> bool:
    connection.settimeout(5)
    reader = _readers.get(connection.fileno())
    try:
        return (reader.read(1) if reader is not None else connection.recv(1)) == b""
    except ConnectionResetError:
        return True


def test_connection_serves_several_requests(connection: socket.socket) -> None:
    """Three requests on one connection get three responses, and none closes it."""
    answers = []
    for _ in range(3):
        connection.sendall(HEALTH)
        answers.append(read_response(connection))

    assert [status for status, _, _ in answers] == [b"HTTP/1.1 200 OK"] * 3
    assert all("connection" not in headers for _, headers, _ in answers)
    assert answers[0][2] == b'{"status": "running"}'


def test_pipelined_requests_in_order(connection: socket.socket) -> None:
    """Two requests sent at once get their responses in order (RFC 9112, 9.3.2)."""
    connection.sendall(HEALTH + b"GET /_windtunnel/missing HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")

    first = read_response(connection)
    second = read_response(connection)

    assert first[0] == b"HTTP/1.1 200 OK"
    assert second[0] != b"HTTP/1.1 200 OK"


def test_connection_close_is_honoured(connection: socket.socket) -> None:
    """A request with Connection: close gets its answer, then the server closes."""
    connection.sendall(b"GET /_windtunnel/health HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                       b"Connection: close\r\n\r\n")

    status, headers, _ = read_response(connection)

    assert status == b"HTTP/1.1 200 OK"
    assert headers["connection"] == "close"
    assert is_closed(connection)


def test_unread_body_is_skipped(connection: socket.socket) -> None:
    """The body of a request that the endpoint does not read is skipped, not parsed as the
    next request line."""
    body = b"GET /_windtunnel/missing HTTP/1.1\r\n\r\n" * 4
    connection.sendall(b"POST /_windtunnel/health HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                       b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
    first = read_response(connection)
    connection.sendall(HEALTH)
    second = read_response(connection)

    assert first[0] == b"HTTP/1.1 200 OK"
    assert second[0] == b"HTTP/1.1 200 OK"
    assert second[2] == b'{"status": "running"}'


def test_chunked_body_then_request(connection: socket.socket) -> None:
    """A chunked body ends at its zero-length chunk; the connection serves on."""
    connection.sendall(b"POST /_windtunnel/health HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                       b"Transfer-Encoding: chunked\r\n\r\n"
                       b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n" + HEALTH)

    first = read_response(connection)
    second = read_response(connection)

    assert (first[0], second[0]) == (b"HTTP/1.1 200 OK", b"HTTP/1.1 200 OK")


@pytest.mark.parametrize("length", [b"ten", b"-1", b"5, 6"])
def test_malformed_length_gets_400(connection: socket.socket,
                                                      length: bytes) -> None:
    """A Content-Length that is not one number gets 400, and the connection closes."""
    connection.sendall(b"POST /_windtunnel/health HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                       b"Content-Length: " + length + b"\r\n\r\nhello")

    status, headers, _ = read_response(connection)

    assert status == b"HTTP/1.1 400 Bad Request"
    assert headers["connection"] == "close"
    assert is_closed(connection)


def test_both_framings_close_connection(
        connection: socket.socket) -> None:
    """With both framings, the chunked coding decides, and the connection then closes."""
    connection.sendall(b"POST /_windtunnel/health HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                       b"Content-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n"
                       b"3\r\nabc\r\n0\r\n\r\n")

    status, headers, _ = read_response(connection)

    assert status == b"HTTP/1.1 200 OK"
    assert headers["connection"] == "close"
    assert is_closed(connection)


def test_stop_closes_idle_connections() -> None:
    """Stopping the server closes the connections that clients kept open."""
    server = EndpointServer(Cloud(), port=0).start()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as connection:
        connection.sendall(HEALTH)
        read_response(connection)

        server.stop()

        assert is_closed(connection)
        _readers.pop(connection.fileno()).close()
