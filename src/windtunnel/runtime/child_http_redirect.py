"""Send HTTP requests to AWS hostnames from a subprocess execution environment to the endpoint.

A handler with ``isolation="process"`` runs in a child process, where the in-process
interception of :mod:`windtunnel.runtime.http_interception` has no cloud to hand requests
to. There, the bootstrap calls :func:`install` with the endpoint URL (``AWS_ENDPOINT_URL``)
before it loads the handler. From then on, requests with urllib, urllib3 (and so requests
and botocore) and httpx to ``*.amazonaws.com``, ``*.amazonaws.com.cn``, ``*.api.aws`` and
``*.auth.{region}.amazoncognito.com`` connect to the endpoint instead, with the original
``Host`` header, by which the endpoint routes them as AWS would. An https URL becomes a
request to the endpoint in the endpoint's own scheme. When the endpoint speaks https, the
connection trusts the certificates in ``AWS_CA_BUNDLE`` (the local certificate authority's
bundle), else the system's. Requests to any other host are left alone.

Each library is hooked when it is first imported, so a handler that never imports
httpx does not pay for its import at startup.

Limitations: aiohttp is not redirected. httpx's asynchronous transport reads a redirected
response whole before it returns it. A request through a proxy goes to the endpoint
directly, not through the proxy.
"""

from __future__ import annotations

import http.client
import importlib.machinery
import logging
import ssl
import sys
import threading
import types
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from windtunnel.cloud import routing

__all__ = ["Endpoint", "install"]

logger = logging.getLogger(__name__)

# The parameters of urllib3's HTTPConnectionPool.urlopen after method, url, body and
# headers, in order, so that positional arguments can be passed on by name.
_URLOPEN_PARAMETERS = ("retries", "redirect", "assert_same_host", "timeout", "pool_timeout",
                       "release_conn", "chunked", "body_pos", "preload_content",
                       "decode_content")
# Connections to the endpoint that a urllib3 pool keeps for reuse.
_POOL_SIZE = 10


@dataclass(frozen=True)
class Endpoint:
    """The endpoint that receives requests to AWS hostnames: its scheme, host and port, and
    the TLS context of connections to it (None for http)."""

    scheme: str
    host: str
    port: int
    tls_context: ssl.SSLContext | None

    @classmethod
    def from_url(cls, url: str, ca_bundle: str | None = None) -> Endpoint:
        """Read an endpoint URL such as ``http://127.0.0.1:4566``.

        ``ca_bundle`` names the certificates that an https endpoint's certificate must
        chain to. Without it, the system's default ones apply. Raise ValueError for a URL
        that is not http or https or that names no host.
        """
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"invalid endpoint URL {url!r}: expected http://HOST:PORT or "
                             f"https://HOST:PORT")
        context = None
        if parts.scheme == "https":
            context = ssl.create_default_context(cafile=ca_bundle or None)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        return cls(parts.scheme, parts.hostname, port, context)

    @property
    def netloc(self) -> str:
        """The endpoint's host and port as they appear in a URL."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


def install(endpoint: Endpoint) -> None:
    """Redirect requests to AWS hostnames to ``endpoint``, in every thread of the process.

    Libraries that are already imported are hooked now, the others when they are first
    imported. Call it once per process.
    """
    hooks: dict[str, Callable[[types.ModuleType], None]] = {
        "urllib.request": lambda module: _hook_urllib(module, endpoint),
        "urllib3.connectionpool": lambda module: _hook_urllib3(module, endpoint),
        "httpx": lambda module: _hook_httpx(module, endpoint),
    }
    pending = {}
    for name, hook in hooks.items():
        module = sys.modules.get(name)
        if module is not None:
            _run_hook(hook, module)
        else:
            pending[name] = hook
    if pending:
        sys.meta_path.insert(0, _HookAfterImport(pending))
    logger.debug("redirecting requests to AWS hostnames to %s://%s", endpoint.scheme,
                 endpoint.netloc)


def _run_hook(hook: Callable[[types.ModuleType], None], module: types.ModuleType) -> None:
    """Hook a library, and log instead of raising when the hook fails, so that the
    handler's import of the library still succeeds."""
    try:
        hook(module)
    except Exception:
        logger.warning("windtunnel failed to redirect %s requests to AWS hostnames to the "
                       "endpoint; they go to AWS's addresses", module.__name__,
                       exc_info=True)


def _is_redirected(url: str) -> bool:
    return routing.is_aws_host(urlsplit(url).hostname or "")


def _origin_form(url: str) -> str:
    """Return the path and query of a URL, the request target that a server expects."""
    parts = urlsplit(url)
    if not parts.scheme:
        return url
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


# --- hooking a module when it is imported -----------------------------------------------

class _HookAfterImport:
    """A meta path finder that runs a hook on a module right after the module's own code
    has run.

    It and :class:`_HookingLoader` follow the finder and loader protocols without the
    ``importlib.abc`` base classes, whose import costs several milliseconds at each start.
    """

    def __init__(self, hooks: dict[str, Callable[[types.ModuleType], None]]) -> None:
        self._hooks = hooks
        self._lock = threading.Lock()

    def find_spec(self, fullname: str, path: Sequence[str] | None,
                  target: types.ModuleType | None = None
                  ) -> importlib.machinery.ModuleSpec | None:
        with self._lock:
            hook = self._hooks.pop(fullname, None)
        if hook is None:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec: importlib.machinery.ModuleSpec | None = finder.find_spec(fullname, path,
                                                                            target)
            if spec is not None:
                if spec.loader is not None:
                    spec.loader = _HookingLoader(spec.loader, hook)  # type: ignore[assignment]
                return spec
        return None


class _HookingLoader:
    """A module loader that runs a hook after the loader it wraps executes the module."""

    def __init__(self, loader: Any, hook: Callable[[types.ModuleType], None]) -> None:
        self._loader = loader
        self._hook = hook

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType | None:
        module: types.ModuleType | None = self._loader.create_module(spec)
        return module

    def exec_module(self, module: types.ModuleType) -> None:
        self._loader.exec_module(module)
        _run_hook(self._hook, module)

    def __getattr__(self, name: str) -> Any:
        # get_source, get_resource_reader and the like, which tools call on a module's
        # loader, come from the wrapped loader.
        return getattr(self._loader, name)


# --- urllib.request ----------------------------------------------------------------------

def _connection_class(endpoint: Endpoint) -> Callable[..., http.client.HTTPConnection]:
    """Return a factory of ``http.client`` connections to the endpoint, whatever host
    ``urllib.request`` requests."""
    base: type[http.client.HTTPConnection] = (
        http.client.HTTPConnection if endpoint.tls_context is None
        else http.client.HTTPSConnection)

    class EndpointConnection(base):  # type: ignore[valid-type,misc]
        def set_tunnel(self, host: str, port: int | None = None,
                       headers: dict[str, str] | None = None) -> None:
            # A proxy would tunnel to the AWS hostname, but the endpoint is reached directly.
            return None

        def request(self, method: str, url: str, body: Any = None,
                    headers: Any = None, *, encode_chunked: bool = False) -> None:
            # Through a proxy, urllib requests the absolute URL, which the endpoint does
            # not accept as a request target.
            super().request(method, _origin_form(url), body, headers or {},
                            encode_chunked=encode_chunked)

    def connect(_host: str, timeout: Any = None, **_: Any) -> http.client.HTTPConnection:
        arguments: dict[str, Any] = {}
        if timeout is not None:
            arguments["timeout"] = timeout
        if endpoint.tls_context is not None:
            arguments["context"] = endpoint.tls_context
        connection: http.client.HTTPConnection = EndpointConnection(
            endpoint.host, endpoint.port, **arguments)
        return connection

    return connect


def _hook_urllib(module: types.ModuleType, endpoint: Endpoint) -> None:
    handler_class = module.AbstractHTTPHandler
    original = handler_class.do_open
    connect = _connection_class(endpoint)

    def do_open(self: Any, http_class: Any, request: Any, **connection_arguments: Any) -> Any:
        if not _is_redirected(request.get_full_url()):
            return original(self, http_class, request, **connection_arguments)
        # urllib sends the Host header of the URL it was given, so the endpoint receives
        # the AWS hostname.
        return original(self, connect, request)

    handler_class.do_open = do_open


# --- urllib3 (requests, botocore) ----------------------------------------------------------

def _hook_urllib3(module: types.ModuleType, endpoint: Endpoint) -> None:
    pool_class = module.HTTPConnectionPool
    original = pool_class.urlopen
    lock = threading.Lock()
    endpoint_pools: list[Any] = []

    def endpoint_pool() -> Any:
        with lock:
            if not endpoint_pools:
                if endpoint.tls_context is None:
                    pool = module.HTTPConnectionPool(endpoint.host, endpoint.port,
                                                     maxsize=_POOL_SIZE)
                else:
                    pool = module.HTTPSConnectionPool(endpoint.host, endpoint.port,
                                                      maxsize=_POOL_SIZE,
                                                      ssl_context=endpoint.tls_context)
                endpoint_pools.append(pool)
            return endpoint_pools[0]

    def urlopen(self: Any, method: str, url: str, body: Any = None, headers: Any = None,
                *args: Any, **kwargs: Any) -> Any:
        full_url = _pool_url(self, url)
        if not _is_redirected(full_url):
            return original(self, method, url, body, headers, *args, **kwargs)

        kwargs.update(zip(_URLOPEN_PARAMETERS, args, strict=False))
        # The request is for the AWS hostname's pool, which set the timeout.
        kwargs.setdefault("timeout", self.timeout)
        kwargs["assert_same_host"] = False
        sent_headers = dict(self.headers if headers is None else headers)
        if not any(name.lower() == "host" for name in sent_headers):
            sent_headers["Host"] = urlsplit(full_url).netloc
        return original(endpoint_pool(), method, _origin_form(full_url), body, sent_headers,
                        **kwargs)

    pool_class.urlopen = urlopen


def _pool_url(pool: Any, url: str) -> str:
    """Return the absolute URL of a request that a connection pool sends, proxied or not."""
    if urlsplit(url).scheme:
        return url
    default_port = 443 if pool.scheme == "https" else 80
    port = f":{pool.port}" if pool.port and pool.port != default_port else ""
    host = f"[{pool.host}]" if ":" in pool.host else pool.host
    return f"{pool.scheme}://{host}{port}{url}"


# --- httpx ---------------------------------------------------------------------------------

def _hook_httpx(httpx: Any, endpoint: Endpoint) -> None:
    verify: ssl.SSLContext | bool = endpoint.tls_context or True
    lock = threading.Lock()
    transports: list[Any] = []

    def endpoint_transport() -> Any:
        with lock:
            if not transports:
                transports.append(httpx.HTTPTransport(verify=verify))
            return transports[0]

    def readdressed(request: Any) -> Any:
        # The headers keep the Host header that httpx set from the AWS URL.
        url = request.url.copy_with(scheme=endpoint.scheme, host=endpoint.host,
                                    port=endpoint.port)
        return httpx.Request(request.method, url, headers=request.headers,
                             stream=request.stream, extensions=request.extensions)

    original = httpx.HTTPTransport.handle_request

    def handle_request(self: Any, request: Any) -> Any:
        if not _is_redirected(str(request.url)):
            return original(self, request)
        return original(endpoint_transport(), readdressed(request))

    original_async = httpx.AsyncHTTPTransport.handle_async_request

    async def handle_async_request(self: Any, request: Any) -> Any:
        if not _is_redirected(str(request.url)):
            return await original_async(self, request)
        # Connections of an asynchronous transport belong to one event loop, and a
        # handler may run a new loop per invocation, so each request gets a transport of
        # its own, closed once the response is read.
        async with httpx.AsyncHTTPTransport(verify=verify) as transport:
            response = await original_async(transport, readdressed(request))
            raw = b"".join([chunk async for chunk in response.aiter_raw()])
        return httpx.Response(response.status_code, headers=response.headers,
                              stream=httpx.ByteStream(raw), extensions=response.extensions)

    httpx.HTTPTransport.handle_request = handle_request
    httpx.AsyncHTTPTransport.handle_async_request = handle_async_request
