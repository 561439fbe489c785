"""SNS delivers to HTTP(S) subscribers only on this machine; other hosts are never called."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator

import pytest

from windtunnel.cloud.moto_corrections import _is_loopback_url
from windtunnel.cloud.pipeline import Cloud


@pytest.mark.parametrize(("url", "loopback"), [
    ("http://127.0.0.1:8080/hook", True),
    ("https://localhost/hook", True),
    ("http://[::1]:9000/", True),
    ("https://example.com/hook", False),
    ("http://10.0.0.5/hook", False),
])
def test_loopback_urls(url: str, loopback: bool) -> None:
    """Only loopback addresses and localhost count as this machine."""
    assert _is_loopback_url(url) is loopback


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[bytes]]]:
    received: list[bytes] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append(self.rfile.read(int(self.headers["Content-Length"])))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/hook", received
    finally:
        server.shutdown()
        server.server_close()


def test_loopback_subscriber_receives(receiver: tuple[str, list[bytes]]) -> None:
    """A subscriber on 127.0.0.1 gets the notification; one elsewhere is skipped."""
    url, received = receiver
    cloud = Cloud()
    sns = cloud.client("sns")
    topic = sns.create_topic(Name="alerts")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=url)
    sns.subscribe(TopicArn=topic, Protocol="https", Endpoint="https://example.com/hook")

    sns.publish(TopicArn=topic, Message="disk full")

    assert len(received) == 1
    assert b"disk full" in received[0]
