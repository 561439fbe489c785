"""The error raised for an event pattern that EventBridge rejects."""

from __future__ import annotations


class InvalidEventPatternError(ValueError):
    """An event pattern that EventBridge rejects with ``InvalidEventPatternException``.

    ``reason`` is ruler's message and ``message`` is the full text AWS returns.
    """

    code = "InvalidEventPatternException"

    def __init__(self, reason: str) -> None:
        self.reason = reason
        self.message = f"Event pattern is not valid. Reason: {reason}"
        super().__init__(self.message)
