"""HTTP clients for a deployed stack's API: the API's URL, and SigV4 signing for AWS_IAM.

Requests to a method with AWS_IAM authorization carry a Signature Version 4 signature for
the ``execute-api`` service:
https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-control-access-using-iam-policies-to-invoke-api.html
https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Generator, Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest

from windtunnel.template.intrinsics import url_suffix

__all__ = ["SigV4", "api_url_from_outputs", "stage_url"]

logger = logging.getLogger(__name__)

# The headers that the signer adds and that the request must carry.
_SIGNATURE_HEADERS = ("Authorization", "X-Amz-Date", "X-Amz-Security-Token")


class SigV4(httpx.Auth):
    """httpx authentication that signs each request with SigV4, as AWS_IAM methods require.

    ``credentials`` returns botocore credentials at the time of each request, so that
    refreshed session credentials are used.
    """

    requires_request_body = True

    def __init__(self, credentials: Callable[[], Any], region: str,
                 service: str = "execute-api") -> None:
        self.credentials = credentials
        self.region = region
        self.service = service

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Add the signature headers to ``request`` and send it."""
        signed_headers = {"host": request.headers["host"]}
        if "content-type" in request.headers:
            signed_headers["content-type"] = request.headers["content-type"]
        aws_request = AWSRequest(method=request.method, url=str(request.url),
                                 headers=signed_headers, data=request.content)
        SigV4Auth(self.credentials(), self.service, self.region).add_auth(aws_request)
        for name in _SIGNATURE_HEADERS:
            if name in aws_request.headers:
                request.headers[name] = aws_request.headers[name]
        yield request


def api_url_from_outputs(outputs: Mapping[str, Any], api_id: str) -> str | None:
    """Return the first output value that is an invoke URL of the API ``api_id``.

    Both AWS's form (``https://{id}.execute-api.{region}.amazonaws.com/{stage}``) and the
    local endpoint's (``http://127.0.0.1:4566/_aws/execute-api/{id}/{stage}``) count.
    """
    for value in outputs.values():
        if not isinstance(value, str) or not value.startswith(("http://", "https://")):
            continue
        parts = urlsplit(value)
        host = parts.hostname or ""
        if host.startswith(f"{api_id}.execute-api.") or \
                parts.path.startswith(f"/_aws/execute-api/{api_id}"):
            return value.rstrip("/")
    return None


def stage_url(api_id: str, stage: str | None, region: str, endpoint_url: str | None) -> str:
    """Build the invoke URL of an API's stage, on AWS or on the given endpoint.

    An HTTP API's ``$default`` stage serves at the root of the URL.
    """
    if endpoint_url is not None:
        base = f"{endpoint_url.rstrip('/')}/_aws/execute-api/{api_id}"
    else:
        base = f"https://{api_id}.execute-api.{region}.{url_suffix(region)}"
    if stage and stage != "$default":
        base += f"/{stage}"
    return base
