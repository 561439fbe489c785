"""Task states: history events, mocks, task tokens and the call to the integrated service.

The call goes through the embedded cloud with the credentials of the state machine's
role (or of the role the Task's ``Credentials`` names), so IAM checks it as AWS does.
https://docs.aws.amazon.com/step-functions/latest/dg/state-task.html
https://docs.aws.amazon.com/step-functions/latest/dg/connect-to-resource.html
"""

from __future__ import annotations

import base64
import hashlib
import logging
from collections.abc import Generator
from typing import TYPE_CHECKING, Any

from windtunnel.services.stepfunctions.asl import dataflow
from windtunnel.services.stepfunctions.asl.definition import State
from windtunnel.services.stepfunctions.asl.errors import (
    DATA_LIMIT_EXCEEDED,
    HEARTBEAT_TIMEOUT,
    TIMEOUT,
    StatesError,
)
from windtunnel.services.stepfunctions.asl.execution import Execution
from windtunnel.services.stepfunctions.asl.fibers import Await, Future
from windtunnel.services.stepfunctions.asl.interpreter import PAYLOAD_LIMIT
from windtunnel.services.stepfunctions.asl.json_text import size_in_bytes, to_json
from windtunnel.services.stepfunctions.asl.payload import Scope, read_path, runtime_error
from windtunnel.services.stepfunctions.asl.resources import (
    ACTIVITY,
    LEGACY_LAMBDA,
    WAIT_FOR_TASK_TOKEN,
    Resource,
    parse_resource,
)
from windtunnel.services.stepfunctions.integrations import Submitted

if TYPE_CHECKING:
    from windtunnel.services.stepfunctions.asl.interpreter import Interpreter, Track
    from windtunnel.services.stepfunctions.engine import Engine

__all__ = ["Tasks"]

logger = logging.getLogger(__name__)


class Tasks:
    """Runs Task states for the engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def run_task(self, interpreter: Interpreter, execution: Execution, track: Track,
                 state: State, scope: Scope, raw_input: Any) -> Generator[Any, Any, Any]:
        """Record the task's events, call the resource (or its mock) and await it."""
        resource = parse_resource(str(state.get("Resource")))
        if resource is None:
            raise runtime_error(scope, f"The resource {state.get('Resource')!r} is not a "
                                       f"resource Step Functions can call")
        timeout = self._seconds(state, scope, raw_input, "TimeoutSeconds")
        heartbeat = self._seconds(state, scope, raw_input, "HeartbeatSeconds")

        token = None
        if resource.pattern == WAIT_FOR_TASK_TOKEN or resource.kind == ACTIVITY:
            token = self.engine.new_task_token(execution, state.name)
            scope.context["Task"] = {"Token": token.token}
        arguments = dataflow.effective_input(state, raw_input, scope)

        if resource.kind == LEGACY_LAMBDA:
            self._lambda_function_scheduled(interpreter, track, resource, arguments, timeout)
        elif resource.kind == ACTIVITY:
            self._activity_scheduled(interpreter, track, resource, arguments, timeout, heartbeat)
        else:
            details: dict[str, Any] = {
                "resourceType": resource.service, "resource": resource.history_resource,
                "region": interpreter.region, "parameters": to_json(arguments)}
            if timeout is not None:
                details["timeoutInSeconds"] = int(timeout)
            if heartbeat is not None:
                details["heartbeatInSeconds"] = int(heartbeat)
            interpreter._event(track, "TaskScheduled", details)

        try:
            result = yield from self._perform(
                interpreter, execution, track, state, resource, arguments, token, timeout,
                heartbeat, self._credentials_role(state, scope, raw_input))
            # An oversized result fails the task itself, before ResultSelector.
            if size_in_bytes(to_json(result)) > PAYLOAD_LIMIT:
                raise StatesError(DATA_LIMIT_EXCEEDED, (
                    f"The state/task '{state.name}' returned a result with a size exceeding "
                    f"the maximum number of bytes service limit."))
        except StatesError as error:
            self._failed(interpreter, track, resource, error)
            raise
        finally:
            if token is not None:
                self.engine.forget_task_token(token.token)
        self._succeeded(interpreter, track, resource, result)
        return result

    def call_service(self, execution: Execution, service: str, operation: str,
                     parameters: dict[str, Any]) -> dict[str, Any]:
        """Call a service operation as the state machine's role; the raw response."""
        return self.engine.integrations.call_operation(
            execution, execution.state_machine.role_arn, service, operation, parameters)

    def _perform(self, interpreter: Interpreter, execution: Execution, track: Track,
                 state: State, resource: Resource, arguments: Any, token: Any,
                 timeout: float | None, heartbeat: float | None,
                 credentials_role: str | None) -> Generator[Any, Any, Any]:
        mocked = self._mocked(execution, state)
        if resource.kind != ACTIVITY:
            started: dict[str, Any] | None = (
                None if resource.kind == LEGACY_LAMBDA else
                {"resourceType": resource.service, "resource": resource.history_resource})
            interpreter._event(track, "LambdaFunctionStarted" if started is None
                               else "TaskStarted", started)
        if mocked is not None:
            # A mocked response stands for the whole task, callbacks and jobs included,
            # as in Step Functions Local.
            if mocked.error is not None:
                raise StatesError(mocked.error, mocked.cause or "")
            return mocked.result

        if resource.kind == ACTIVITY:
            result = yield from self._activity(interpreter, execution, track, resource,
                                               arguments, token, timeout, heartbeat)
            return result

        outcome = self.engine.integrations.call(execution, resource, arguments,
                                                role_arn=credentials_role)
        if isinstance(outcome, Submitted):
            interpreter._event(track, "TaskSubmitted", {
                "resourceType": resource.service, "resource": resource.history_resource,
                "output": to_json(outcome.output), "outputDetails": {"truncated": False}})
            result = yield self._await(outcome.future, timeout, heartbeat)
            return result
        if resource.pattern == WAIT_FOR_TASK_TOKEN:
            interpreter._event(track, "TaskSubmitted", {
                "resourceType": resource.service, "resource": resource.history_resource,
                "output": to_json(outcome), "outputDetails": {"truncated": False}})
            result = yield self._await(token.future, timeout, heartbeat)
            return result
        return outcome

    def _activity(self, interpreter: Interpreter, execution: Execution, track: Track,
                  resource: Resource, arguments: Any, token: Any, timeout: float | None,
                  heartbeat: float | None) -> Generator[Any, Any, Any]:
        started = self.engine.activities.enqueue(resource.arn, token, to_json(arguments))
        worker = yield Await(started)
        interpreter._event(track, "ActivityStarted", {"workerName": worker or ""})
        result = yield self._await(token.future, timeout, heartbeat)
        return result

    @staticmethod
    def _await(future: Future, timeout: float | None, heartbeat: float | None) -> Await:
        return Await(future, timeout=timeout, heartbeat=heartbeat,
                     timeout_error=lambda: StatesError(TIMEOUT, ""),
                     heartbeat_error=lambda: StatesError(HEARTBEAT_TIMEOUT, ""))

    def _mocked(self, execution: Execution, state: State) -> Any:
        if execution.mocks is None or not execution.mocks.mocks(state.name):
            return None
        from windtunnel.services.stepfunctions.mocks import MockConfigError

        number = execution.next_mock_invocation(state.name)
        try:
            response = execution.mocks.response(state.name, number)
        except MockConfigError as error:
            raise StatesError("States.Runtime", str(error)) from None
        if response is None:
            raise StatesError("States.Runtime", (
                f"The mock configuration for the test case '{execution.test_case}' has no "
                f"response for invocation {number} of the state '{state.name}'"))
        return response

    @staticmethod
    def _credentials_role(state: State, scope: Scope, raw_input: Any) -> str | None:
        """The role the Task's Credentials field names, if any.
        https://docs.aws.amazon.com/step-functions/latest/dg/concepts-access-cross-acct-resources.html
        """
        credentials = state.get("Credentials")
        if not isinstance(credentials, dict):
            return None
        if state.jsonata:
            credentials = dataflow.jsonata_value(credentials, scope,
                                                 dataflow.jsonata_states(raw_input, scope))
        if "RoleArn.$" in credentials:
            return str(read_path(credentials["RoleArn.$"], raw_input, scope))
        role = credentials.get("RoleArn")
        return str(role) if role is not None else None

    def _seconds(self, state: State, scope: Scope, raw_input: Any, name: str) -> float | None:
        value = state.get(name)
        if state.has(name + "Path"):
            value = read_path(state.get(name + "Path"), raw_input, scope)
        elif state.jsonata and isinstance(value, str):
            value = dataflow.jsonata_value(value, scope,
                                           dataflow.jsonata_states(raw_input, scope))
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise runtime_error(scope, f"The {name} value must be a positive integer, "
                                       f"not {to_json(value)}")
        return float(value)

    # --- history ---------------------------------------------------------------

    @staticmethod
    def _lambda_function_scheduled(interpreter: Interpreter, track: Track, resource: Resource,
                                   arguments: Any, timeout: float | None) -> None:
        details: dict[str, Any] = {"resource": resource.arn, "input": to_json(arguments),
                                   "inputDetails": {"truncated": False}}
        if timeout is not None:
            details["timeoutInSeconds"] = int(timeout)
        interpreter._event(track, "LambdaFunctionScheduled", details)

    @staticmethod
    def _activity_scheduled(interpreter: Interpreter, track: Track, resource: Resource,
                            arguments: Any, timeout: float | None,
                            heartbeat: float | None) -> None:
        details: dict[str, Any] = {"resource": resource.arn, "input": to_json(arguments),
                                   "inputDetails": {"truncated": False}}
        if timeout is not None:
            details["timeoutInSeconds"] = int(timeout)
        if heartbeat is not None:
            details["heartbeatInSeconds"] = int(heartbeat)
        interpreter._event(track, "ActivityScheduled", details)

    @staticmethod
    def _failed(interpreter: Interpreter, track: Track, resource: Resource,
                error: StatesError) -> None:
        details: dict[str, Any] = {"error": error.error, "cause": error.cause}
        timed_out = error.error in (TIMEOUT, HEARTBEAT_TIMEOUT)
        if resource.kind == LEGACY_LAMBDA:
            event = "LambdaFunctionTimedOut" if timed_out else "LambdaFunctionFailed"
        elif resource.kind == ACTIVITY:
            event = "ActivityTimedOut" if timed_out else "ActivityFailed"
        else:
            event = "TaskTimedOut" if timed_out else "TaskFailed"
            details = {"resourceType": resource.service,
                       "resource": resource.history_resource, **details}
        interpreter._event(track, event, details)

    @staticmethod
    def _succeeded(interpreter: Interpreter, track: Track, resource: Resource,
                   result: Any) -> None:
        output = {"output": to_json(result), "outputDetails": {"truncated": False}}
        if resource.kind == LEGACY_LAMBDA:
            interpreter._event(track, "LambdaFunctionSucceeded", output)
        elif resource.kind == ACTIVITY:
            interpreter._event(track, "ActivitySucceeded", output)
        else:
            interpreter._event(track, "TaskSucceeded", {
                "resourceType": resource.service, "resource": resource.history_resource,
                **output})


def new_token_text(execution_arn: str, state_name: str, number: int) -> str:
    """An opaque task token, unique per execution, state and count."""
    digest = hashlib.sha512(f"{execution_arn}|{state_name}|{number}".encode()).digest()
    return base64.b64encode(digest * 3).decode()

