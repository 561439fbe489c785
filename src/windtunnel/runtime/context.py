"""The context object that the Python runtime passes to a handler.

Attributes as documented for the Python runtime:
https://docs.aws.amazon.com/lambda/latest/dg/python-context.html
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

__all__ = ["ClientContext", "CognitoIdentity", "LambdaContext"]


@dataclass(frozen=True)
class CognitoIdentity:
    """``context.identity``: the Amazon Cognito identity that authorized the request."""

    cognito_identity_id: str | None = None
    cognito_identity_pool_id: str | None = None


@dataclass(frozen=True)
class ClientContext:
    """``context.client_context``: what the client application sent (mobile SDKs)."""

    client: Any = None
    custom: dict[str, Any] | None = None
    env: dict[str, Any] | None = None


class LambdaContext:
    """The handler's second argument: function identity, request ID and remaining time."""

    def __init__(self, *, function_name: str, function_version: str,
                 invoked_function_arn: str, memory_limit_in_mb: int, aws_request_id: str,
                 log_group_name: str, log_stream_name: str, timeout_seconds: float,
                 identity: CognitoIdentity | None = None,
                 client_context: ClientContext | None = None) -> None:
        self.function_name = function_name
        self.function_version = function_version
        self.invoked_function_arn = invoked_function_arn
        self.memory_limit_in_mb = memory_limit_in_mb
        self.aws_request_id = aws_request_id
        self.log_group_name = log_group_name
        self.log_stream_name = log_stream_name
        self.identity = identity if identity is not None else CognitoIdentity()
        self.client_context = client_context
        self._deadline = time.monotonic() + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        """Return the milliseconds left before the invocation times out."""
        return max(int((self._deadline - time.monotonic()) * 1000), 0)

    def __repr__(self) -> str:
        return (f"LambdaContext(function_name={self.function_name!r}, "
                f"aws_request_id={self.aws_request_id!r})")
