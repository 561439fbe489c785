"""``stack.stepfunctions``: run state machines to their end, with mocks, on virtual time.

``execute`` starts an execution, moves the stack's clock through its waits, retries and
timeouts, and returns its status, output, history and the states it went through.
Mocks use the rules of Step Functions Local's mock configuration file.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from windtunnel.errors import WindtunnelError
from windtunnel.services.stepfunctions.asl.execution import Execution
from windtunnel.services.stepfunctions.coverage import CoverageData, CoverageReport
from windtunnel.services.stepfunctions.mocks import MockConfig, MockConfigError

if TYPE_CHECKING:
    from windtunnel.stack.local import EmulatedStack

__all__ = ["ExecutionResult", "StackStepFunctions"]

# An invocation number or range of a mock: "0", "1-2".
_RANGE = re.compile(r"\d+(-\d+)?")

# How much virtual time execute() lets an execution run: a Standard workflow's year.
_ONE_YEAR = 365 * 24 * 3600.0

MockSpec = Mapping[str, Any] | Sequence[Mapping[str, Any]]
"""A state's mock: ``{"Return": value}`` or ``{"Throw": {"Error": ..., "Cause": ...}}`` for
every invocation, a list of them for successive invocations, or a mapping of invocation
ranges (``{"0": ..., "1-2": ...}``) as in the mock configuration file."""


@dataclass
class ExecutionResult:
    """The record of an execution: status, output or error, history and path."""

    execution_arn: str
    status: str
    output: Any
    error: str | None
    cause: str | None
    history: list[dict[str, Any]]
    """The events as GetExecutionHistory returns them."""
    path: list[str]
    """The states entered, in order (``Map/State`` and ``Parallel/branch 0/State`` inside
    Map and Parallel states)."""

    @property
    def succeeded(self) -> bool:
        """Whether the execution succeeded."""
        return self.status == "SUCCEEDED"

    def events(self, event_type: str) -> list[dict[str, Any]]:
        """Return the history events of one type (``TaskFailed``, ``MapIterationStarted``...)."""
        return [event for event in self.history if event["type"] == event_type]

    def state_output(self, state_name: str) -> Any:
        """Return the output of the last exit from ``state_name``, decoded from JSON."""
        for event in reversed(self.history):
            details = event.get("stateExitedEventDetails")
            if details and details["name"] == state_name:
                return json.loads(details["output"])
        raise WindtunnelError(f"the execution never left the state {state_name!r}; it "
                              f"went through {', '.join(self.path) or 'no state'}")


class StackStepFunctions:
    """The Step Functions side of an emulated stack."""

    def __init__(self, stack: EmulatedStack) -> None:
        self._stack = stack

    @property
    def _engine(self) -> Any:
        return self._stack.environment.stepfunctions

    def arn(self, state_machine: str) -> str:
        """Return the ARN of a state machine given by logical ID, name or ARN."""
        if state_machine.startswith("arn:"):
            return state_machine
        resource = self._stack.deployed.resources.get(state_machine)
        if resource is not None and resource.resource_type == "AWS::StepFunctions::StateMachine":
            return str(resource.physical_id)
        client = self._stack.client("stepfunctions")
        machines = client.list_state_machines()["stateMachines"]
        for machine in machines:
            if machine["name"] == state_machine:
                return str(machine["stateMachineArn"])
        known = ", ".join(sorted(
            logical_id for logical_id, item in self._stack.deployed.resources.items()
            if item.resource_type == "AWS::StepFunctions::StateMachine")) or "none"
        raise WindtunnelError(f"no state machine {state_machine!r} in stack "
                              f"{self._stack.name}; its state machines (logical IDs): {known}")

    def execute(self, state_machine: str, input: Any = None, *,
                name: str | None = None, mocks: Mapping[str, MockSpec] | None = None,
                test_case: str | None = None, timeout: float = _ONE_YEAR) -> ExecutionResult:
        """Run an execution to its end and return what it did.

        ``mocks`` replaces the named Task, Map or Parallel states' work with mocked
        responses; ``test_case`` picks a test case of the loaded mock configuration file
        instead. Waits, retry intervals and timeouts move the stack's clock, at most
        ``timeout`` virtual seconds; an execution still waiting then (for a task token
        that is never sent, say) comes back RUNNING.
        """
        execution = self.start(state_machine, input, name=name, mocks=mocks,
                               test_case=test_case)
        self._engine.wait_for(execution, timeout)
        return self.result(execution.arn)

    def start(self, state_machine: str, input: Any = None, *,
              name: str | None = None, mocks: Mapping[str, MockSpec] | None = None,
              test_case: str | None = None) -> Execution:
        """Start an execution and run it until it first waits; return it."""
        engine = self._engine
        machine = engine.state_machine_ref(self.arn(state_machine))
        input_value = {} if input is None else input
        input_text = json.dumps(input_value)
        test_mocks = None
        if mocks is not None:
            test_mocks = _python_mocks(machine.name, mocks)
        try:
            execution = engine.new_execution(machine, name=name, input_value=input_value,
                                             input_text=input_text, test_case=test_case,
                                             mocks=test_mocks)
        except MockConfigError as error:
            raise WindtunnelError(str(error)) from None
        engine.start(execution)
        return execution  # type: ignore[no-any-return]

    def result(self, execution_arn: str) -> ExecutionResult:
        """Return the current state of an execution."""
        execution: Execution = self._engine.execution(execution_arn)
        return ExecutionResult(
            execution_arn=execution.arn, status=execution.status, output=execution.output,
            error=execution.error, cause=execution.cause,
            history=[event.to_api() for event in execution.history.events],
            path=list(execution.path))

    def coverage(self) -> CoverageReport:
        """Path coverage of the stack's state machines by the executions so far.

        Machines are named by logical ID; ``report.text()`` lists what never ran and
        ``report.machines[0].mermaid()`` draws it.
        """
        engine = self._engine
        data = CoverageData()
        data.transitions = self._stack.environment.coverage
        for logical_id, resource in self._stack.deployed.resources.items():
            if resource.resource_type == "AWS::StepFunctions::StateMachine":
                machine = engine.state_machine_ref(resource.physical_id)
                data.register(machine.name, machine.definition.text, logical_id)
        return data.report()


def _python_mocks(machine_name: str, mocks: Mapping[str, MockSpec]) -> Any:
    """Mocks given in Python, as a test case of a mock configuration."""
    responses: dict[str, Any] = {}
    states: dict[str, str] = {}
    for state_name, spec in mocks.items():
        response_name = f"{state_name} response"
        states[state_name] = response_name
        if isinstance(spec, Sequence) and not isinstance(spec, str | bytes):
            responses[response_name] = {str(number): dict(item)
                                        for number, item in enumerate(spec)}
        elif isinstance(spec, Mapping) and ("Return" in spec or "Throw" in spec):
            # One response for every invocation.
            responses[response_name] = {"0-1000000": dict(spec)}
        elif isinstance(spec, Mapping) and all(_RANGE.fullmatch(str(key)) for key in spec):
            responses[response_name] = {str(key): dict(value) for key, value in spec.items()}
        elif isinstance(spec, Mapping):
            raise WindtunnelError(
                f"the mock for state {state_name!r} must be {{'Return': value}}, "
                f"{{'Throw': {{'Error': ..., 'Cause': ...}}}}, a list of them, or a mapping "
                f"of invocation numbers (\"0\", \"1-2\") to them; found the keys "
                f"{', '.join(repr(str(key)) for key in spec)}")
        else:
            raise WindtunnelError(f"the mock for state {state_name!r} must be a mapping "
                                  f"such as {{'Return': ...}} or a list of them")
    data = {"StateMachines": {machine_name: {"TestCases": {"python": states}}},
            "MockedResponses": responses}
    try:
        return MockConfig.from_dict(data, source="mocks=").test_case(machine_name, "python")
    except MockConfigError as error:
        raise WindtunnelError(str(error)) from None
