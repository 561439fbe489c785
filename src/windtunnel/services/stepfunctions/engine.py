"""The Step Functions engine of one embedded cloud: executions, task tokens and activities.

State machines themselves (definitions, versions, aliases, tags) are moto's; executions
run here, on the stack's virtual clock.
"""

from __future__ import annotations

import datetime
import itertools
import logging
import threading
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from windtunnel.clock import VirtualClock
from windtunnel.cloud.protocols import AwsError
from windtunnel.services.stepfunctions.asl.definition import Definition, parse_definition
from windtunnel.services.stepfunctions.asl.execution import (
    Execution,
    StateMachineRef,
)
from windtunnel.services.stepfunctions.asl.fibers import Future
from windtunnel.services.stepfunctions.asl.interpreter import Interpreter, TransitionRecorder
from windtunnel.services.stepfunctions.asl.json_text import to_json
from windtunnel.services.stepfunctions.integrations import Integrations
from windtunnel.services.stepfunctions.tasks import Tasks, new_token_text

if TYPE_CHECKING:
    from windtunnel.cloud.pipeline import Cloud
    from windtunnel.services.stepfunctions.mocks import MockConfig, TestCaseMocks

__all__ = ["Engine", "TaskToken"]

logger = logging.getLogger(__name__)


@dataclass
class TaskToken:
    """A task token an execution waits on."""

    token: str
    execution: Execution
    state_name: str
    future: Future = field(default_factory=Future)


@dataclass
class _ActivityTask:
    token: TaskToken
    input: str
    started: Future


class Activities:
    """Tasks scheduled on activities, waiting for a worker's GetActivityTask."""

    def __init__(self) -> None:
        self._queues: dict[str, deque[_ActivityTask]] = {}

    def enqueue(self, activity_arn: str, token: TaskToken, task_input: str) -> Future:
        """Queue a task; the returned future resolves with the worker name on pickup."""
        started = Future()
        self._queues.setdefault(activity_arn, deque()).append(
            _ActivityTask(token, task_input, started))
        return started

    def take(self, activity_arn: str, worker_name: str | None) -> _ActivityTask | None:
        """Take the oldest task of the activity still waiting, marking it started."""
        queue = self._queues.get(activity_arn)
        while queue:
            task = queue.popleft()
            if task.token.execution.running and not task.token.future.done:
                task.started.resolve(worker_name)
                return task
        return None

    def clear(self) -> None:
        """Forget every queued task."""
        self._queues.clear()


class Engine:
    """Runs executions of the state machines stored in moto."""

    def __init__(self, cloud: Cloud, clock: VirtualClock, *,
                 recorder: TransitionRecorder | None = None) -> None:
        self.cloud = cloud
        self.clock = clock
        self.executions: dict[str, Execution] = {}
        self.tokens: dict[str, TaskToken] = {}
        self.activities = Activities()
        self.integrations = Integrations(self)
        self.mock_config: MockConfig | None = None
        self.interpreter = Interpreter(clock, Tasks(self), region=cloud.region,
                                       recorder=recorder)
        from windtunnel.services.stepfunctions.map_runs import MapRuns

        self.map_runs = MapRuns(self)
        self.interpreter.map_runs = self.map_runs
        self.name_aliases: dict[str, list[str]] = {}
        """Other names of a state machine (its logical ID) that mock files may use."""
        self.time_scale = 1.0
        """Emulated seconds per real second while the clock follows real time."""
        self._definitions: dict[str, Definition] = {}
        self._token_numbers = itertools.count()
        self._local = threading.local()
        self._lock = threading.RLock()
        from windtunnel.iam.operations.compute import add_task_token_owner

        add_task_token_owner(self.token_state_machine)

    # --- running on the clock --------------------------------------------------------

    def run(self, action: Callable[[], None], description: str) -> None:
        """Run ``action`` on the clock's thread: now if this thread may, else next.

        Everything that touches executions runs as a clock call, so one thread at a time
        does, in the clock's order. Inside a clock call (a handler calling Step Functions
        during a task, say) the action runs right after the current call.
        """
        self.clock.schedule(0, self._guarded(action), description=description)
        if not getattr(self._local, "busy", False):
            self.clock.run_due()

    def _guarded(self, action: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            previous = getattr(self._local, "busy", False)
            self._local.busy = True
            try:
                with self._lock:
                    action()
            finally:
                self._local.busy = previous

        return run

    @property
    def inside(self) -> bool:
        """Whether this thread is running engine work now."""
        return bool(getattr(self._local, "busy", False))

    # --- executions ------------------------------------------------------------------

    def definition(self, text: str) -> Definition:
        """Return the parsed definition of ``text`` (parsed once)."""
        definition = self._definitions.get(text)
        if definition is None:
            definition = self._definitions[text] = parse_definition(text)
        return definition

    def new_execution(self, state_machine: StateMachineRef, *, name: str | None,
                      input_value: Any, input_text: str, test_case: str | None = None,
                      mocks: TestCaseMocks | None = None,
                      parent_arn: str | None = None) -> Execution:
        """Create an execution (not started yet)."""
        name = name or str(uuid.UUID(int=self.cloud_random().getrandbits(128), version=4))
        # arn:aws:states:REGION:ACCOUNT:execution:MACHINE:NAME, also for versions and
        # aliases (whose ARNs add a qualifier after the machine's name).
        parts = state_machine.arn.split("#", 1)[0].split(":")[:7]
        parts[5] = "express" if state_machine.type == "EXPRESS" else "execution"
        arn = ":".join(parts) + ":" + name
        if test_case is not None and mocks is None:
            if self.mock_config is None:
                from windtunnel.services.stepfunctions.mocks import MockConfigError

                raise MockConfigError(
                    f"the execution asks for the test case {test_case!r}, but no mock "
                    f"configuration file is loaded: set SFN_MOCK_CONFIG or pass mocks= "
                    f"to the stack")
            mocks = self.mock_config.test_case(self._mock_name(state_machine), test_case)
        if mocks is not None:
            _check_mocked_states(mocks, state_machine)
        execution = Execution(arn=arn, name=name, state_machine=state_machine,
                              input=input_value, input_text=input_text,
                              start_date=self.clock.now(), now=self.clock.now, mocks=mocks,
                              test_case=test_case, parent_arn=parent_arn)
        self.executions[arn] = execution
        return execution

    def _mock_name(self, state_machine: StateMachineRef) -> str:
        """The name the mock file knows the state machine by: its name or a logical ID."""
        assert self.mock_config is not None
        configured = set(self.mock_config.state_machine_names())
        names: list[str] = [state_machine.name, *self.name_aliases.get(state_machine.name, [])]
        for name in names:
            if name in configured:
                return name
        return state_machine.name

    def start(self, execution: Execution) -> None:
        """Start ``execution`` on the clock."""
        self.run(lambda: self.interpreter.start(execution),
                 description=f"start execution {execution.name}")

    def wait_for(self, execution: Execution, seconds: float) -> None:
        """Return when ``execution`` stops or ``seconds`` of virtual time have passed.

        When the clock follows real time (``windtunnel up``), this waits for it; in tests
        it moves the clock to each next scheduled call, so waits and retries cost no wall
        time. Called while the engine runs (a task starting a synchronous execution), it
        only runs what is due now.
        """
        if self.clock.followed:
            finished = threading.Event()
            execution.finished.add_done_callback(lambda _: finished.set())
            finished.wait(timeout=seconds / self.time_scale + 1.0)
            return
        deadline = self.clock.now() + datetime.timedelta(seconds=seconds)
        while execution.running:
            if self.clock.run_due() == 0 and self.inside:
                return
            if not execution.running:
                return
            pending = self.clock.pending()
            if not pending or pending[0].due > deadline:
                return
            self.clock.advance(max(pending[0].due - self.clock.now(), datetime.timedelta(0)))

    def execution(self, arn: str) -> Execution:
        """Return the execution with ``arn`` (KeyError if unknown)."""
        return self.executions[arn]

    def stop(self, execution: Execution, error: str | None, cause: str | None) -> None:
        """Abort a running execution."""
        self.run(lambda: self.interpreter.stop(execution, error, cause),
                 description=f"stop execution {execution.name}")

    def cloud_random(self) -> Any:
        """Return the random source for generated names (moto's seeded one)."""
        from moto.moto_api._internal import mock_random

        return mock_random

    def reset(self) -> None:
        """Forget every execution, token and activity task (the stack's reset)."""
        with self._lock:
            for execution in self.executions.values():
                if execution.running:
                    if execution.fiber is not None:
                        execution.fiber.cancel()
                    # Timeouts scheduled for it find it stopped and record nothing.
                    execution.status = "ABORTED"
            self.executions.clear()
            self.tokens.clear()
            self.activities.clear()
            self.map_runs.clear()

    def describe_for_task(self, execution: Execution, *, output_as_json: bool) -> dict[str, Any]:
        """Describe an execution as a ``.sync`` task returns it (dates in epoch ms)."""
        description: dict[str, Any] = {
            "ExecutionArn": execution.arn,
            "Input": execution.input_text if not output_as_json else execution.input,
            "InputDetails": {"Included": True},
            "Name": execution.name,
            "StartDate": _epoch_millis(execution.start_date),
            "StateMachineArn": execution.state_machine.arn,
            "Status": execution.status,
        }
        if execution.stop_date is not None:
            description["StopDate"] = _epoch_millis(execution.stop_date)
        if execution.status == "SUCCEEDED":
            description["Output"] = execution.output if output_as_json else \
                to_json(execution.output)
            description["OutputDetails"] = {"Included": True}
        if execution.error is not None:
            description["Error"] = execution.error
        if execution.cause is not None:
            description["Cause"] = execution.cause
        return description

    def state_machine_ref(self, arn: str) -> StateMachineRef:
        """The state machine (or version, or alias routed to a version) of ``arn``."""
        from moto.stepfunctions.models import stepfunctions_backends

        parts = arn.split(":")
        if len(parts) < 7 or parts[2] != "states" or parts[5] != "stateMachine":
            raise AwsError("InvalidArn", f"Invalid Arn: 'Resource type not valid in this "
                                         f"context: {parts[5] if len(parts) > 5 else ''}'")
        backend = stepfunctions_backends[parts[4]][parts[3]]
        alias_arn = None
        version_arn = None
        if len(parts) == 8 and not parts[7].isdigit():
            alias_arn = arn
            arn = self._route_alias(backend, arn)
        if len(parts) >= 8 and arn.split(":")[-1].isdigit():
            version_arn = arn
        try:
            machine = backend.describe_state_machine(arn)
        except Exception as error:  # moto's StateMachineDoesNotExist
            raise AwsError("StateMachineDoesNotExist",
                           f"State Machine Does Not Exist: '{arn}'") from error
        base_arn = ":".join(arn.split(":")[:7])
        return StateMachineRef(
            arn=base_arn, name=parts[6], definition=self.definition(machine.definition),
            role_arn=machine.roleArn, type=getattr(machine, "type", "STANDARD") or "STANDARD",
            version_arn=version_arn, alias_arn=alias_arn)

    def _route_alias(self, backend: Any, alias_arn: str) -> str:
        try:
            alias = backend.describe_state_machine_alias(alias_arn)
        except Exception as error:
            raise AwsError("ResourceNotFound",
                           f"Resource not found: '{alias_arn}'") from error
        routes = [(route["stateMachineVersionArn"], int(route["weight"]))
                  for route in alias.routing_configuration]
        total = sum(weight for _, weight in routes) or 1
        draw = self.cloud_random().randint(1, total)
        for version_arn, weight in routes:
            draw -= weight
            if draw <= 0:
                return str(version_arn)
        return str(routes[-1][0])

    # --- task tokens -----------------------------------------------------------------

    def new_task_token(self, execution: Execution, state_name: str) -> TaskToken:
        """Issue a token for a task that waits for a callback."""
        text = new_token_text(execution.arn, state_name, next(self._token_numbers))
        token = TaskToken(text, execution, state_name)
        self.tokens[text] = token
        return token

    def token_state_machine(self, text: str) -> str | None:
        """Return the ARN of the state machine whose execution issued the token ``text``."""
        token = self.tokens.get(text)
        return token.execution.state_machine.arn if token is not None else None

    def forget_task_token(self, text: str) -> None:
        """Forget the token ``text`` of an ended task, so later callbacks are rejected."""
        self.tokens.pop(text, None)


def _check_mocked_states(mocks: TestCaseMocks, state_machine: StateMachineRef) -> None:
    """Raise MockConfigError when the mocks name states the state machine does not have."""
    from windtunnel.services.stepfunctions.mocks import MockConfigError

    known = {state.name for state in state_machine.definition.walk()}
    unknown = [name for name in mocks.state_names() if name not in known]
    if unknown:
        raise MockConfigError(
            f"the mocks name the state(s) {', '.join(repr(name) for name in unknown)}, "
            f"which the state machine {state_machine.name} does not have; its states are "
            f"{', '.join(sorted(known))}")


def _epoch_millis(moment: datetime.datetime) -> int:
    return int(moment.timestamp() * 1000)
