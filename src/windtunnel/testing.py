"""Test helpers: assertions with failure messages that show the closest events, and
``aws_hostnames`` to send the test's own requests to AWS hostnames to a local stack.

::

    from windtunnel.testing import assert_published

    def test_add_item_announces_it(stack):
        stack.invoke("addItem", event)
        assert_published(stack, {"source": ["cart"], "detail-type": ["ItemAdded"]}, count=1)
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from windtunnel.runtime.http_interception import aws_hostnames
from windtunnel.services.events.patterns import compile_pattern
from windtunnel.stack.events import EventAssertionError, EventPattern

if TYPE_CHECKING:
    from windtunnel.stack.local import EmulatedStack

__all__ = ["EventAssertionError", "assert_published", "aws_hostnames"]

logger = logging.getLogger(__name__)


def assert_published(stack: EmulatedStack, pattern: EventPattern, *, bus: str | None = None,
                     count: int | None = None) -> list[dict[str, Any]]:
    """Settle ``stack`` and check that events matching ``pattern`` were put on ``bus``.

    ``pattern`` is an EventBridge event pattern (a dict or JSON text), and ``bus`` a logical
    ID, name or ARN (every bus by default). With ``count`` the number of matching events
    must be exactly that (0 checks that none was published), otherwise at least one.
    Returns the matching events, oldest first. Raises :class:`EventAssertionError` with the
    closest events and the fields in which they differ.
    """
    if count is not None and count < 0:
        raise ValueError(f"count must be 0 or more, not {count}")
    compiled = compile_pattern(dict(pattern) if isinstance(pattern, Mapping) else pattern)
    stack.settle()
    matching = stack.events.published(bus=bus, pattern=compiled)

    if (count is None and matching) or count == len(matching):
        return matching

    where = "any bus" if bus is None else f"bus {bus}"
    if count is None:
        heading = f"no event matching the pattern was published on {where}"
    else:
        noun = "event" if count == 1 else "events"
        heading = (f"expected {count} {noun} matching the pattern on {where}, "
                   f"found {len(matching)}")
    raise EventAssertionError(stack.events.explain(heading, compiled, bus))
