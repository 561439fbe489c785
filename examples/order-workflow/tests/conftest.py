"""Fixtures shared by the checkout tests: the mock payments API, the stack and orders."""

from __future__ import annotations

import json
import threading
import uuid
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from windtunnel import EmulatedStack, Stack

APP_DIR = Path(__file__).resolve().parents[1]

# The JSON body the mock payments API sends with each HTTP status it can return.
_ERROR_BODIES = {
    402: {"code": "card_declined", "message": "The card was declined"},
    429: {"code": "rate_limited", "message": "Too many requests"},
    500: {"code": "internal_error", "message": "The payments API failed"},
}


@dataclass(frozen=True)
class RecordedRequest:
    """One request that the mock payments API received."""

    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


class PaymentsApi:
    """A local stand-in for the payments API on 127.0.0.1: scripted statuses, recorded requests.

    ``POST /charges`` responds with the next status of the script. The last status of the
    script repeats once the others are used, so ``respond_with(429)`` throttles every
    request and ``respond_with(429, 201)`` throttles the first one only. A 201 response
    carries a new charge ID (``ch_0001``, ``ch_0002``, ...).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._script: deque[int] = deque([201])
        self._charges = 0
        self.requests: list[RecordedRequest] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        name="mock-payments-api", daemon=True)

    @property
    def url(self) -> str:
        """The base URL, which the template's PaymentsApiUrl parameter takes."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> PaymentsApi:
        """Serve requests in a background thread and return self."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def reset(self) -> None:
        """Forget the recorded requests and respond with 201 again."""
        with self._lock:
            self._script = deque([201])
            self._charges = 0
            self.requests = []

    def respond_with(self, *statuses: int) -> None:
        """Respond to the next requests with ``statuses`` in order, then repeat the last one."""
        if not statuses:
            raise ValueError("respond_with needs at least one HTTP status")
        with self._lock:
            self._script = deque(statuses)

    def charge_requests(self) -> list[RecordedRequest]:
        """Return the ``POST /charges`` requests received so far, oldest first."""
        with self._lock:
            return [request for request in self.requests
                    if request.method == "POST" and request.path == "/charges"]

    def _respond(self, request: RecordedRequest) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.requests.append(request)
            if request.method != "POST" or request.path != "/charges":
                return 404, {"code": "not_found", "message": f"no route {request.path}"}
            status = self._script.popleft() if len(self._script) > 1 else self._script[0]
            if status != 201:
                return status, _ERROR_BODIES.get(status, {"message": "unexpected status"})
            self._charges += 1
            return 201, {"id": f"ch_{self._charges:04d}", "status": "pending",
                         "amount": request.body.get("amount"),
                         "currency": request.body.get("currency")}

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else {}
                request = RecordedRequest("POST", self.path, dict(self.headers.items()), body)
                status, response_body = api._respond(request)

                data = json.dumps(response_body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                # Keep pytest's output free of one access log line per request.
                pass

        return Handler


@pytest.fixture(scope="session")
def payments_api_server() -> Iterator[PaymentsApi]:
    """Start the mock payments API on a free port of 127.0.0.1 and stop it after the run."""
    api = PaymentsApi().start()
    yield api
    api.stop()


@pytest.fixture(scope="session")
def windtunnel_stack(payments_api_server: PaymentsApi) -> Iterator[EmulatedStack]:
    """Load the application with PaymentsApiUrl set to the mock payments API.

    This replaces the plugin's fixture of the same name, which reads its parameters from
    pyproject.toml, because the server's port is known only once it runs. The plugin's
    ``stack`` fixture returns this stack and resets it before each test.
    """
    with Stack.local(APP_DIR, params={"PaymentsApiUrl": payments_api_server.url}) as loaded:
        yield loaded


@pytest.fixture
def payments(payments_api_server: PaymentsApi) -> PaymentsApi:
    """Return the mock payments API with no recorded request, responding with 201."""
    payments_api_server.reset()
    return payments_api_server


@pytest.fixture
def order() -> dict[str, Any]:
    """Return a checkout input with a new order ID: two pens and a notebook, 1,150 cents."""
    return {
        "orderId": f"order-{uuid.uuid4().hex[:12]}",
        "customerId": "customer-1",
        "currency": "EUR",
        "items": [
            {"sku": "PEN", "quantity": 2, "unitPrice": 175},
            {"sku": "NOTEBOOK", "quantity": 1, "unitPrice": 800},
        ],
    }
