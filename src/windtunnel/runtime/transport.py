"""Route the AWS SDK calls that handler code makes to the embedded cloud, in process.

Handlers create their own boto3 clients. A ``before-send`` handler registered for every
botocore session sends their requests to the cloud that the current invocation runs in,
without HTTP. Outside an invocation it does nothing, so the test process's other clients
keep their normal behaviour.
"""

from __future__ import annotations

import contextlib
import re
import threading
import weakref
from collections.abc import Iterator
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from windtunnel.cloud.pipeline import Cloud

__all__ = ["enter_cloud", "install", "route_request", "route_to", "use_own_default_session"]

_current_cloud: ContextVar[Cloud | None] = ContextVar("windtunnel_cloud", default=None)
# The boto3 default session of the current execution environment, created on first use.
_environment_session: ContextVar[list[Any] | None] = ContextVar("windtunnel_boto3_session",
                                                                default=None)
_install_lock = threading.Lock()
_installed = False
_UNIQUE_ID = "windtunnel-function-transport"


# Every cloud that handler code has run in; requests from threads that handler code
# started are routed by the credentials they are signed with.
_clouds: weakref.WeakSet[Cloud] = weakref.WeakSet()
_CREDENTIAL = re.compile(r"Credential=([A-Z0-9]+)/")


def route_request(request: Any, **_: Any) -> Any:
    """botocore's before-send handler: send a handler's request to its cloud, if any."""
    cloud = _current_cloud.get() or _cloud_of_signature(request)
    if cloud is None:
        return None
    from windtunnel.cloud.inprocess import send_to_cloud

    return send_to_cloud(cloud, request)


def _cloud_of_signature(request: Any) -> Cloud | None:
    """Find the cloud that issued the request's access key, for requests made in threads.

    A thread that a handler starts (s3transfer's upload workers, a ThreadPoolExecutor)
    does not inherit the invocation's context, but it signs with the function's
    credentials, which only the cloud that runs the function issued.
    """
    headers = getattr(request, "headers", None)
    if not _clouds or headers is None:
        return None
    authorization = headers.get("Authorization") or b""
    if isinstance(authorization, bytes):
        authorization = authorization.decode("latin-1")
    found = _CREDENTIAL.search(authorization)
    if found is None:
        return None
    for cloud in list(_clouds):
        if found.group(1) in cloud.authorizer.sessions:
            return cloud
    return None


class _DefaultSessionSwitch:
    """``boto3.DEFAULT_SESSION`` that gives each execution environment a session of its own.

    A botocore session reads environment variables through the ``os.environ`` mapping it
    was created with, and handlers call ``boto3.client(...)`` on the default session. One
    session per environment, created inside it, reads the environment's own variables
    (region, credentials), as each Lambda execution environment is a process of its own.
    Outside an environment the process's default session is used, as before.
    """

    def __init__(self, process_session: Any) -> None:
        self.process_session = process_session

    def _target(self) -> Any:
        import boto3

        holder = _environment_session.get()
        if holder is None:
            if self.process_session is None:
                self.process_session = boto3.session.Session()
            return self.process_session
        if holder[0] is None:
            holder[0] = boto3.session.Session()
        return holder[0]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._target(), name)


def install() -> None:
    """Register the router for botocore sessions created from now on and the default one,
    and give execution environments default sessions of their own."""
    global _installed
    with _install_lock:
        import boto3

        if not isinstance(boto3.DEFAULT_SESSION, _DefaultSessionSwitch):
            # Also after user code replaced it with boto3.setup_default_session().
            if boto3.DEFAULT_SESSION is not None:
                boto3.DEFAULT_SESSION.events.register("before-send", route_request,
                                                      unique_id=_UNIQUE_ID)
            boto3.DEFAULT_SESSION = _DefaultSessionSwitch(boto3.DEFAULT_SESSION)
        if _installed:
            return
        from botocore.handlers import BUILTIN_HANDLERS

        BUILTIN_HANDLERS.append(("before-send", route_request))
        _installed = True


def use_own_default_session() -> Any:
    """Give this context (an environment's thread) its own boto3 default session; return
    the token that undoes it."""
    return _environment_session.set([None])


def enter_cloud(cloud: Cloud) -> Any:
    """Send the SDK requests made in this context to ``cloud`` until the returned token
    is reset with ``_current_cloud.reset``."""
    _clouds.add(cloud)
    return _current_cloud.set(cloud)


@contextlib.contextmanager
def route_to(cloud: Cloud) -> Iterator[None]:
    """Send the SDK requests made in this context to ``cloud``."""
    token = enter_cloud(cloud)
    try:
        yield
    finally:
        _current_cloud.reset(token)
