"""Rewrite AWS endpoint URLs in stack outputs into URLs that reach the local endpoint.

Outputs such as ``https://{api id}.execute-api.{region}.amazonaws.com/Prod/`` only resolve
in AWS's DNS. Locally they become paths under the endpoint, so plain ``requests`` or
``httpx`` reach them with no DNS setup:

- ``https://{id}.execute-api.{region}.amazonaws.com/{rest}`` becomes
  ``{endpoint}/_aws/execute-api/{id}/{rest}``;
- ``https://{id}.appsync-api.{region}.amazonaws.com/graphql`` becomes
  ``{endpoint}/_aws/appsync-api/{id}/graphql``, and the real-time
  ``wss://{id}.appsync-realtime-api.{region}.amazonaws.com/graphql`` becomes
  ``ws://{endpoint host}/_aws/appsync-realtime-api/{id}/graphql`` (``wss`` for HTTPS);
- ``https://{id}.lambda-url.{region}.on.aws/{rest}`` becomes
  ``{endpoint}/_aws/lambda-url/{id}/{rest}``;
- ``https://sqs.{region}.amazonaws.com/{account}/{queue}`` becomes
  ``{endpoint}/{account}/{queue}``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

__all__ = ["localize_endpoints"]

_REWRITES = (
    (re.compile(r"https?://([a-z0-9]+)\.execute-api\.[a-z0-9-]+\.amazonaws\.com(\.cn)?"),
     "{endpoint}/_aws/execute-api/{id}"),
    (re.compile(r"https?://([a-z0-9]+)\.appsync-api\.[a-z0-9-]+\.amazonaws\.com(\.cn)?"),
     "{endpoint}/_aws/appsync-api/{id}"),
    (re.compile(r"wss?://([a-z0-9]+)\.appsync-realtime-api\.[a-z0-9-]+\.amazonaws\.com(\.cn)?"),
     "{websocket_endpoint}/_aws/appsync-realtime-api/{id}"),
    (re.compile(r"https?://([a-z0-9]+)\.lambda-url\.[a-z0-9-]+\.on\.aws"),
     "{endpoint}/_aws/lambda-url/{id}"),
    (re.compile(r"https?://sqs\.[a-z0-9-]+\.amazonaws\.com(?=/\d{12}/)()"),
     "{endpoint}"),
)


def _substitution(replacement: str, endpoint: str) -> Callable[[re.Match[str]], str]:
    def substitute(match: re.Match[str]) -> str:
        websocket_endpoint = "ws" + endpoint[len("http"):] if endpoint.startswith(
            "http") else endpoint
        return replacement.format(endpoint=endpoint, websocket_endpoint=websocket_endpoint,
                                  id=match.group(1))

    return substitute


def localize_endpoints(value: Any, endpoint_url: str) -> Any:
    """Return ``value`` with AWS endpoint URLs in strings pointed at ``endpoint_url``."""
    if isinstance(value, str):
        endpoint = endpoint_url.rstrip("/")
        for pattern, replacement in _REWRITES:
            value = pattern.sub(_substitution(replacement, endpoint), value)
        return value
    if isinstance(value, list):
        return [localize_endpoints(item, endpoint_url) for item in value]
    return value
