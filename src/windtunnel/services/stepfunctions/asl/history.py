"""An execution's history: events with ids, previous event ids and details, as AWS records them.

Each event has ``timestamp``, ``type``, ``id`` (from 1), ``previousEventId`` (the event
before it in the same branch of work; 0 for the first) and one ``...EventDetails`` member
named after its type.
https://docs.aws.amazon.com/step-functions/latest/apireference/API_HistoryEvent.html
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["History", "HistoryEvent", "details_member"]

# The details members of the API's HistoryEvent shape; an event type whose member is not
# among them (LambdaFunctionStarted, ParallelStateStarted, ...) carries no details.
_MEMBERS = frozenset({
    "activityFailedEventDetails", "activityScheduleFailedEventDetails",
    "activityScheduledEventDetails", "activityStartedEventDetails",
    "activitySucceededEventDetails", "activityTimedOutEventDetails",
    "taskFailedEventDetails", "taskScheduledEventDetails", "taskStartFailedEventDetails",
    "taskStartedEventDetails", "taskSubmitFailedEventDetails", "taskSubmittedEventDetails",
    "taskSucceededEventDetails", "taskTimedOutEventDetails", "executionFailedEventDetails",
    "executionStartedEventDetails", "executionSucceededEventDetails",
    "executionAbortedEventDetails", "executionTimedOutEventDetails",
    "executionRedrivenEventDetails", "mapStateStartedEventDetails",
    "mapIterationStartedEventDetails", "mapIterationSucceededEventDetails",
    "mapIterationFailedEventDetails", "mapIterationAbortedEventDetails",
    "lambdaFunctionFailedEventDetails", "lambdaFunctionScheduleFailedEventDetails",
    "lambdaFunctionScheduledEventDetails", "lambdaFunctionStartFailedEventDetails",
    "lambdaFunctionSucceededEventDetails", "lambdaFunctionTimedOutEventDetails",
    "stateEnteredEventDetails", "stateExitedEventDetails", "mapRunStartedEventDetails",
    "mapRunFailedEventDetails", "mapRunRedrivenEventDetails", "evaluationFailedEventDetails",
})


def details_member(event_type: str) -> str | None:
    """The name of the details member of ``event_type`` (None for events without one).

    ``TaskStateEntered`` has ``stateEnteredEventDetails``, ``TaskScheduled`` has
    ``taskScheduledEventDetails``, and so on, as in the API's HistoryEvent shape.
    """
    if event_type.endswith("StateEntered"):
        return "stateEnteredEventDetails"
    if event_type.endswith("StateExited"):
        return "stateExitedEventDetails"
    member = event_type[0].lower() + event_type[1:] + "EventDetails"
    return member if member in _MEMBERS else None


@dataclass
class HistoryEvent:
    """One recorded event."""

    id: int
    previous_event_id: int
    type: str
    timestamp: datetime.datetime
    details: dict[str, Any] | None

    def to_api(self) -> dict[str, Any]:
        """The event as GetExecutionHistory returns it."""
        event: dict[str, Any] = {
            "timestamp": self.timestamp.timestamp(),
            "type": self.type,
            "id": self.id,
            "previousEventId": self.previous_event_id,
        }
        member = details_member(self.type)
        if member is not None and self.details is not None:
            event[member] = self.details
        return event


class History:
    """The events of one execution, in the order they happened."""

    def __init__(self, now: Callable[[], datetime.datetime], limit: int) -> None:
        self.events: list[HistoryEvent] = []
        self._now = now
        self.limit = limit

    def add(self, event_type: str, previous_event_id: int,
            details: dict[str, Any] | None = None) -> int:
        """Record an event and return its id."""
        event_id = len(self.events) + 1
        self.events.append(HistoryEvent(event_id, previous_event_id, event_type,
                                        self._now(), details))
        return event_id

    @property
    def full(self) -> bool:
        """Whether the execution has reached the quota of events in its history."""
        return len(self.events) >= self.limit

    def __len__(self) -> int:
        return len(self.events)
