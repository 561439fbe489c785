"""Exceptions raised while parsing and rendering Velocity (VTL) templates."""

from __future__ import annotations

from windtunnel.errors import WindtunnelError

__all__ = ["VtlError", "VtlRuntimeError", "VtlSyntaxError"]


class VtlError(WindtunnelError):
    """Base class of the errors that a Velocity template raises."""


class VtlSyntaxError(VtlError):
    """A template that cannot be parsed, with the 1-based line and column of the problem."""

    def __init__(self, message: str, *, line: int, column: int) -> None:
        self.message = message
        self.line = line
        self.column = column
        super().__init__(f"{message} at line {line}, column {column}")


class VtlRuntimeError(VtlError):
    """A template that parsed but failed while rendering, such as a failed method call."""

    def __init__(self, message: str, *, line: int | None = None, column: int | None = None) -> None:
        self.message = message
        self.line = line
        self.column = column
        location = f" at line {line}, column {column}" if line is not None else ""
        super().__init__(f"{message}{location}")
