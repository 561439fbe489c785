"""The error raised for a policy document that IAM would reject."""

from __future__ import annotations

from windtunnel.errors import WindtunnelError

__all__ = ["MalformedPolicyError"]


class MalformedPolicyError(WindtunnelError):
    """A policy document that is not valid IAM policy grammar.

    The name follows IAM's own ``MalformedPolicyDocument`` error code. ``path`` locates the
    offending element, for example ``Statement[1].Condition.StringEqualz``.
    """

    def __init__(self, message: str, *, path: str = "") -> None:
        self.path = path
        super().__init__(f"{path}: {message}" if path else message)
