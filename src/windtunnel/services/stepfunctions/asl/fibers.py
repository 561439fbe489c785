"""Cooperative fibers on the virtual clock: how executions wait without threads.

An execution, and each Parallel branch or Map iteration in it, is a generator. It yields
what it waits for (a delay, a future such as a task token, or a group of child fibers)
and is resumed by the clock when that is ready. Everything runs on the thread that runs
the clock, in the clock's deterministic order, so a five-minute Wait is one scheduled
call and retries repeat exactly.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any

from windtunnel.clock import ScheduledCall, VirtualClock

__all__ = ["Await", "Fiber", "Future", "Join", "Outcome", "Sleep", "Work"]

logger = logging.getLogger(__name__)

Work = Generator[Any, Any, Any]
"""A fiber's body: yields Sleep, Await or Join and returns its result."""


class Future:
    """A value that becomes known later: a task token's callback, a child execution's end."""

    def __init__(self) -> None:
        self.done = False
        self.value: Any = None
        self.error: BaseException | None = None
        self._callbacks: list[Callable[[Future], None]] = []
        self.on_heartbeat: Callable[[], None] | None = None
        """Set while a fiber waits with a heartbeat timeout: restarts that timeout."""

    def resolve(self, value: Any) -> bool:
        """Complete with ``value``; False if the future was complete already."""
        return self._complete(value, None)

    def reject(self, error: BaseException) -> bool:
        """Complete with ``error``; False if the future was complete already."""
        return self._complete(None, error)

    def heartbeat(self) -> None:
        """Report that the work behind the future is still alive."""
        if self.on_heartbeat is not None:
            self.on_heartbeat()

    def add_done_callback(self, callback: Callable[[Future], None]) -> None:
        """Call ``callback`` when the future completes (at once if it has)."""
        if self.done:
            callback(self)
        else:
            self._callbacks.append(callback)

    def _complete(self, value: Any, error: BaseException | None) -> bool:
        if self.done:
            return False
        self.done, self.value, self.error = True, value, error
        callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            callback(self)
        return True


@dataclass
class Sleep:
    """Wait ``seconds`` of virtual time."""

    seconds: float


@dataclass
class Await:
    """Wait for ``future``; fail with ``timeout_error`` or ``heartbeat_error`` when late."""

    future: Future
    timeout: float | None = None
    heartbeat: float | None = None
    timeout_error: Callable[[], BaseException] | None = None
    heartbeat_error: Callable[[], BaseException] | None = None


@dataclass
class Outcome:
    """The outcome of one child fiber of a :class:`Join`."""

    index: int
    value: Any = None
    error: BaseException | None = None


@dataclass
class Join:
    """Run child fibers, at most ``max_concurrency`` at a time (0: no limit).

    ``on_outcome`` receives each child's outcome as it ends and returns True to stop the
    others; the waiting fiber then resumes with the list of outcomes so far.
    """

    children: list[Callable[[], Work]]
    max_concurrency: int = 0
    on_outcome: Callable[[Outcome], bool] = field(default=lambda outcome: False)


class Fiber:
    """Drives one generator, resuming it when what it waits for is ready."""

    def __init__(self, clock: VirtualClock, work: Work,
                 on_done: Callable[[Outcome], None], *, index: int = 0) -> None:
        self._clock = clock
        self._work = work
        self._on_done = on_done
        self._index = index
        self._pending: list[ScheduledCall] = []
        self._children: list[Fiber] = []
        self._waiting_on: Future | None = None
        self.finished = False

    def start(self) -> None:
        """Run the fiber until it first waits."""
        self._step(None, None)

    def cancel(self) -> None:
        """Stop the fiber and its children; it never resumes and reports nothing."""
        if self.finished:
            return
        self.finished = True
        self._cancel_waits()
        for child in self._children:
            child.cancel()
        self._work.close()

    def _cancel_waits(self) -> None:
        for call in self._pending:
            call.cancel()
        self._pending.clear()
        if self._waiting_on is not None:
            self._waiting_on.on_heartbeat = None
            self._waiting_on = None

    def _resume_later(self, value: Any = None, error: BaseException | None = None) -> None:
        """Resume on the clock's thread, after the current call returns."""
        self._cancel_waits()
        self._pending.append(self._clock.schedule(0, lambda: self._step(value, error),
                                                  description="resume execution"))

    def _step(self, value: Any, error: BaseException | None) -> None:
        if self.finished:
            return
        self._cancel_waits()
        try:
            request = self._work.throw(error) if error is not None else self._work.send(value)
        except StopIteration as stop:
            self._finish(Outcome(self._index, value=stop.value))
            return
        except Exception as failure:  # the work failed: that is its outcome
            self._finish(Outcome(self._index, error=failure))
            return
        self._wait(request)

    def _finish(self, outcome: Outcome) -> None:
        self.finished = True
        self._on_done(outcome)

    def _wait(self, request: Any) -> None:
        if isinstance(request, Sleep):
            self._pending.append(self._clock.schedule(max(request.seconds, 0.0),
                                                      lambda: self._step(None, None),
                                                      description="execution waits"))
        elif isinstance(request, Await):
            self._await(request)
        elif isinstance(request, Join):
            self._join(request)
        else:
            self._step(None, TypeError(f"a fiber yielded {request!r}"))

    def _await(self, request: Await) -> None:
        future = request.future

        def completed(done: Future) -> None:
            if self._waiting_on is done:
                self._resume_later(done.value, done.error)

        self._waiting_on = future
        if request.timeout is not None and request.timeout_error is not None:
            make_timeout = request.timeout_error
            self._pending.append(self._clock.schedule(
                request.timeout, lambda: _reject(future, make_timeout()),
                description="task timeout"))
        if request.heartbeat is not None and request.heartbeat_error is not None:
            make_heartbeat_error = request.heartbeat_error
            seconds = request.heartbeat
            heartbeat_call: list[ScheduledCall] = []

            def restart_heartbeat() -> None:
                for call in heartbeat_call:
                    call.cancel()
                heartbeat_call[:] = [self._clock.schedule(
                    seconds, lambda: _reject(future, make_heartbeat_error()),
                    description="task heartbeat timeout")]
                self._pending.extend(heartbeat_call)

            restart_heartbeat()
            future.on_heartbeat = restart_heartbeat
        future.add_done_callback(completed)

    def _join(self, request: Join) -> None:
        outcomes: list[Outcome] = []
        total = len(request.children)
        limit = request.max_concurrency or total
        started = 0
        running: dict[int, Fiber] = {}
        stopped = False
        launching = False

        def start_next() -> None:
            # Children that end at once call back into here; the flag keeps that a loop
            # instead of a recursion as deep as the number of items.
            nonlocal started, launching
            if launching:
                return
            launching = True
            try:
                while started < total and len(running) < limit and not stopped:
                    index = started
                    started += 1
                    child = Fiber(self._clock, request.children[index](), child_done,
                                  index=index)
                    running[index] = child
                    self._children.append(child)
                    child.start()
            finally:
                launching = False

        def child_done(outcome: Outcome) -> None:
            nonlocal stopped
            running.pop(outcome.index, None)
            if stopped:
                return
            outcomes.append(outcome)
            if request.on_outcome(outcome):
                stopped = True
                for child in list(running.values()):
                    child.cancel()
                running.clear()
            if stopped or len(outcomes) == total:
                self._children.clear()
                ordered = sorted(outcomes, key=lambda item: item.index)
                self._resume_later(ordered)
                return
            start_next()

        if total == 0:
            self._resume_later([])
            return
        start_next()


def _reject(future: Future, error: BaseException) -> None:
    future.reject(error)
