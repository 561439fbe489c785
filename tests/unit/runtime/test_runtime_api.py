"""The Runtime API server: the paths, headers and status codes a runtime gets.

Source: https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html
"""

from __future__ import annotations

import http.client
import json
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from windtunnel import Stack
from windtunnel.runtime.runtime_api import RESPONSE_LIMIT, Invocation, RuntimeApiServer

PREFIX = "/2018-06-01/runtime"
# Opens a keep-alive connection to the server under test.
Connect = Callable[[], http.client.HTTPConnection]


@pytest.fixture
def server() -> Iterator[RuntimeApiServer]:
    server = RuntimeApiServer().start()
    yield server
    server.stop()


@pytest.fixture
def connect(server: RuntimeApiServer) -> Iterator[Connect]:
    """Open keep-alive connections to the server, closed after the test."""
    opened: list[http.client.HTTPConnection] = []

    def open_connection() -> http.client.HTTPConnection:
        host, _, port = server.address.rpartition(":")
        connection = http.client.HTTPConnection(host, int(port), timeout=5)
        opened.append(connection)
        return connection

    yield open_connection
    for connection in opened:
        connection.close()


def call(connection: http.client.HTTPConnection, method: str, path: str,
         body: bytes | None = None, headers: dict[str, str] | None = None
         ) -> tuple[int, http.client.HTTPMessage, bytes]:
    connection.request(method, PREFIX + path, body=body, headers=headers or {})
    response = connection.getresponse()
    return response.status, response.headers, response.read()


def invocation(request_id: str = "request-1") -> Invocation:
    return Invocation(request_id=request_id, event=b'{"a": 1}', deadline_ms=1_700_000_000_000,
                      invoked_arn="arn:aws:lambda:us-east-1:123456789012:function:f",
                      trace_id="Root=1-00000000-000000000000000000000000",
                      client_context='{"custom": {"k": "v"}}')


def test_next_returns_event_and_headers(server: RuntimeApiServer, connect: Connect) -> None:
    """/next returns 200 with the event as body and the invocation's headers."""
    server.submit(invocation())
    connection = connect()

    status, headers, body = call(connection, "GET", "/invocation/next")

    assert status == 200
    assert body == b'{"a": 1}'
    assert headers["Lambda-Runtime-Aws-Request-Id"] == "request-1"
    assert headers["Lambda-Runtime-Deadline-Ms"] == "1700000000000"
    assert headers["Lambda-Runtime-Invoked-Function-Arn"].endswith(":function:f")
    assert headers["Lambda-Runtime-Trace-Id"].startswith("Root=1-")
    assert headers["Lambda-Runtime-Client-Context"] == '{"custom": {"k": "v"}}'
    assert "Lambda-Runtime-Cognito-Identity" not in headers
    assert server.ready.is_set()


def test_response_accepted_for_current_request(server: RuntimeApiServer, connect: Connect) -> None:
    """/response for the invocation in progress returns 202 and completes it."""
    pending = invocation()
    server.submit(pending)
    connection = connect()
    call(connection, "GET", "/invocation/next")

    status, _, body = call(connection, "POST", "/invocation/request-1/response", b'"ok"')

    assert status == 202
    assert json.loads(body) == {"status": "OK"}
    assert pending.done.is_set()
    assert pending.response == b'"ok"'


def test_wrong_request_id_is_forbidden(server: RuntimeApiServer, connect: Connect) -> None:
    """A result for another request ID returns 403 and leaves the invocation open."""
    pending = invocation()
    server.submit(pending)
    connection = connect()
    call(connection, "GET", "/invocation/next")

    status, _, body = call(connection, "POST", "/invocation/other/response", b"{}")

    assert status == 403
    assert json.loads(body)["errorType"] == "InvalidRequestID"
    assert not pending.done.is_set()


def test_second_response_is_forbidden(server: RuntimeApiServer, connect: Connect) -> None:
    """Once answered, the same request ID cannot be answered again (403)."""
    server.submit(invocation())
    connection = connect()
    call(connection, "GET", "/invocation/next")
    call(connection, "POST", "/invocation/request-1/response", b"{}")

    status, _, _ = call(connection, "POST", "/invocation/request-1/error", b"{}")

    assert status == 403


def test_response_too_large(server: RuntimeApiServer, connect: Connect) -> None:
    """A response over 6 MB returns 413; the invocation fails with
    Function.ResponseSizeTooLarge."""
    pending = invocation()
    server.submit(pending)
    connection = connect()
    call(connection, "GET", "/invocation/next")

    status, _, _ = call(connection, "POST", "/invocation/request-1/response",
                        b"x" * (RESPONSE_LIMIT + 1))

    assert status == 413
    assert pending.error is not None
    assert json.loads(pending.error)["errorType"] == "Function.ResponseSizeTooLarge"


def test_error_keeps_document_and_type(server: RuntimeApiServer, connect: Connect) -> None:
    """/error returns 202 and keeps the body and Lambda-Runtime-Function-Error-Type."""
    pending = invocation()
    server.submit(pending)
    connection = connect()
    call(connection, "GET", "/invocation/next")
    document = b'{"errorMessage": "bad", "errorType": "ValueError", "stackTrace": []}'

    status, _, _ = call(connection, "POST", "/invocation/request-1/error", document,
                        {"Lambda-Runtime-Function-Error-Type": "ValueError"})

    assert status == 202
    assert pending.error == document
    assert pending.error_type == "ValueError"


def test_error_that_is_not_json_is_bad_request(server: RuntimeApiServer, connect: Connect) -> None:
    """An error body that is not JSON returns 400."""
    server.submit(invocation())
    connection = connect()
    call(connection, "GET", "/invocation/next")

    status, _, _ = call(connection, "POST", "/invocation/request-1/error", b"not json")

    assert status == 400


def test_init_error_before_and_after_initialization(server: RuntimeApiServer,
                                                    connect: Connect) -> None:
    """/init/error returns 202 during initialization and 403 once it is over."""
    connection = connect()
    document = b'{"errorMessage": "m", "errorType": "Runtime.ImportModuleError"}'

    first, _, _ = call(connection, "POST", "/init/error", document)
    second, _, _ = call(connection, "POST", "/init/error", document)

    assert first == 202
    assert server.init_error == document
    assert second == 403


def test_next_after_stop_is_container_error(server: RuntimeApiServer, connect: Connect) -> None:
    """A runtime waiting on /next when the environment stops gets 500, so it exits."""
    answers: list[tuple[int, bytes]] = []

    def wait_for_next() -> None:
        status, _, body = call(connect(), "GET", "/invocation/next")
        answers.append((status, body))

    waiting = threading.Thread(target=wait_for_next)
    waiting.start()
    assert server.ready.wait(5)
    server.stop()
    waiting.join(timeout=5)

    assert len(answers) == 1
    assert answers[0][0] == 500
    assert json.loads(answers[0][1])["errorType"] == "ContainerError"


def test_unknown_path_and_method(server: RuntimeApiServer, connect: Connect) -> None:
    """Unknown paths return 404 and wrong methods 405."""
    connection = connect()

    assert call(connection, "GET", "/invocation/abc/unknown")[0] == 404
    assert call(connection, "POST", "/invocation/next", b"")[0] == 405


def test_close_kills_runtime_processes(tmp_path: Path) -> None:
    """Closing a stack in process mode leaves no runtime process running."""
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text(
        "import os\n\ndef handler(event, context):\n    return os.getpid()\n")
    (tmp_path / "template.yaml").write_text(
        "Transform: AWS::Serverless-2016-10-31\nResources:\n  Pid:\n"
        "    Type: AWS::Serverless::Function\n"
        "    Properties: {Runtime: python3.12, CodeUri: src/, Handler: app.handler}\n")

    with Stack.local(tmp_path, isolation="process") as stack:
        pid = stack.invoke("Pid", {}).payload
        assert pid != os.getpid()
        assert stack.invoke("Pid", {}).payload == pid

    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
