"""Hooks in urllib, urllib3 and httpx that hand requests to AWS hostnames to the emulation.

Each hook sits where the library opens a connection: ``AbstractHTTPHandler.do_open`` for
``urllib.request``, ``HTTPConnectionPool.urlopen`` for urllib3 (which requests and botocore
use), and the ``handle_request`` methods of httpx's HTTP transports. A hook calls
:func:`~windtunnel.runtime.http_interception.cloud_for` to find the cloud that serves the
URL. Without one, the library's own method runs unchanged; otherwise no connection is made and the
library gets a response object of its own type, built from the emulation's response.
"""

from __future__ import annotations

import http.client
import io
import logging
import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from windtunnel.runtime import http_interception

if TYPE_CHECKING:
    from windtunnel.cloud.messages import AwsResponse
    from windtunnel.cloud.pipeline import Cloud

__all__ = ["install"]

logger = logging.getLogger(__name__)

_install_lock = threading.Lock()
_installed = False
# Response headers that describe the framing of the emulation's body, which the hooks
# frame again for the bytes they return.
_FRAMING_HEADERS = frozenset({"content-length", "transfer-encoding", "connection"})


def install() -> None:
    """Hook urllib.request, and urllib3 and httpx where they are installed, once."""
    global _installed
    with _install_lock:
        if _installed:
            return
        _hook_urllib()
        _hook_urllib3()
        _hook_httpx()
        _installed = True


# --- reading requests and writing responses -------------------------------------------

def _body_bytes(body: Any) -> bytes:
    """Read a request body given as bytes, text, a file or an iterable of chunks."""
    if body is None:
        return b""
    if isinstance(body, bytes | bytearray | memoryview):
        return bytes(body)
    if isinstance(body, str):
        return body.encode("utf-8")
    if hasattr(body, "read"):
        return _body_bytes(body.read())
    if isinstance(body, Iterable):
        return b"".join(_body_bytes(chunk) for chunk in body)
    raise TypeError(f"cannot read a request body of type {type(body).__name__}")


def _header_pairs(emulated: AwsResponse) -> list[tuple[str, str]]:
    pairs = [(name, str(value)) for name, value in emulated.headers.items()]
    pairs.extend(emulated.repeated_headers)
    return pairs


def _body_allowed(method: str, status: int) -> bool:
    return method.upper() != "HEAD" and status not in (204, 304) and status >= 200


def _framed_headers(method: str, emulated: AwsResponse) -> list[tuple[str, str]]:
    """Return the response headers with a Content-Length that matches the returned body.

    A HEAD response keeps the service's Content-Length, the size of the resource.
    """
    pairs = _header_pairs(emulated)
    if not _body_allowed(method, emulated.status):
        return [(name, value) for name, value in pairs
                if name.lower() not in ("transfer-encoding", "connection")]
    pairs = [(name, value) for name, value in pairs if name.lower() not in _FRAMING_HEADERS]
    pairs.append(("Content-Length", str(len(emulated.body))))
    return pairs


# --- urllib.request --------------------------------------------------------------------

class _ReplaySocket:
    """A socket stand-in that ``http.client.HTTPResponse`` reads a prepared response from."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def makefile(self, *_: Any, **__: Any) -> io.BytesIO:
        return io.BytesIO(self._data)

    def close(self) -> None:
        return None


def _client_response(method: str, emulated: AwsResponse) -> http.client.HTTPResponse:
    """Build a real ``http.client.HTTPResponse`` from the emulation's response."""
    lines = [f"HTTP/1.1 {emulated.status} {http_interception.reason_phrase(emulated.status)}"]
    lines += [f"{name}: {value}" for name, value in _framed_headers(method, emulated)]
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    content = emulated.body if _body_allowed(method, emulated.status) else b""
    response = http.client.HTTPResponse(_ReplaySocket(head + content),  # type: ignore[arg-type]
                                        method=method)
    response.begin()
    return response


class _EmulatedConnection:
    """What ``urllib.request`` expects of an ``http.client`` connection, served by the emulation."""

    def __init__(self, cloud: Cloud, url: str) -> None:
        self._cloud = cloud
        self._url = url
        self._response: http.client.HTTPResponse | None = None
        self.sock = None

    def set_debuglevel(self, level: int) -> None:
        return None

    def set_tunnel(self, host: str, port: int | None = None,
                   headers: dict[str, str] | None = None) -> None:
        # A proxy would connect to the AWS hostname, but the emulation responds instead.
        return None

    def request(self, method: str, url: str, body: Any = None,
                headers: dict[str, str] | None = None, *, encode_chunked: bool = False) -> None:
        emulated = http_interception.respond(self._cloud, method, self._url, headers or {},
                                          _body_bytes(body))
        self._response = _client_response(method, emulated)

    def getresponse(self) -> http.client.HTTPResponse:
        assert self._response is not None, "getresponse() before request()"
        return self._response

    def close(self) -> None:
        return None


def _hook_urllib() -> None:
    import urllib.request

    original = urllib.request.AbstractHTTPHandler.do_open

    def do_open(self: Any, http_class: Any, request: Any, **connection_arguments: Any) -> Any:
        url = request.get_full_url()
        cloud = http_interception.cloud_for(url, request.header_items())
        if cloud is None:
            return original(self, http_class, request, **connection_arguments)

        def connect(*_: Any, **__: Any) -> _EmulatedConnection:
            return _EmulatedConnection(cloud, url)

        return original(self, connect, request)  # type: ignore[arg-type]

    urllib.request.AbstractHTTPHandler.do_open = do_open  # type: ignore[method-assign,assignment]


# --- urllib3 (requests, botocore) ------------------------------------------------------

def _pool_url(pool: Any, url: str) -> str:
    """Return the absolute URL of a request that a connection pool sends, proxied or not."""
    if urlsplit(url).scheme:
        return url
    default_port = 443 if pool.scheme == "https" else 80
    port = f":{pool.port}" if pool.port and pool.port != default_port else ""
    host = f"[{pool.host}]" if ":" in pool.host else pool.host
    return f"{pool.scheme}://{host}{port}{url}"


def _hook_urllib3() -> None:
    try:
        import urllib3
        from urllib3.connectionpool import HTTPConnectionPool
    except ImportError:
        return

    original = HTTPConnectionPool.urlopen

    def urlopen(self: Any, method: str, url: str, body: Any = None, headers: Any = None,
                *args: Any, **kwargs: Any) -> Any:
        full_url = _pool_url(self, url)
        cloud = http_interception.cloud_for(full_url, headers)
        if cloud is None:
            return original(self, method, url, body, headers, *args, **kwargs)
        emulated = http_interception.respond(cloud, method, full_url, headers or {},
                                          _body_bytes(body))
        content = emulated.body if _body_allowed(method, emulated.status) else b""
        return urllib3.HTTPResponse(
            body=io.BytesIO(content),
            headers=urllib3.HTTPHeaderDict(_framed_headers(method, emulated)),
            status=emulated.status,
            reason=http_interception.reason_phrase(emulated.status),
            preload_content=kwargs.get("preload_content", True),
            decode_content=kwargs.get("decode_content", True),
            request_method=method,
            request_url=full_url,
            enforce_content_length=False,
        )

    HTTPConnectionPool.urlopen = urlopen  # type: ignore[method-assign]


# --- httpx -------------------------------------------------------------------------------

def _hook_httpx() -> None:
    try:
        import httpx
    except ImportError:
        return

    def emulated_response(cloud: Cloud, request: httpx.Request, body: bytes) -> httpx.Response:
        method = request.method
        emulated = http_interception.respond(cloud, method, str(request.url),
                                          request.headers.multi_items(), body)
        content = emulated.body if _body_allowed(method, emulated.status) else b""
        return httpx.Response(emulated.status, headers=_framed_headers(method, emulated),
                              stream=httpx.ByteStream(content), request=request)

    original = httpx.HTTPTransport.handle_request

    def handle_request(self: httpx.HTTPTransport, request: httpx.Request) -> httpx.Response:
        cloud = http_interception.cloud_for(str(request.url), request.headers.multi_items())
        if cloud is None:
            return original(self, request)
        return emulated_response(cloud, request, request.read())

    original_async = httpx.AsyncHTTPTransport.handle_async_request

    async def handle_async_request(self: httpx.AsyncHTTPTransport,
                                   request: httpx.Request) -> httpx.Response:
        cloud = http_interception.cloud_for(str(request.url), request.headers.multi_items())
        if cloud is None:
            return await original_async(self, request)
        return emulated_response(cloud, request, await request.aread())

    httpx.HTTPTransport.handle_request = handle_request  # type: ignore[method-assign]
    httpx.AsyncHTTPTransport.handle_async_request = (  # type: ignore[method-assign]
        handle_async_request)
