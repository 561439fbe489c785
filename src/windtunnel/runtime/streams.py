"""Standard output and error that go to the current invocation's log, per context.

A handler's ``print`` and its logging handlers write to ``sys.stdout``/``sys.stderr``.
During an invocation those writes belong to the invocation's log stream, as in Lambda,
where the runtime forwards both to CloudWatch Logs; outside one they reach the process's
own streams.
"""

from __future__ import annotations

import io
import sys
import threading
from contextvars import ContextVar
from typing import Any, TextIO

__all__ = ["ContextStream", "capture_output", "install"]

_current_log: ContextVar[io.StringIO | None] = ContextVar("windtunnel_log", default=None)
_install_lock = threading.Lock()


class ContextStream(io.TextIOBase):
    """A text stream that writes to the current invocation's log, else to ``fallback``."""

    def __init__(self, fallback: TextIO) -> None:
        super().__init__()
        self.fallback = fallback

    def write(self, text: str) -> int:
        log = _current_log.get()
        if log is None:
            return self.fallback.write(text)
        return log.write(text)

    def flush(self) -> None:
        if _current_log.get() is None:
            self.fallback.flush()

    def writable(self) -> bool:
        return True

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.fallback, "encoding", "utf-8") or "utf-8"

    def isatty(self) -> bool:
        return _current_log.get() is None and self.fallback.isatty()

    def fileno(self) -> int:
        return self.fallback.fileno()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.fallback, name)


def install() -> None:
    """Wrap ``sys.stdout`` and ``sys.stderr`` unless they are wrapped already.

    Test runners swap the streams between tests, so this runs before every invocation and
    wraps whatever stream is current.
    """
    with _install_lock:
        if not isinstance(sys.stdout, ContextStream):
            sys.stdout = ContextStream(sys.stdout)
        if not isinstance(sys.stderr, ContextStream):
            sys.stderr = ContextStream(sys.stderr)


def capture_output(log: io.StringIO) -> Any:
    """Send this context's standard output and error to ``log``; return the reset token."""
    return _current_log.set(log)


def release_output(token: Any) -> None:
    """Undo :func:`capture_output`."""
    _current_log.reset(token)
