"""Step Functions operations that run executions, served by windtunnel's engine.

CreateStateMachine and UpdateStateMachine check the definition as Step Functions does
before moto stores it; ValidateStateMachineDefinition returns the same diagnostics.
Executions (StartExecution, StartSyncExecution, DescribeExecution, GetExecutionHistory,
ListExecutions, StopExecution, DescribeStateMachineForExecution), task callbacks
(SendTaskSuccess, SendTaskFailure, SendTaskHeartbeat), GetActivityTask and TestState run
on the engine. State machines, versions, aliases, activities and tags stay moto's.
https://docs.aws.amazon.com/step-functions/latest/apireference/API_Operations.html

Limitations:
    GetActivityTask answers at once (with no task when none is waiting) instead of
    holding the request for up to 60 seconds. Redrive and map runs are not emulated.
    Express executions keep their history (AWS keeps it only in logs). TestState does not
    check mocked results against the service's API model (fieldValidationMode).
"""

from __future__ import annotations

import datetime
import json
import logging
from typing import TYPE_CHECKING, Any

from windtunnel.cloud.messages import AwsRequest, AwsResponse
from windtunnel.cloud.protocols import AwsError
from windtunnel.services.stepfunctions.asl.errors import StatesError
from windtunnel.services.stepfunctions.asl.execution import Execution, StateMachineRef
from windtunnel.services.stepfunctions.asl.json_text import size_in_bytes
from windtunnel.services.stepfunctions.map_runs import MapRunRecord

if TYPE_CHECKING:
    from windtunnel.services.stepfunctions.engine import Engine

__all__ = ["StepFunctionsProvider"]

logger = logging.getLogger(__name__)

_JSON = {"Content-Type": "application/x-amz-json-1.0"}

# Execution input and task output may hold at most 256 KiB.
# https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html
_PAYLOAD_LIMIT = 262_144

# StartSyncExecution stops waiting after the five minutes an Express execution may run.
_EXPRESS_DURATION = 300.0


class StepFunctionsProvider:
    """Runs executions on the engine; leaves state machine management to moto."""

    service = "states"

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def handle(self, request: AwsRequest) -> AwsResponse | None:
        """Handle the operations the engine owns; return None for moto's."""
        operation = request.operation
        method = getattr(self, _snake(operation or ""), None)
        if method is None or operation not in _OPERATIONS:
            return None
        parameters = _json_body(request)
        result = method(parameters)
        if result is None:
            return None
        return AwsResponse(200, dict(_JSON), json.dumps(result, default=_default).encode())

    # --- definitions -----------------------------------------------------------------

    def create_state_machine(self, parameters: dict[str, Any]) -> None:
        """CreateStateMachine: reject an invalid definition; moto stores a valid one."""
        self._check_definition(parameters.get("definition"), parameters.get("type", "STANDARD"))

    def update_state_machine(self, parameters: dict[str, Any]) -> None:
        """UpdateStateMachine: reject an invalid definition; moto stores a valid one."""
        if "definition" in parameters:
            self._check_definition(parameters.get("definition"), "STANDARD")

    def validate_state_machine_definition(self, parameters: dict[str, Any]) -> dict[str, Any]:
        """ValidateStateMachineDefinition: the diagnostics of the definition."""
        from windtunnel.services.stepfunctions.asl.validation import validate_definition

        diagnostics = validate_definition(str(parameters.get("definition", "")),
                                          state_machine_type=parameters.get("type", "STANDARD"))
        limit = int(parameters.get("maxResults") or 100)
        errors = [item for item in diagnostics if item.severity == "ERROR"]
        shown = diagnostics[:limit]
        return {
            "result": "FAIL" if errors else "OK",
            "diagnostics": [{key: value for key, value in (
                ("severity", item.severity), ("code", item.code), ("message", item.message),
                ("location", item.location)) if value is not None} for item in shown],
            "truncated": len(diagnostics) > len(shown),
        }

    def _check_definition(self, definition: Any, machine_type: str) -> None:
        from windtunnel.services.stepfunctions.asl.validation import (
            invalid_definition_message,
            validate_definition,
        )

        diagnostics = validate_definition(str(definition or ""),
                                          state_machine_type=str(machine_type))
        if any(item.severity == "ERROR" for item in diagnostics):
            raise AwsError("InvalidDefinition", invalid_definition_message(diagnostics))

    # --- versions ------------------------------------------------------------------

    def publish_state_machine_version(self, parameters: dict[str, Any]) -> dict[str, Any]:
        """PublishStateMachineVersion: a version of the current revision.

        Publishing a revision that already has a version returns that version.
        https://docs.aws.amazon.com/step-functions/latest/apireference/API_PublishStateMachineVersion.html
        """
        machine = self._moto_state_machine(str(parameters.get("stateMachineArn", "")))
        latest = machine.latest_version
        if latest is None or latest.definition != machine.definition or \
                latest.roleArn != machine.roleArn:
            machine.publish(parameters.get("description"))
            latest = machine.latest_version
        return {"creationDate": _created(latest), "stateMachineVersionArn": latest.arn}

    def list_state_machine_versions(self, parameters: dict[str, Any]) -> dict[str, Any]:
        """ListStateMachineVersions, newest first."""
        machine = self._moto_state_machine(str(parameters.get("stateMachineArn", "")))
        versions = [{"stateMachineVersionArn": version.arn, "creationDate": _created(version)}
                    for _, version in sorted(machine.versions.items(), reverse=True)]
        return _page(versions, "stateMachineVersions", parameters, default_size=100,
                     limit=1000)

    def _moto_state_machine(self, arn: str) -> Any:
        from moto.stepfunctions.models import stepfunctions_backends

        self.engine.state_machine_ref(arn)
        parts = arn.split(":")
        return stepfunctions_backends[parts[4]][parts[3]].describe_state_machine(arn)

    # --- executions ------------------------------------------------------------------

    def start_execution(self, parameters: dict[str, Any]) -> dict[str, Any]:
        """StartExecution: create the execution and run it until it first waits."""
        execution = self._new_execution(parameters, express_only=False)
        self.engine.start(execution)
        return {"executionArn": execution.arn, "startDate": execution.start_date}

    def start_sync_execution(self, parameters: dict[str, Any]) -> dict[str, Any]:
        """StartSyncExecution: run an Express execution to its end and return it."""
        execution = self._new_execution(parameters, express_only=True)
        self.engine.start(execution)
        self.engine.wait_for(execution, _EXPRESS_DURATION)
        description = self._describe(execution)
        description.pop("redriveCount", None)
        description.pop("redriveStatus", None)
        description["billingDetails"] = {
            "billedMemoryUsedInMB": 64,
            "billedDurationInMilliseconds": max(100, int(
                ((execution.stop_date or execution.start_date) -
                 execution.start_date).total_seconds() * 1000)),
        }
        return description

    def describe_execution(self, parameters: dict[str, Any]) -> dict[str, Any]:
        """DescribeExecution."""
        return self._describe(self._execution(parameters.get("executionArn")))

    def describe_state_machine_for_execution(self, parameters: dict[str, Any]) -> dict[str, Any]:
        """DescribeStateMachineForExecution: the definition the execution runs."""
        execution = self._execution(parameters.get("executionArn"))
        machine = execution.state_machine
        return {
            "stateMachineArn": machine.arn,
            "name": machine.name,
            "definition": machine.definition.text,
            "roleArn": machine.role_arn,
            "updateDate": execution.start_date,
        }

    def get_execution_history(self, parameters: dict[str, Any]) -> dict[str, Any]:
        """GetExecutionHistory: the events, oldest first unless reverseOrder."""
        execution = self._execution(parameters.get("executionArn"))
        events = [event.to_api() for event in execution.history.events]
        if parameters.get("includeExecutionData") is False:
            for event in events:
                for member in list(event):
                    if member.endswith("EventDetails") and isinstance(event[member], dict):
                        for data_key in ("input", "output", "parameters", "inputDetails",
                                         "outputDetails"):
                            event[member].pop(data_key, None)
        if parameters.get("reverseOrder"):
            events.reverse()
        return _page(events, "events", parameters, default_size=100, limit=1000)

    def list_executions(self, parameters: dict[str, Any]) -> dict[str, Any]:
        """ListExecutions of a state machine (or version, alias or map run), newest first."""
        machine_arn = parameters.get("stateMachineArn")
        map_run_arn = parameters.get("mapRunArn")
        status = parameters.get("statusFilter")
        if map_run_arn is not None:
            record = self._map_run(map_run_arn)
            candidates = list(record.children)
        elif machine_arn is not None:
            self.engine.state_machine_ref(str(machine_arn))
            candidates = [execution for execution in self.engine.executions.values()
                          if execution.map_run_arn is None
                          and _listed_under(execution, str(machine_arn))]
        else:
            raise AwsError("ValidationException",
                           "Either stateMachineArn or mapRunArn must be specified")
        executions = [execution for execution in candidates
                      if status is None or execution.status == status]
        executions.sort(key=lambda execution: execution.start_date, reverse=True)
        entries = [{
            "executionArn": execution.arn,
            "stateMachineArn": execution.state_machine.arn,
            "name": execution.name,
            "status": execution.status,
            "startDate": execution.start_date,
            **({"stopDate": execution.stop_date} if execution.stop_date else {}),
            "redriveCount": 0,
        } for execution in executions]
        return _page(entries, "executions", parameters, default_size=100, limit=1000)

    def stop_execution(self, parameters: dict[str, Any]) -> dict[str, Any]:
        """StopExecution: abort a running execution."""
        execution = self._execution(parameters.get("executionArn"))
        if execution.running:
            self.engine.stop(execution, parameters.get("error"), parameters.get("cause"))
        return {"stopDate": execution.stop_date or self.engine.clock.now()}

    def describe_map_run(self, parameters: dict[str, Any]) -> dict[str, Any]:
        """DescribeMapRun: a Distributed Map run's status and counts."""
        return self._map_run(parameters.get("mapRunArn")).describe()

    def list_map_runs(self, parameters: dict[str, Any]) -> dict[str, Any]:
        """ListMapRuns of an execution."""
        execution = self._execution(parameters.get("executionArn"))
        runs = [{"executionArn": record.execution_arn, "mapRunArn": record.arn,
                 "stateMachineArn": execution.state_machine.arn,
                 "startDate": record.start_date,
                 **({"stopDate": record.stop_date} if record.stop_date else {})}
                for record in self.engine.map_runs.of_execution(execution.arn)]
        return _page(runs, "mapRuns", parameters, default_size=100, limit=1000)

    def _map_run(self, arn: Any) -> MapRunRecord:
        record = self.engine.map_runs.records.get(str(arn))
        if record is None:
            raise AwsError("ResourceNotFound", f"Resource not found: '{arn}'")
        return record

    # --- callbacks -----------------------------------------------------------------

    def send_task_success(self, parameters: dict[str, Any]) -> dict[str, Any]:
        """SendTaskSuccess: the waiting task succeeds with ``output``."""
        token = self._token(parameters.get("taskToken"))
        text = str(parameters.get("output", ""))
        try:
            output = json.loads(text)
        except ValueError:
            raise AwsError("InvalidOutput",
                           f"Invalid Output: '{text[:100]}' is not valid JSON") from None
        if size_in_bytes(text) > _PAYLOAD_LIMIT:
            raise AwsError("InvalidOutput", "Invalid Output: the output exceeds 262144 bytes")
        self.engine.run(lambda: token.future.resolve(output), description="task succeeded")
        return {}

    def send_task_failure(self, parameters: dict[str, Any]) -> dict[str, Any]:
        """SendTaskFailure: the waiting task fails with ``error`` and ``cause``."""
        token = self._token(parameters.get("taskToken"))
        error = StatesError(str(parameters.get("error") or ""), str(parameters.get("cause") or ""))
        self.engine.run(lambda: token.future.reject(error), description="task failed")
        return {}

    def send_task_heartbeat(self, parameters: dict[str, Any]) -> dict[str, Any]:
        """SendTaskHeartbeat: the waiting task is alive; its heartbeat timeout restarts."""
        token = self._token(parameters.get("taskToken"))
        self.engine.run(token.future.heartbeat, description="task heartbeat")
        return {}

    def get_activity_task(self, parameters: dict[str, Any]) -> dict[str, Any]:
        """GetActivityTask: the oldest waiting task of the activity, if any."""
        activity_arn = str(parameters.get("activityArn", ""))
        taken: list[Any] = []
        self.engine.run(lambda: taken.append(self.engine.activities.take(
            activity_arn, parameters.get("workerName"))), description="get activity task")
        task = taken[0] if taken else None
        if task is None:
            return {}
        return {"taskToken": task.token.token, "input": task.input}

    def test_state(self, parameters: dict[str, Any]) -> dict[str, Any]:
        """TestState: run one state once and lay out its data-processing steps."""
        from windtunnel.services.stepfunctions.state_testing import test_state

        return test_state(self.engine, parameters)

    # --- helpers -----------------------------------------------------------------------

    def _new_execution(self, parameters: dict[str, Any], *, express_only: bool) -> Execution:
        from windtunnel.services.stepfunctions.mocks import MockConfigError, split_test_case

        requested = str(parameters.get("stateMachineArn", ""))
        machine_arn, test_case = split_test_case(requested)
        machine = self.engine.state_machine_ref(machine_arn)
        if express_only and machine.type != "EXPRESS":
            raise AwsError("StateMachineTypeNotSupported",
                           "This operation is not supported by this type of state machine")

        input_text = parameters.get("input")
        input_text = "{}" if input_text is None else str(input_text)
        try:
            input_value = json.loads(input_text)
        except ValueError as error:
            raise AwsError("InvalidExecutionInput",
                           f"Invalid State Machine Execution Input: '{error}'") from None
        if size_in_bytes(input_text) > _PAYLOAD_LIMIT:
            raise AwsError("InvalidExecutionInput",
                           "Invalid State Machine Execution Input: the input exceeds "
                           "262144 bytes")

        name = parameters.get("name")
        if name is not None:
            existing = self._existing(machine, str(name))
            if existing is not None:
                if existing.running and existing.input_text == input_text and \
                        machine.type == "STANDARD":
                    return existing
                raise AwsError("ExecutionAlreadyExists",
                               f"Execution Already Exists: '{existing.arn}'")
        try:
            return self.engine.new_execution(machine, name=name, input_value=input_value,
                                             input_text=input_text, test_case=test_case)
        except MockConfigError as error:
            raise AwsError("InvalidName", str(error)) from None

    def _existing(self, machine: StateMachineRef, name: str) -> Execution | None:
        for execution in self.engine.executions.values():
            if execution.name == name and \
                    execution.state_machine.arn.split(":")[6] == machine.arn.split(":")[6]:
                return execution
        return None

    def _execution(self, arn: Any) -> Execution:
        try:
            return self.engine.execution(str(arn))
        except KeyError:
            parts = str(arn).split(":")
            if len(parts) < 8 or parts[5] not in ("execution", "express"):
                raise AwsError("InvalidArn", f"Invalid Arn: 'Resource type not valid in this "
                                             f"context: {parts[5] if len(parts) > 5 else ''}'"
                               ) from None
            raise AwsError("ExecutionDoesNotExist",
                           f"Execution Does Not Exist: '{arn}'") from None

    def _token(self, text: Any) -> Any:
        token = self.engine.tokens.get(str(text))
        if token is None:
            if not text or len(str(text)) < 1:
                raise AwsError("InvalidToken", "Invalid Token: 'Invalid token'")
            raise AwsError("TaskTimedOut", "Task Timed Out: 'Provided task does not exist "
                                           "anymore'")
        return token

    def _describe(self, execution: Execution) -> dict[str, Any]:
        description: dict[str, Any] = {
            "executionArn": execution.arn,
            "stateMachineArn": execution.state_machine.arn,
            "name": execution.name,
            "status": execution.status,
            "startDate": execution.start_date,
            "input": execution.input_text,
            "inputDetails": {"included": True},
            "redriveCount": 0,
            "redriveStatus": "NOT_REDRIVABLE",
        }
        if execution.stop_date is not None:
            description["stopDate"] = execution.stop_date
        if execution.status == "SUCCEEDED":
            from windtunnel.services.stepfunctions.asl.json_text import to_json

            description["output"] = to_json(execution.output)
            description["outputDetails"] = {"included": True}
        if execution.error is not None:
            description["error"] = execution.error
        if execution.cause is not None:
            description["cause"] = execution.cause
        if execution.state_machine.version_arn:
            description["stateMachineVersionArn"] = execution.state_machine.version_arn
        if execution.state_machine.alias_arn:
            description["stateMachineAliasArn"] = execution.state_machine.alias_arn
        return description


_OPERATIONS = frozenset({
    "CreateStateMachine", "UpdateStateMachine", "ValidateStateMachineDefinition",
    "StartExecution", "StartSyncExecution", "DescribeExecution",
    "DescribeStateMachineForExecution", "GetExecutionHistory", "ListExecutions",
    "StopExecution", "SendTaskSuccess", "SendTaskFailure", "SendTaskHeartbeat",
    "GetActivityTask", "TestState", "PublishStateMachineVersion",
    "ListStateMachineVersions", "DescribeMapRun", "ListMapRuns",
})


def _created(instance: Any) -> Any:
    """Return a moto state machine's creation date, stored as a datetime or epoch seconds."""
    return getattr(instance, "creation_date", None) or datetime.datetime.now(datetime.UTC)


def _listed_under(execution: Execution, machine_arn: str) -> bool:
    machine = execution.state_machine
    if machine_arn in (machine.version_arn, machine.alias_arn):
        return True
    return machine.arn == machine_arn


def _page(items: list[Any], key: str, parameters: dict[str, Any], *, default_size: int,
          limit: int) -> dict[str, Any]:
    size = int(parameters.get("maxResults") or default_size)
    size = min(max(size, 1), limit)
    start = 0
    token = parameters.get("nextToken")
    if token:
        try:
            start = int(str(token))
        except ValueError:
            raise AwsError("InvalidToken", f"Invalid Token: '{token}'") from None
    page: dict[str, Any] = {key: items[start:start + size]}
    if start + size < len(items):
        page["nextToken"] = str(start + size)
    return page


def _snake(operation: str) -> str:
    return "".join(f"_{character.lower()}" if character.isupper() else character
                   for character in operation).lstrip("_")


def _json_body(request: AwsRequest) -> dict[str, Any]:
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _default(value: Any) -> Any:
    if isinstance(value, datetime.datetime):
        # moto's dates have no zone; they are UTC.
        if value.tzinfo is None:
            value = value.replace(tzinfo=datetime.UTC)
        return value.timestamp()
    raise TypeError(f"cannot serialize {type(value).__name__}")
