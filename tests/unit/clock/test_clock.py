"""The virtual clock and its scheduler."""

from __future__ import annotations

import datetime

import pytest

from windtunnel.clock import VirtualClock

START = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)


def test_clock_stays_until_advanced() -> None:
    """Virtual time does not follow the wall clock."""
    clock = VirtualClock(START)

    assert clock.now() == START
    assert clock.time() == START.timestamp()


def test_advance_runs_due_calls_in_time_order() -> None:
    """Calls run in due order, each seeing its own due time; later ones wait."""
    clock = VirtualClock(START)
    seen: list[tuple[str, datetime.datetime]] = []
    clock.schedule(300, lambda: seen.append(("five minutes", clock.now())))
    clock.schedule(60, lambda: seen.append(("one minute", clock.now())))
    clock.schedule(3600, lambda: seen.append(("one hour", clock.now())))

    ran = clock.advance(datetime.timedelta(minutes=10))

    assert ran == 2
    assert seen == [("one minute", START + datetime.timedelta(minutes=1)),
                    ("five minutes", START + datetime.timedelta(minutes=5))]
    assert clock.now() == START + datetime.timedelta(minutes=10)
    assert [call.due for call in clock.pending()] == [START + datetime.timedelta(hours=1)]


def test_same_due_time_keeps_schedule_order() -> None:
    """Calls due at the same moment run in the order they were scheduled."""
    clock = VirtualClock(START)
    order: list[int] = []
    for number in range(5):
        clock.schedule(10, lambda number=number: order.append(number))

    clock.advance(10)

    assert order == [0, 1, 2, 3, 4]


def test_call_scheduled_inside_the_window_runs() -> None:
    """A retry scheduled by a call runs in the same advance when it falls due."""
    clock = VirtualClock(START)
    attempts: list[datetime.datetime] = []

    def attempt() -> None:
        attempts.append(clock.now())
        if len(attempts) < 3:
            clock.schedule(2 ** len(attempts), attempt)

    clock.schedule(0, attempt)
    clock.advance(60)

    assert attempts == [START, START + datetime.timedelta(seconds=2),
                        START + datetime.timedelta(seconds=6)]


def test_cancelled_call_does_not_run() -> None:
    """A cancelled call is skipped."""
    clock = VirtualClock(START)
    ran: list[str] = []
    call = clock.schedule(5, lambda: ran.append("cancelled"))
    call.cancel()

    assert clock.advance(10) == 0
    assert ran == []


def test_clock_never_goes_backwards() -> None:
    """A negative move is an error."""
    clock = VirtualClock(START)

    with pytest.raises(ValueError, match="cannot go backwards"):
        clock.advance(-1)


def test_calls_cannot_be_scheduled_in_the_past() -> None:
    """A negative delay is an error."""
    clock = VirtualClock(START)

    with pytest.raises(ValueError, match="in the past"):
        clock.schedule(-1, lambda: None)


def test_naive_start_is_rejected() -> None:
    """The start time must carry a time zone."""
    with pytest.raises(ValueError, match="timezone-aware"):
        VirtualClock(datetime.datetime(2026, 1, 1))


def test_wall_clock_follower_runs_due_calls() -> None:
    """A follower moves the clock with real time, so a call 0.2 s away runs by itself."""
    import threading

    from windtunnel.clock import WallClockFollower

    clock = VirtualClock()
    ran = threading.Event()
    clock.schedule(0.2, ran.set)
    follower = WallClockFollower(clock, interval=0.05).start()
    try:
        happened = ran.wait(timeout=5)
    finally:
        follower.stop()

    assert happened


def test_call_may_schedule_from_other_thread() -> None:
    """A running call can wait for another thread that schedules and runs due calls."""
    import threading

    clock = VirtualClock()
    results: list[str] = []

    def call() -> None:
        helper = threading.Thread(target=lambda: (clock.schedule(0, lambda: None),
                                                  results.append(str(clock.run_due()))))
        helper.start()
        helper.join(timeout=5)
        results.append("joined" if not helper.is_alive() else "blocked")

    clock.schedule(1, call)
    clock.advance(2)

    assert results == ["0", "joined"]
    assert len(clock.pending()) == 0
