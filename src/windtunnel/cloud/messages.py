"""The request and response that travel through the pipeline, whatever the transport."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

__all__ = ["AwsRequest", "AwsResponse"]


@dataclass
class AwsRequest:
    """One AWS API request, addressed with the canonical AWS URL of its service."""

    method: str
    url: str
    """``https://{service host}/{path}?{query}``: the URL AWS itself would have received."""
    headers: Any
    """A case-insensitive mapping (botocore's ``HeadersDict``)."""
    body: bytes
    service: str
    """The signing name of the service (``dynamodb``, ``sqs``, ``states``, ``s3``...)."""
    region: str
    access_key: str | None = None
    operation: str | None = None
    """The operation name (``PutItem``), when the protocol makes it cheap to know."""
    context: dict[str, Any] = field(default_factory=dict)
    """Values that pipeline stages pass on to later ones (the principal, for example)."""

    @property
    def path(self) -> str:
        """The URL path, without the query string."""
        return urlsplit(self.url).path

    def query_parameters(self) -> dict[str, str]:
        """Return the parameters of a query-protocol request, from the body or the URL."""
        parameters = dict(parse_qsl(urlsplit(self.url).query, keep_blank_values=True))
        content_type = str(self.headers.get("Content-Type", ""))
        if self.body and "x-www-form-urlencoded" in content_type:
            parameters.update(parse_qsl(self.body.decode("utf-8"), keep_blank_values=True))
        return parameters


@dataclass
class AwsResponse:
    """The status, headers and body that the pipeline returns for a request."""

    status: int
    headers: dict[str, str]
    body: bytes
    repeated_headers: list[tuple[str, str]] = field(default_factory=list)
    """Headers sent once per value, beside ``headers`` (several Set-Cookie headers)."""
