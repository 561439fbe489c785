"""The outcome of one Lambda invocation, as the Lambda Invoke API reports it."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from windtunnel.errors import WindtunnelError

__all__ = ["FunctionError", "InvocationResult"]


class FunctionError(WindtunnelError):
    """Raised by :meth:`InvocationResult.raise_for_error` when the function failed."""

    def __init__(self, result: InvocationResult) -> None:
        self.result = result
        error = result.error or {}
        super().__init__(
            f"{result.function_name} failed ({result.function_error}): "
            f"{error.get('errorType', 'Error')}: {error.get('errorMessage', '')}"
        )


@dataclass(frozen=True)
class InvocationResult:
    """The outcome of one invocation: its payload, error, logs and timing."""

    function_name: str
    request_id: str
    status_code: int
    """200 for RequestResponse, 202 for Event, 204 for DryRun, as the Invoke API returns."""
    raw_payload: bytes
    """The response payload as Lambda returns it (JSON text), empty for Event and DryRun."""
    function_error: str | None = None
    """``Unhandled`` when the function failed, as the ``X-Amz-Function-Error`` header reports it."""
    logs: str = ""
    """The invocation's log output, ``START`` to ``REPORT`` lines included."""
    duration_ms: float = 0.0
    billed_duration_ms: int = 0
    init_duration_ms: float | None = None
    """The environment's initialization time, on a cold start only."""
    executed_version: str = "$LATEST"
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def payload(self) -> Any:
        """The response payload decoded from JSON (None when there is none)."""
        if not self.raw_payload:
            return None
        return json.loads(self.raw_payload)

    @property
    def error(self) -> dict[str, Any] | None:
        """The error payload (``errorType``, ``errorMessage``...) when the function failed."""
        if self.function_error is None:
            return None
        payload = self.payload
        return payload if isinstance(payload, dict) else {"errorMessage": str(payload)}

    @property
    def error_summary(self) -> str:
        """``errorType: errorMessage`` of a failed invocation, for log lines; empty when the
        function did not fail."""
        if self.function_error is None:
            return ""
        try:
            error = self.error or {}
        except ValueError:
            return self.function_error
        return f"{error.get('errorType') or self.function_error}: {error.get('errorMessage')}"

    def raise_for_error(self) -> InvocationResult:
        """Raise :class:`FunctionError` if the function failed; return self otherwise."""
        if self.function_error is not None:
            raise FunctionError(self)
        return self
