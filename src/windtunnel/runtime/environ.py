"""An ``os.environ`` whose contents follow the execution environment of the current context.

Two functions invoked at the same time in one process must each see their own environment
variables and credentials. boto3's credential chain and ``os.getenv`` read ``os.environ``
at call time, so replacing it with a mapping that reads a context variable is enough: code
running for an invocation sees that environment's variables, and everything else sees the
process's own.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator, MutableMapping
from contextvars import ContextVar
from typing import Any

__all__ = ["ContextEnviron", "install", "use_environment"]

_current: ContextVar[dict[str, str] | None] = ContextVar("windtunnel_environ", default=None)
_install_lock = threading.Lock()


class ContextEnviron(MutableMapping[str, str]):
    """The process environment, or an execution environment's variables inside one."""

    def __init__(self, process_environ: MutableMapping[str, str]) -> None:
        self.process_environ = process_environ

    def _target(self) -> MutableMapping[str, str]:
        variables = _current.get()
        return self.process_environ if variables is None else variables

    def __getitem__(self, key: str) -> str:
        return self._target()[key]

    def __setitem__(self, key: str, value: str) -> None:
        self._target()[key] = value

    def __delitem__(self, key: str) -> None:
        del self._target()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._target()))

    def __len__(self) -> int:
        return len(self._target())

    def __repr__(self) -> str:
        return f"environ({dict(self._target())!r})"

    def copy(self) -> dict[str, str]:
        """Return a plain dict of the variables visible here, as ``os.environ.copy`` does."""
        return dict(self._target())

    def __getattr__(self, name: str) -> Any:
        # os._Environ's helpers (encodekey, ...) for code that reaches for them.
        return getattr(self.process_environ, name)


def current_environment() -> dict[str, str] | None:
    """Return the variables of the execution environment active in this context, if any."""
    return _current.get()


def install() -> None:
    """Replace ``os.environ`` with a :class:`ContextEnviron`, once per process."""
    with _install_lock:
        if not isinstance(os.environ, ContextEnviron):
            # Replacing the mapping is the point: the process environment stays in it.
            os.environ = ContextEnviron(os.environ)  # type: ignore[assignment]  # noqa: B003


@contextlib.contextmanager
def use_environment(variables: dict[str, str]) -> Iterator[None]:
    """Make ``variables`` the environment that ``os.environ`` shows in this context."""
    token = _current.set(variables)
    try:
        yield
    finally:
        _current.reset(token)
