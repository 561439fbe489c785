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
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["ScheduledCall", "VirtualClock", "WallClockFollower"]

logger = logging.getLogger(__name__)

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
        # Held by the one thread that runs due calls. The queue lock is not held while a
        # call runs, so calls may schedule from other threads without waiting.
        self._advancing = threading.RLock()
        self.followed = False
        """True while a :class:`WallClockFollower` moves this clock with real time."""

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
        with self._advancing:
            return self._run_until(delta)

    def run_due(self) -> int:
        """Run the calls due now, without moving the clock; return how many ran.

        When another thread is advancing the clock, that thread runs the due calls and
        this returns 0 at once. So a scheduled call may wait for a thread that calls
        ``run_due`` without a deadlock.
        """
        if not self._advancing.acquire(blocking=False):
            return 0
        try:
            return self._run_until(datetime.timedelta(0))
        finally:
            self._advancing.release()

    def _run_until(self, delta: datetime.timedelta) -> int:
        with self._lock:
            target = self._now + delta
        ran = 0
        while True:
            with self._lock:
                if not self._queue or self._queue[0].due > target:
                    break
                call = heapq.heappop(self._queue)
                if call.cancelled:
                    continue
                self._now = call.due
            call.callback()
            ran += 1
        with self._lock:
            self._now = max(self._now, target)
        return ran


class WallClockFollower:
    """Advance a virtual clock with the wall clock, for a server that runs in real time.

    A daemon thread moves the clock forward by the elapsed wall time every ``interval``
    seconds, so delays, retries and schedules fall due as they would on AWS. With a
    ``scale`` of 10, each wall second moves the clock ten seconds.
    """

    def __init__(self, clock: VirtualClock, interval: float = 0.1, *,
                 scale: float = 1.0) -> None:
        if scale <= 0:
            raise ValueError(f"the time scale must be positive, not {scale}")
        self._clock = clock
        self._interval = interval
        self.scale = scale
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._follow, name="windtunnel-clock",
                                        daemon=True)

    def start(self) -> WallClockFollower:
        """Start following; return self."""
        self._clock.followed = True
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop following and wait for the thread to end."""
        self._stopped.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        self._clock.followed = False

    def _follow(self) -> None:
        last = time.monotonic()
        while not self._stopped.wait(self._interval):
            now = time.monotonic()
            try:
                self._clock.advance((now - last) * self.scale)
            except Exception:
                logger.exception("a call scheduled on the clock failed")
            last = now
