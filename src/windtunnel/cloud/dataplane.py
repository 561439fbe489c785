"""Requests to the data planes of emulated services (API Gateway, AppSync, function URLs).

Data-plane requests are not AWS API operations: a client calls an API's URL with any
method, path, headers and body, usually unsigned. The local endpoint serves them under
``/_aws/{plane}/...``, for example ``/_aws/execute-api/{api id}/{stage}/orders``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from windtunnel.cloud.messages import AwsResponse

__all__ = ["DataPlaneHandler", "DataPlaneRequest"]


@dataclass(frozen=True)
class DataPlaneRequest:
    """An HTTP request to a data plane, as the client sent it."""

    method: str
    path: str
    """The path after ``/_aws/{plane}``: ``/{api id}/{stage}/orders`` for execute-api."""
    raw_query: str
    """The query string as sent, without ``?`` (repeated keys and encoding kept)."""
    headers: tuple[tuple[str, str], ...]
    """Every header in the order received, names as sent; repeated names stay repeated."""
    body: bytes
    source_ip: str = "127.0.0.1"

    def header(self, name: str) -> str | None:
        """Return the first value of a header, matched without regard to case."""
        lowered = name.lower()
        for key, value in self.headers:
            if key.lower() == lowered:
                return value
        return None


DataPlaneHandler = Callable[[DataPlaneRequest], AwsResponse]
