"""Route the AWS SDK calls that handler code makes to the embedded cloud, in process.

Handlers create their own boto3 clients. A ``before-send`` handler registered for every
botocore session sends their requests to the cloud that the current invocation runs in,
without HTTP. Outside an invocation it does nothing, so the test process's other clients
keep their normal behaviour.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from windtunnel.cloud.pipeline import Cloud

__all__ = ["install", "route_to"]

_current_cloud: ContextVar[Cloud | None] = ContextVar("windtunnel_cloud", default=None)
_install_lock = threading.Lock()
_installed = False
_UNIQUE_ID = "windtunnel-function-transport"


def _send(request: Any, **_: Any) -> Any:
    cloud = _current_cloud.get()
    if cloud is None:
        return None
    from windtunnel.cloud.inprocess import send_to_cloud

    return send_to_cloud(cloud, request)


def install() -> None:
    """Register the router for botocore sessions created from now on and the default one."""
    global _installed
    with _install_lock:
        if _installed:
            return
        import boto3
        from botocore.handlers import BUILTIN_HANDLERS

        BUILTIN_HANDLERS.append(("before-send", _send))
        if boto3.DEFAULT_SESSION is not None:
            boto3.DEFAULT_SESSION.events.register("before-send", _send, unique_id=_UNIQUE_ID)
        _installed = True


@contextlib.contextmanager
def route_to(cloud: Cloud) -> Iterator[None]:
    """Send the SDK requests made in this context to ``cloud``."""
    token = _current_cloud.set(cloud)
    try:
        yield
    finally:
        _current_cloud.reset(token)
