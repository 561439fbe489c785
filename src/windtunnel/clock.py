"""Virtual time with a deterministic scheduler.

Work that AWS does later (a retry after a delay, a Wait state, a scheduled rule, a message
that becomes visible again) is scheduled on the clock instead of on wall time. Tests move
the clock forward with :meth:`VirtualClock.advance`, which runs everything that falls due
on the way, in time order, so a five-minute wait costs nothing and always runs the same.
"""

from __future__ import annotations

import datetime
import heapq
import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["ScheduledCall", "VirtualClock"]

Callback = Callable[[], None]


@dataclass(order=True)
class ScheduledCall:
    """A callback due at a virtual time; calls due at the same time run in schedule order."""

    due: datetime.datetime
    sequence: int
    callback: Callback = field(compare=False)
    description: str = field(default="", compare=False)
    cancelled: bool = field(default=False, compare=False)

    def cancel(self) -> None:
        """Keep the call from running."""
        self.cancelled = True


class VirtualClock:
    """A clock that moves only on :meth:`advance`, and runs the calls scheduled on it."""

    def __init__(self, start: datetime.datetime | None = None) -> None:
        now = start or datetime.datetime.now(datetime.UTC)
        if now.tzinfo is None:
            raise ValueError("the clock's start must be timezone-aware (UTC)")
        self._now = now.astimezone(datetime.UTC)
        self._queue: list[ScheduledCall] = []
        self._sequence = itertools.count()
        self._lock = threading.RLock()

    def now(self) -> datetime.datetime:
        """Return the current virtual time (UTC)."""
        return self._now

    def time(self) -> float:
        """Return the current virtual time as seconds since the epoch."""
        return self._now.timestamp()

    def schedule(self, delay: float | datetime.timedelta, callback: Callback, *,
                 description: str = "") -> ScheduledCall:
        """Run ``callback`` when the clock reaches now + ``delay`` (seconds or a timedelta)."""
        if not isinstance(delay, datetime.timedelta):
            delay = datetime.timedelta(seconds=delay)
        if delay < datetime.timedelta(0):
            raise ValueError(f"cannot schedule a call in the past (delay {delay})")
        with self._lock:
            call = ScheduledCall(self._now + delay, next(self._sequence), callback,
                                 description)
            heapq.heappush(self._queue, call)
            return call

    def pending(self) -> list[ScheduledCall]:
        """Return the calls not yet run, earliest first."""
        with self._lock:
            return sorted(call for call in self._queue if not call.cancelled)

    def advance(self, delta: float | datetime.timedelta) -> int:
        """Move the clock forward, running each call that falls due, in time order.

        A call that schedules another call inside the window runs it too. The clock reads
        each call's due time while the call runs. Returns how many calls ran.
        """
        if not isinstance(delta, datetime.timedelta):
            delta = datetime.timedelta(seconds=delta)
        if delta < datetime.timedelta(0):
            raise ValueError(f"the clock cannot go backwards (advance by {delta})")
        with self._lock:
            target = self._now + delta
            ran = 0
            while self._queue and self._queue[0].due <= target:
                call = heapq.heappop(self._queue)
                if call.cancelled:
                    continue
                self._now = call.due
                call.callback()
                ran += 1
            self._now = target
            return ran

    def run_due(self) -> int:
        """Run the calls due now, without moving the clock; return how many ran."""
        return self.advance(0)
