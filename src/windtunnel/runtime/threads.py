"""Give threads that handler code starts the context of their execution environment.

In Lambda a handler's threads share the process, so they see the function's environment
variables and credentials. In process, each execution environment keeps those in context
variables, which a new thread does not inherit. Threads created while an environment's
context is active therefore run in a copy of it: ``os.environ``, the boto3 default session
and the routing of SDK calls are the function's in the thread too. Threads created
anywhere else are left alone.
"""

from __future__ import annotations

import contextvars
import threading
from typing import Any

from windtunnel.runtime import environ

__all__ = ["install"]

_install_lock = threading.Lock()
_installed = False


def install() -> None:
    """Make threads started inside an execution environment run in its context, once."""
    global _installed
    with _install_lock:
        if _installed:
            return
        original_init = threading.Thread.__init__
        original_run = threading.Thread.run

        def __init__(self: threading.Thread, *args: Any, **kwargs: Any) -> None:
            original_init(self, *args, **kwargs)
            if environ.current_environment() is not None:
                self._windtunnel_context = contextvars.copy_context()  # type: ignore[attr-defined]

        def run(self: threading.Thread) -> None:
            context = getattr(self, "_windtunnel_context", None)
            if context is None:
                original_run(self)
                return
            context.run(original_run, self)

        threading.Thread.__init__ = __init__  # type: ignore[method-assign]
        threading.Thread.run = run  # type: ignore[method-assign]
        _installed = True
