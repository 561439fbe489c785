"""Dispatch requests to moto's service implementations, in process and without patching.

moto keeps each service's state in plain Python objects and exposes, per service, a table
of URL patterns and the functions that handle them. This module matches a request's
canonical AWS URL against those tables, as moto's own botocore hook does, but without
activating ``mock_aws``: nothing in botocore or requests is patched, so a request that
windtunnel does not route never reaches moto by accident.
"""

from __future__ import annotations

import functools
import logging
import re
import sys
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from botocore.awsrequest import AWSPreparedRequest

from windtunnel.cloud.messages import AwsRequest, AwsResponse

__all__ = [
    "MotoDispatcher",
    "OperationNotImplemented",
    "ServiceNotEmulated",
    "cache_moto_name_conversions",
]

logger = logging.getLogger(__name__)

_Route = tuple[re.Pattern[str], Callable[..., Any]]


class ServiceNotEmulated(Exception):
    """No moto service handles this URL."""


class OperationNotImplemented(Exception):
    """moto implements the service but not this operation."""


class MotoDispatcher:
    """Finds and calls the moto function that handles a request."""

    def __init__(self) -> None:
        self._routes: dict[str, list[_Route]] = {}
        self._by_host: dict[str, list[tuple[str, re.Pattern[str]]]] = {}

    def dispatch(self, request: AwsRequest) -> AwsResponse:
        """Handle ``request`` with moto and return the response AWS would send."""
        from moto.core.request import normalize_request
        from werkzeug.exceptions import HTTPException

        parts = urlsplit(request.url)
        clean_url = f"{parts.scheme}://{parts.netloc}{parts.path}"
        prepared = normalize_request(AWSPreparedRequest(
            method=request.method,
            url=request.url,
            headers=request.headers,
            body=request.body,
            stream_output=False,
        ))
        for service, pattern in self._candidates(parts.netloc):
            if not pattern.match(clean_url):
                continue
            for url_pattern, answer in self._service_routes(service):
                if not url_pattern.match(clean_url):
                    continue
                try:
                    status, headers, body = answer(prepared, prepared.raw_url, prepared.headers)
                except HTTPException as error:
                    status = error.code or 500
                    headers = error.get_headers()
                    body = error.get_body()
                except NotImplementedError as error:
                    raise OperationNotImplemented(str(error)) from error
                return AwsResponse(status=int(status), headers=_plain_headers(headers),
                                   body=body.encode("utf-8") if isinstance(body, str)
                                   else bytes(body or b""))
        raise ServiceNotEmulated(clean_url)

    def _candidates(self, host: str) -> list[tuple[str, re.Pattern[str]]]:
        """Return the services whose URL patterns can match URLs on ``host``, in moto's order.

        moto's table has a pattern for every service. Checking them all on each request
        costs more than the request itself for the cheap operations, so the services that
        matched a host once are remembered for it.
        """
        candidates = self._by_host.get(host)
        if candidates is None:
            probe = f"https://{host}/"
            candidates = [(service, pattern) for service, pattern in _url_patterns()
                          if pattern.match(probe)]
            self._by_host[host] = candidates
        return candidates

    def _service_routes(self, service: str) -> list[_Route]:
        routes = self._routes.get(service)
        if routes is None:
            routes = [(re.compile(url), answer) for url, answer in _backend(service).urls.items()]
            self._routes[service] = routes
        return routes


def cache_moto_name_conversions() -> None:
    """Make moto convert each CamelCase name to snake_case once, not on every call.

    moto's ``camelcase_to_underscores`` walks the name character by character. Its callers
    run it for every request's action and, in SQS, for each of 14 attribute names whenever
    a queue's attributes are read. SendMessage reads them once and ReceiveMessage three
    times per message, about 70 microseconds each as measured on a 2-core AMD EPYC. The
    function depends only on its argument, so a cache returns the same names.
    """
    import moto.core.utils as moto_utils

    original = moto_utils.camelcase_to_underscores
    if hasattr(original, "cache_info"):
        return  # Already cached by an earlier cloud.
    cached = functools.lru_cache(maxsize=4096)(original)
    moto_utils.camelcase_to_underscores = cached
    # Modules imported before this point hold their own reference to the function.
    for name, module in list(sys.modules.items()):
        if name.startswith("moto.") and getattr(module, "camelcase_to_underscores",
                                                None) is original:
            module.camelcase_to_underscores = cached  # type: ignore[attr-defined]


def _url_patterns() -> list[tuple[str, re.Pattern[str]]]:
    import moto.backend_index as backend_index

    patterns: list[tuple[str, re.Pattern[str]]] = backend_index.backend_url_patterns
    return patterns


def _backend(service: str) -> Any:
    import moto.backends as backends
    from moto.core.base_backend import BackendDict

    from windtunnel.constants import DEFAULT_ACCOUNT_ID

    backend_dict = backends.get_backend(service)  # type: ignore[call-overload]
    if isinstance(backend_dict, BackendDict):
        account_backends = backend_dict[DEFAULT_ACCOUNT_ID]
        if "us-east-1" in account_backends:
            return account_backends["us-east-1"]
        return account_backends["aws"]
    return backend_dict["global"]


def _plain_headers(headers: Any) -> dict[str, str]:
    plain: dict[str, str] = {}
    for key, value in dict(headers or {}).items():
        if key.lower() == "status":
            continue
        plain[str(key)] = value.decode("latin-1") if isinstance(value, bytes) else str(value)
    return plain
