"""The TestState API: run one state once, with its data-processing steps laid out.

A retry is not waited for: the answer says RETRIABLE with the backoff the retrier would
use. A caught error answers CAUGHT_ERROR with the catcher's next state. Map, Parallel and
callback tasks need a mock, as on AWS.
https://docs.aws.amazon.com/step-functions/latest/apireference/API_TestState.html
https://docs.aws.amazon.com/step-functions/latest/dg/test-state-isolation.html
"""

from __future__ import annotations

import copy
import json
from typing import TYPE_CHECKING, Any

from windtunnel.cloud.protocols import AwsError
from windtunnel.services.stepfunctions.asl import dataflow
from windtunnel.services.stepfunctions.asl.definition import (
    JSONPATH,
    State,
    parse_definition,
)
from windtunnel.services.stepfunctions.asl.errors import StatesError
from windtunnel.services.stepfunctions.asl.execution import (
    Execution,
    StateMachineRef,
    iso_time,
)
from windtunnel.services.stepfunctions.asl.interpreter import matching, retry_delay
from windtunnel.services.stepfunctions.asl.json_text import to_json
from windtunnel.services.stepfunctions.asl.payload import Scope, Variables
from windtunnel.services.stepfunctions.asl.resources import (
    REQUEST_RESPONSE,
    parse_resource,
)

if TYPE_CHECKING:
    from windtunnel.services.stepfunctions.engine import Engine

__all__ = ["test_state"]

# The name TestState gives a state passed on its own.
_LONE_STATE = "TestState"
# The state a lone state's transitions lead to while its definition is checked.
_CHECK_END = "TestStateEnd"
_ROLE_PLACEHOLDER = "arn:aws:iam::123456789012:role/TestStateRole"


class _Inspection(dict[str, Any]):
    """The inspectionData member, filled as the steps run."""

    def step(self, name: str, value: Any) -> Any:
        self[name] = to_json(value)
        return value


def test_state(engine: Engine, parameters: dict[str, Any]) -> dict[str, Any]:
    """Answer a TestState request."""
    state, machine_text = _state_to_test(parameters)
    level = str(parameters.get("inspectionLevel") or "INFO")
    inspection = _Inspection()
    raw_input = _json_member(parameters, "input", "{}", "InvalidExecutionInput")
    inspection.step("input", raw_input)

    variables = Variables(values=_json_member(parameters, "variables", "{}",
                                              "ValidationException"))
    execution = _execution(engine, parameters, machine_text)
    context = execution.context_object()
    context["State"] = {"EnteredTime": iso_time(engine.clock.now()), "Name": state.name,
                        "RetryCount": int((parameters.get("stateConfiguration") or {})
                                          .get("retrierRetryCount", 0))}
    context.update(_json_member(parameters, "context", "{}", "ValidationException"))
    scope = Scope(state.name, 1, context, variables, execution.random, engine.clock.now())

    try:
        answer = _run(engine, execution, state, scope, raw_input, inspection, parameters)
    except StatesError as error:
        answer = _failed(state, scope, raw_input, error, inspection, parameters)
    if level in ("DEBUG", "TRACE"):
        if variables.values:
            inspection["variables"] = to_json(variables.values)
        answer["inspectionData"] = dict(inspection)
    return answer


def _state_to_test(parameters: dict[str, Any]) -> tuple[State, str]:
    """The state to run and a machine definition holding it, after validation."""
    from windtunnel.services.stepfunctions.asl.validation import (
        invalid_definition_message,
        validate_definition,
    )

    text = str(parameters.get("definition") or "")
    try:
        document = json.loads(text)
    except ValueError as error:
        raise AwsError("InvalidDefinition",
                       f"Invalid State Machine Definition: 'INVALID_JSON_DESCRIPTION: "
                       f"{error}'") from None
    if not isinstance(document, dict):
        raise AwsError("InvalidDefinition", "Invalid State Machine Definition: "
                                            "'SCHEMA_VALIDATION_FAILED: the definition must "
                                            "be a JSON object'")
    state_name = parameters.get("stateName")
    if "States" in document:
        machine = document
        if not state_name:
            raise AwsError("ValidationException", "stateName is required when the definition "
                                                  "is a whole state machine")
    else:
        # A lone state: the states it names are not there, so for the check they all
        # become one Succeed state.
        state_name = str(state_name or _LONE_STATE)
        checked = _pointing_to(copy.deepcopy(document), _CHECK_END)
        states: dict[str, Any] = {state_name: checked}
        if checked != document:
            states[_CHECK_END] = {"Type": "Succeed"}
        machine = {"StartAt": state_name, "States": states}
        if "QueryLanguage" in document:
            machine["QueryLanguage"] = document["QueryLanguage"]
        validation_text = json.dumps(machine)
        diagnostics = validate_definition(validation_text)
        if any(item.severity == "ERROR" for item in diagnostics):
            raise AwsError("InvalidDefinition", invalid_definition_message(diagnostics))
        machine = {"StartAt": state_name, "States": {state_name: document}}
        definition = parse_definition(json.dumps(machine))
        return definition.states[state_name], json.dumps(machine)

    machine_text = json.dumps(machine)
    diagnostics = validate_definition(machine_text)
    if any(item.severity == "ERROR" for item in diagnostics):
        raise AwsError("InvalidDefinition", invalid_definition_message(diagnostics))
    definition = parse_definition(machine_text)
    for state in definition.walk():
        if state.name == state_name:
            return state, machine_text
    raise AwsError("ValidationException",
                   f"The state {state_name!r} is not in the definition")


def _pointing_to(state: dict[str, Any], target: str) -> dict[str, Any]:
    """``state`` with every transition (Next, Default, Choices, Catch) going to ``target``."""
    if "Next" in state:
        state["Next"] = target
    if "Default" in state:
        state["Default"] = target
    for entry in (*state.get("Choices", ()), *state.get("Catch", ())):
        if isinstance(entry, dict) and "Next" in entry:
            entry["Next"] = target
    return state


def _execution(engine: Engine, parameters: dict[str, Any], machine_text: str) -> Execution:
    arn = (f"arn:aws:states:{engine.cloud.region}:{engine.cloud.account_id}:execution:"
           f"TestStateMachine:TestState")
    machine = StateMachineRef(
        arn=arn.replace(":execution:", ":stateMachine:").rsplit(":", 1)[0],
        name="TestStateMachine", definition=parse_definition(machine_text),
        role_arn=str(parameters.get("roleArn") or _ROLE_PLACEHOLDER))
    return Execution(arn=arn, name="TestState", state_machine=machine, input=None,
                     input_text="{}", start_date=engine.clock.now(), now=engine.clock.now)


def _run(engine: Engine, execution: Execution, state: State, scope: Scope, raw_input: Any,
         inspection: _Inspection, parameters: dict[str, Any]) -> dict[str, Any]:
    """Run the state once; raise StatesError for an error the state does not handle."""
    jsonpath = state.query_language == JSONPATH
    if state.type == "Fail":
        error = dataflow.jsonata_value(state.get("Error"), scope,
                                       dataflow.jsonata_states(raw_input, scope)) \
            if state.jsonata else state.get("Error")
        cause = dataflow.jsonata_value(state.get("Cause"), scope,
                                       dataflow.jsonata_states(raw_input, scope)) \
            if state.jsonata else state.get("Cause")
        return _answer("FAILED", error=error, cause=cause)

    if state.type in ("Pass", "Wait", "Succeed", "Choice"):
        return _run_flow_state(state, scope, raw_input, inspection)

    # Task, Map and Parallel: the work's result comes from the mock or the service.
    if jsonpath:
        selected = inspection.step("afterInputPath",
                                   dataflow.apply_input_path(state, raw_input, scope))
        arguments = dataflow.effective_input(state, raw_input, scope)
        if state.has("Parameters") and state.type != "Map":
            inspection.step("afterParameters", arguments)
        del selected
    else:
        arguments = inspection.step("afterArguments",
                                    dataflow.effective_input(state, raw_input, scope))
    result = _work(engine, execution, state, arguments, parameters)
    inspection.step("result", result)
    selected_result = inspection.step("afterResultSelector",
                                      dataflow.select_result(state, result, scope)) \
        if jsonpath and state.has("ResultSelector") else result
    assigned = _assign(state, scope, selected_result, raw_input)
    output = dataflow.state_output(state, raw_input, selected_result, scope)
    if jsonpath and state.has("ResultPath"):
        inspection["afterResultPath"] = to_json(output) if not state.has("OutputPath") else \
            to_json(_without_output_path(state, raw_input, selected_result, scope))
    if assigned:
        scope.variables.assign(assigned)
    return _answer("SUCCEEDED", output=output, next_state=state.next)


def _without_output_path(state: State, raw_input: Any, result: Any, scope: Scope) -> Any:
    from windtunnel.services.stepfunctions.asl.paths import write_result_path

    return write_result_path(raw_input, state.get("ResultPath"), result)


def _run_flow_state(state: State, scope: Scope, raw_input: Any,
                    inspection: _Inspection) -> dict[str, Any]:
    from windtunnel.services.stepfunctions.asl.choice import rule_matches

    jsonpath = not state.jsonata
    selected = inspection.step("afterInputPath",
                               dataflow.apply_input_path(state, raw_input, scope)) \
        if jsonpath else raw_input
    next_state = state.next
    if state.type == "Choice":
        next_state = None
        states = dataflow.jsonata_states(raw_input, scope)
        for rule in state.get("Choices", ()):
            matched = dataflow.jsonata_value(rule.get("Condition"), scope, states) is True \
                if state.jsonata else rule_matches(rule, selected, scope)
            if matched:
                next_state = str(rule["Next"])
                break
        if next_state is None:
            if not state.has("Default"):
                raise StatesError("States.NoChoiceMatched", "No Matches!")
            next_state = str(state.get("Default"))
        output = dataflow.apply_output_path(state, selected, scope) if jsonpath else raw_input
        return _answer("SUCCEEDED", output=output, next_state=next_state)

    if state.type == "Pass":
        result = selected
        if jsonpath:
            result = dataflow.effective_input(state, raw_input, scope)
            if state.has("Parameters"):
                inspection.step("afterParameters", result)
            if state.has("Result"):
                result = state.get("Result")
            inspection.step("result", result)
        assigned = _assign(state, scope, result, raw_input)
        output = dataflow.state_output(state, raw_input, result, scope)
    else:
        assigned = _assign(state, scope, raw_input, raw_input, result_key="")
        output = dataflow.state_output(state, raw_input, raw_input, scope) if state.jsonata \
            else dataflow.apply_output_path(state, selected, scope)
    if assigned:
        scope.variables.assign(assigned)
    return _answer("SUCCEEDED", output=output,
                   next_state=None if state.type == "Succeed" else next_state)


def _assign(state: State, scope: Scope, value: Any, raw_input: Any, *,
            result_key: str = "result") -> dict[str, Any]:
    if not state.has("Assign"):
        return {}
    return dataflow.evaluate_assign(state.get("Assign"), state, value, raw_input, scope,
                                    result_key=result_key)


def _work(engine: Engine, execution: Execution, state: State, arguments: Any,
          parameters: dict[str, Any]) -> Any:
    mock = parameters.get("mock")
    if isinstance(mock, dict):
        if "errorOutput" in mock:
            error_output = mock["errorOutput"] or {}
            raise StatesError(str(error_output.get("error", "")),
                              str(error_output.get("cause", "")))
        try:
            return json.loads(str(mock.get("result", "null")))
        except ValueError:
            raise AwsError("ValidationException",
                           "The mock result must be valid JSON") from None
    if state.type in ("Map", "Parallel"):
        raise AwsError("ValidationException",
                       f"TestState runs a {state.type} state only with a mock")
    resource = parse_resource(str(state.get("Resource", "")))
    if resource is None or resource.pattern != REQUEST_RESPONSE or resource.kind == "activity":
        raise AwsError("ValidationException",
                       f"TestState calls {state.get('Resource')} only with a mock: "
                       f"callbacks, jobs and activities cannot complete in one call")
    if not parameters.get("roleArn"):
        raise AwsError("ValidationException",
                       "roleArn is required when the Task state is not mocked")
    return engine.integrations.call(execution, resource, arguments,
                                    role_arn=str(parameters["roleArn"]))


def _failed(state: State, scope: Scope, raw_input: Any, error: StatesError,
            inspection: _Inspection, parameters: dict[str, Any]) -> dict[str, Any]:
    """RETRIABLE, CAUGHT_ERROR or FAILED for an error of the state's work."""
    configuration = parameters.get("stateConfiguration") or {}
    retry_count = int(configuration.get("retrierRetryCount", 0))
    retry_index, retrier = matching(state.retriers, error)
    if retrier is not None and retry_count < retrier.max_attempts:
        # TestState reports the retrier's backoff without jitter.
        delay = retry_delay(retrier, retry_count, None)
        inspection["errorDetails"] = {"retryIndex": retry_index,
                                      "retryBackoffIntervalSeconds": int(delay)}
        return _answer("RETRIABLE", error=error.error, cause=error.cause)

    catch_index, catcher = matching(state.catchers, error)
    if catcher is None:
        return _answer("FAILED", error=error.error, cause=error.cause)
    inspection["errorDetails"] = {"catchIndex": catch_index}
    error_output = {"Error": error.error, "Cause": error.cause}
    if state.jsonata:
        states = dataflow.jsonata_states(raw_input, scope, errorOutput=error_output)
        output = dataflow.jsonata_value(catcher.fields["Output"], scope, states) \
            if "Output" in catcher.fields else error_output
    else:
        from windtunnel.services.stepfunctions.asl.paths import write_result_path

        output = write_result_path(raw_input, catcher.fields.get("ResultPath", "$")
                                   if "ResultPath" in catcher.fields else "$", error_output)
    return _answer("CAUGHT_ERROR", output=output, error=error.error, cause=error.cause,
                   next_state=catcher.next)


def _answer(status: str, *, output: Any = None, error: str | None = None,
            cause: str | None = None, next_state: str | None = None) -> dict[str, Any]:
    answer: dict[str, Any] = {"status": status}
    if status in ("SUCCEEDED", "CAUGHT_ERROR"):
        answer["output"] = to_json(output)
    if error is not None:
        answer["error"] = error
    if cause is not None:
        answer["cause"] = cause
    if next_state is not None:
        answer["nextState"] = next_state
    return answer


def _json_member(parameters: dict[str, Any], name: str, default: str, code: str) -> Any:
    text = parameters.get(name)
    try:
        return json.loads(default if text is None else str(text))
    except ValueError as error:
        raise AwsError(code, f"Invalid {name}: {error}") from None
