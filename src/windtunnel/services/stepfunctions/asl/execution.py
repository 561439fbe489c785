"""One execution of a state machine: its identity, status, history and context object."""

from __future__ import annotations

import datetime
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from windtunnel.services.stepfunctions.asl.definition import Definition
from windtunnel.services.stepfunctions.asl.fibers import Fiber, Future
from windtunnel.services.stepfunctions.asl.history import History

if TYPE_CHECKING:
    from windtunnel.services.stepfunctions.mocks import TestCaseMocks

__all__ = ["Execution", "StateMachineRef", "iso_time"]

RUNNING = "RUNNING"
SUCCEEDED = "SUCCEEDED"
FAILED = "FAILED"
TIMED_OUT = "TIMED_OUT"
ABORTED = "ABORTED"

# Standard workflows keep at most 25,000 events in an execution's history.
# https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html
HISTORY_LIMIT = 25_000


def iso_time(moment: datetime.datetime) -> str:
    """Format a time as the context object writes it: ``2019-03-26T20:14:13.192Z``."""
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.") + \
        f"{moment.microsecond // 1000:03d}Z"


@dataclass(frozen=True)
class StateMachineRef:
    """The parts of a state machine that an execution uses."""

    arn: str
    name: str
    definition: Definition
    role_arn: str
    type: str = "STANDARD"
    version_arn: str | None = None
    alias_arn: str | None = None


@dataclass
class Execution:
    """A running or finished execution."""

    arn: str
    name: str
    state_machine: StateMachineRef = field(repr=False)
    input: Any = field(repr=False)
    input_text: str = field(repr=False)
    start_date: datetime.datetime
    now: Callable[[], datetime.datetime] = field(repr=False)
    mocks: TestCaseMocks | None = field(default=None, repr=False)
    test_case: str | None = None
    status: str = RUNNING
    stop_date: datetime.datetime | None = None
    output: Any = field(default=None, repr=False)
    error: str | None = None
    cause: str | None = None
    history: History = field(init=False, repr=False)
    random: random.Random = field(init=False, repr=False)
    finished: Future = field(default_factory=Future, repr=False)
    """Resolved with the execution when it stops, whatever its status."""
    fiber: Fiber | None = field(default=None, repr=False)
    path: list[str] = field(default_factory=list, repr=False)
    """The names of the states entered, in order."""
    mock_invocations: dict[str, int] = field(default_factory=dict, repr=False)
    parent_arn: str | None = None
    trace_header: str | None = None
    map_run_arn: str | None = None
    """The Distributed Map run this execution is a child of."""
    coverage_prefix: str = ""
    """The prefix of this execution's states in its state machine's graph (the Map state's
    path for a map run's child executions)."""

    def __post_init__(self) -> None:
        self.history = History(self.now, HISTORY_LIMIT)
        # Jitter, $random and States.UUID draw from a source seeded by the execution's
        # ARN, so a run repeats exactly.
        self.random = random.Random(self.arn)

    @property
    def running(self) -> bool:
        """Whether the execution has not stopped yet."""
        return self.status == RUNNING

    def context_object(self) -> dict[str, Any]:
        """Return the ``$$`` context object's execution and state machine parts."""
        execution: dict[str, Any] = {
            "Id": self.arn,
            "Input": self.input,
            "Name": self.name,
            "RoleArn": self.state_machine.role_arn,
            "StartTime": iso_time(self.start_date),
            "RedriveCount": 0,
        }
        return {
            "Execution": execution,
            "StateMachine": {"Id": self.state_machine.arn, "Name": self.state_machine.name},
        }

    def next_mock_invocation(self, state_name: str) -> int:
        """Count an invocation of ``state_name`` and return its 0-based number.

        Every invocation counts, retries and Map iterations included, as the mock
        configuration file of Step Functions Local defines.
        """
        number = self.mock_invocations.get(state_name, 0)
        self.mock_invocations[state_name] = number + 1
        return number
