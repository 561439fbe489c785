"""The in-process transport: boto3 clients whose requests never leave the process.

A handler on botocore's ``before-send`` event hands each prepared request to the cloud and
returns the response as if it came from the network. The handler always returns a response,
so a client it is attached to can never reach AWS.
"""

from __future__ import annotations

from io import BytesIO
from typing import TYPE_CHECKING, Any

from botocore.awsrequest import AWSResponse

if TYPE_CHECKING:
    from windtunnel.cloud.pipeline import Cloud

__all__ = ["attach", "send_to_cloud"]


class _RawBody(BytesIO):
    """A response body with the ``stream`` method that botocore reads bodies through."""

    def stream(self, **_: Any) -> Any:
        chunk = self.read()
        while chunk:
            yield chunk
            chunk = self.read()


def send_to_cloud(cloud: Cloud, request: Any) -> AWSResponse:
    """Hand a botocore prepared request to ``cloud`` and return its response."""
    body = request.body
    if body is None:
        body = b""
    elif hasattr(body, "read"):
        body = body.read()
    elif isinstance(body, str):
        body = body.encode("utf-8")
    response = cloud.handle_http(request.method, request.url, request.headers, bytes(body))
    return AWSResponse(request.url, response.status, response.headers, _RawBody(response.body))


class _InProcessSender:
    def __init__(self, cloud: Cloud) -> None:
        self._cloud = cloud

    def __call__(self, request: Any, **_: Any) -> AWSResponse:
        return send_to_cloud(self._cloud, request)


def attach(client: Any, cloud: Cloud) -> Any:
    """Make every request of a botocore ``client`` go to ``cloud``; return the client."""
    # botocore calls every before-send handler and keeps the first response, so the
    # handler that routes handlers' calls (by the credentials the cloud issued) would send
    # a request of this client a second time.
    from windtunnel.runtime.transport import route_request

    client.meta.events.unregister("before-send", route_request)
    client.meta.events.unregister("before-send", unique_id="windtunnel-function-transport")
    client.meta.events.register("before-send", _InProcessSender(cloud),
                                unique_id="windtunnel-in-process")
    return client
