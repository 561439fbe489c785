"""Map runs of Distributed Map states: their child executions and their counts.

A map run runs each item (or batch) as a child workflow execution of the Map state's item
processor, named ``execution:{stateMachine}/{label}:{id}``, and counts them for
DescribeMapRun.
https://docs.aws.amazon.com/step-functions/latest/dg/concepts-examine-map-run.html
https://docs.aws.amazon.com/step-functions/latest/apireference/API_DescribeMapRun.html
"""

from __future__ import annotations

import datetime
import json
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from windtunnel.services.stepfunctions.asl.definition import Definition, State
from windtunnel.services.stepfunctions.asl.errors import StatesError
from windtunnel.services.stepfunctions.asl.execution import Execution, StateMachineRef
from windtunnel.services.stepfunctions.asl.json_text import to_json

if TYPE_CHECKING:
    from windtunnel.services.stepfunctions.engine import Engine

__all__ = ["MapRunRecord", "MapRuns"]


@dataclass
class MapRunRecord:
    """One map run."""

    arn: str
    execution_arn: str
    label: str
    total: int
    max_concurrency: int
    tolerated_failure_count: int
    tolerated_failure_percentage: float
    start_date: datetime.datetime
    status: str = "RUNNING"
    stop_date: datetime.datetime | None = None
    error: str | None = None
    cause: str | None = None
    children: list[Execution] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """Item and execution counts, as DescribeMapRun reports them."""
        statuses = Counter(child.status for child in self.children)
        started = len(self.children)
        return {
            "pending": max(self.total - started, 0) if self.status == "RUNNING" else 0,
            "running": statuses["RUNNING"],
            "succeeded": statuses["SUCCEEDED"],
            "failed": statuses["FAILED"],
            "timedOut": statuses["TIMED_OUT"],
            "aborted": statuses["ABORTED"],
            "total": self.total,
            "resultsWritten": 0,
            "failuresNotRedrivable": 0,
            "pendingRedrive": 0,
        }

    def describe(self) -> dict[str, Any]:
        """DescribeMapRun's answer."""
        answer: dict[str, Any] = {
            "mapRunArn": self.arn,
            "executionArn": self.execution_arn,
            "status": self.status,
            "startDate": self.start_date,
            "maxConcurrency": self.max_concurrency,
            "toleratedFailurePercentage": self.tolerated_failure_percentage,
            "toleratedFailureCount": self.tolerated_failure_count,
            "itemCounts": self.counts(),
            "executionCounts": self.counts(),
            "redriveCount": 0,
        }
        if self.stop_date is not None:
            answer["stopDate"] = self.stop_date
        return answer


class MapRuns:
    """The map runs of one engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.records: dict[str, MapRunRecord] = {}

    def start_map_run(self, execution: Execution, state: State, total: int,
                      max_concurrency: int, tolerated: int) -> MapRunRecord:
        """Create the map run of a Distributed Map state of ``execution``."""
        label = str(state.get("Label") or state.name)
        machine = execution.state_machine
        parts = machine.arn.split(":")
        run_id = str(uuid.UUID(int=execution.random.getrandbits(128), version=4))
        arn = ":".join(parts[:5]) + f":mapRun:{machine.name}/{label}:{run_id}"
        record = MapRunRecord(
            arn=arn, execution_arn=execution.arn, label=label, total=total,
            max_concurrency=max_concurrency,
            tolerated_failure_count=int(state.get("ToleratedFailureCount") or 0),
            tolerated_failure_percentage=float(state.get("ToleratedFailurePercentage") or 0),
            start_date=self.engine.clock.now())
        self.records[arn] = record
        del tolerated
        return record

    def start_child(self, record: MapRunRecord, parent: Execution, state: State,
                    item: Any, coverage_prefix: str) -> Execution:
        """Start the child execution of one item (or batch) of the map run."""
        processor = state.get("ItemProcessor") or state.get("Iterator") or {}
        configuration = processor.get("ProcessorConfig") or {}
        block = state.branches[0]
        definition = Definition(block.start_at, block.states, block.query_language,
                                block.fields, json.dumps(processor))
        machine = parent.state_machine
        child_machine = StateMachineRef(
            arn=machine.arn, name=machine.name, definition=definition,
            role_arn=machine.role_arn, type=str(configuration.get("ExecutionType",
                                                                  "STANDARD")))
        name = str(uuid.UUID(int=parent.random.getrandbits(128), version=4))
        parts = machine.arn.split(":")
        kind = "express" if child_machine.type == "EXPRESS" else "execution"
        arn = ":".join(parts[:5]) + f":{kind}:{machine.name}/{record.label}:{name}"
        child = Execution(arn=arn, name=name, state_machine=child_machine, input=item,
                          input_text=to_json(item), start_date=self.engine.clock.now(),
                          now=self.engine.clock.now, mocks=parent.mocks,
                          test_case=parent.test_case, parent_arn=parent.arn,
                          map_run_arn=record.arn,
                          coverage_prefix=coverage_prefix)
        # Mock invocations count across the whole execution, children included.
        child.mock_invocations = parent.mock_invocations
        self.engine.executions[arn] = child
        record.children.append(child)
        self.engine.interpreter.start(child)
        return child

    def finish_map_run(self, record: MapRunRecord, status: str,
                       error: StatesError | None) -> None:
        """Close the map run."""
        record.status = status
        record.stop_date = self.engine.clock.now()
        if error is not None:
            record.error, record.cause = error.error, error.cause

    def of_execution(self, execution_arn: str) -> list[MapRunRecord]:
        """The map runs an execution started, oldest first."""
        return [record for record in self.records.values()
                if record.execution_arn == execution_arn]

    def clear(self) -> None:
        """Forget every map run."""
        self.records.clear()
