"""Issue Cognito tokens on the emulation's clock instead of the wall clock.

moto stamps the ``iat``, ``auth_time`` and ``exp`` claims of user pool tokens with
``time.time()``. Tokens are verified on the stack's (virtual) clock, so a token issued
after ``stack.clock.advance(...)`` would look expired at once. moto's Cognito module reads
the time through its module-level ``time`` name, which is replaced here by an object that
asks the emulation's clock.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from types import SimpleNamespace

__all__ = ["issue_cognito_tokens_on"]


def issue_cognito_tokens_on(now: Callable[[], float]) -> None:
    """Make moto's user pools stamp tokens with ``now()`` (seconds since the epoch)."""
    from moto.cognitoidp import models

    clock = SimpleNamespace(**{name: getattr(time, name) for name in dir(time)
                               if not name.startswith("_")})
    clock.time = now
    models.time = clock  # type: ignore[attr-defined,assignment]
