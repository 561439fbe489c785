"""JSONPath data flow: processing order, null paths, the context object and variables.

Recorded cases come from AWS responses kept in LocalStack's test suite (Apache-2.0), named
by their path under ``tests/aws/services/stepfunctions/v2/`` in github.com/localstack/localstack
and the test id; the others cite the developer guide pages named in each case.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conformance.stepfunctions.machines import Machines, single, task

DG = "https://docs.aws.amazon.com/step-functions/latest/dg"
FILTERING = f"{DG}/concepts-input-output-filtering.html"
PARAMETERS = f"{DG}/input-output-inputpath-params.html"
RESULT_PATH = f"{DG}/input-output-resultpath.html"
CONTEXT_DOCS = f"{DG}/input-output-contextobject.html"
VARIABLES = f"{DG}/workflow-variables.html"
BASE = "base/test_base.snapshot.json"
ASSIGN = "assign/test_assign_reference_variables.snapshot.json"
ASSIGN_BASE = "assign/test_assign_base.snapshot.json"


@pytest.fixture(scope="module")
def sfn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Machines]:
    with Machines.start(tmp_path_factory.mktemp("jsonpath")) as machines:
        yield machines


# --- Processing order -------------------------------------------------------------------

def test_processing_order(sfn: Machines) -> None:
    """InputPath, then Parameters, the task, ResultSelector, ResultPath and OutputPath
    (FILTERING)."""
    state = task(InputPath="$.order", Parameters={"id.$": "$.id", "fixed": "x"},
                 ResultSelector={"total.$": "$.Payload.total"},
                 ResultPath="$.priced", OutputPath="$.priced")
    execution_input = {"order": {"id": 7, "items": 3}, "other": True}

    result = sfn.run(single(state, "Work"), execution_input,
                     mocks={"Work": {"Return": {"Payload": {"total": 30}, "StatusCode": 200}}})

    assert result.status == "SUCCEEDED", (result.error, result.cause)
    scheduled = result.events("TaskScheduled")[0]["taskScheduledEventDetails"]
    assert json.loads(scheduled["parameters"]) == {"id": 7, "fixed": "x"}
    assert result.output == {"total": 30}


def test_result_path_into_raw_input(sfn: Machines) -> None:
    """ResultPath writes into the state's raw input, not into what InputPath selected
    (RESULT_PATH)."""
    state = task(InputPath="$.order", ResultPath="$.result")

    result = sfn.run(single(state, "Work"), {"order": {"id": 1}, "keep": 2},
                     mocks={"Work": {"Return": "ok"}})

    assert result.output == {"order": {"id": 1}, "keep": 2, "result": "ok"}


NULL_PATHS = [
    # state fields, execution input, expected output, source
    ({"InputPath": None}, {"a": 1}, {}, f"{BASE} test_state_pass_result_null_input_output_paths"),
    ({"OutputPath": None}, {"a": 1}, {}, f"{BASE} test_state_pass_result_null_input_output_paths"),
    ({"Result": "r", "ResultPath": None}, {"a": 1}, {"a": 1}, RESULT_PATH),
    ({"Result": "r", "ResultPath": "$"}, {"a": 1}, "r", RESULT_PATH),
    ({"InputPath": "$"}, {"a": 1}, {"a": 1}, FILTERING),
    ({"OutputPath": "$.a"}, {"a": 1}, 1, FILTERING),
]


@pytest.mark.parametrize(("fields", "execution_input", "expected", "source"), NULL_PATHS)
def test_null_and_root_paths(sfn: Machines, fields: dict[str, Any], execution_input: Any,
                             expected: Any, source: str) -> None:
    """A null InputPath or OutputPath gives {}; a null ResultPath keeps the input."""
    result = sfn.run(single({"Type": "Pass", **fields}), execution_input)

    assert result.output == expected, source


@pytest.mark.parametrize(("fields", "detail", "source"), [
    ({"InputPath": "$.NoSuchInputPath"},
     "Invalid path '$.NoSuchInputPath' : No results for path: $['NoSuchInputPath']",
     "scenarios/test_base_scenarios.snapshot.json "
     "test_invalid_jsonpath[ST.INVALID_JSONPATH_IN_INPUTPATH]"),
    ({"OutputPath": "$.NoSuchOutputPath"},
     "Invalid path '$.NoSuchOutputPath' : No results for path: $['NoSuchOutputPath']",
     "scenarios/test_base_scenarios.snapshot.json "
     "test_invalid_jsonpath[ST.INVALID_JSONPATH_IN_OUTPUTPATH]"),
    ({"OutputPath": "$.no.such.path"},
     "Invalid path '$.no.such.path' : Missing property in path $['no']",
     "scenarios/test_base_scenarios.snapshot.json test_catch_states_runtime"),
])
def test_missing_path_fails(sfn: Machines, fields: dict[str, Any], detail: str,
                            source: str) -> None:
    """A definite path that selects nothing fails the state with States.Runtime."""
    result = sfn.run(single({"Type": "Pass", **fields}, "State_1"), {})

    assert result.status == "FAILED", source
    assert result.error == "States.Runtime", source
    assert result.cause == ("An error occurred while executing the state 'State_1' (entered "
                            f"at the event id #2). {detail}"), source


def test_parameters_path_missing(sfn: Machines) -> None:
    """A Parameters path that selects nothing names the field and the input (PARAMETERS)."""
    definition = single({"Type": "Pass", "Parameters": {"x.$": "$.missing"}}, "State_1")

    result = sfn.run(definition, {"a": 1})

    assert result.status == "FAILED"
    assert result.error == "States.Runtime"
    assert result.cause == ("An error occurred while executing the state 'State_1' (entered at "
                            "the event id #2). The JSONPath '$.missing' specified for the field "
                            "'x.$' could not be found in the input '{\"a\":1}'")


@pytest.mark.parametrize(("template", "execution_input", "expected"), [
    ({"nested": {"list": [1, {"deep.$": "$.a"}]}}, {"a": 5},
     {"nested": {"list": [1, {"deep": 5}]}}),
    ({"all.$": "$"}, [1, 2], {"all": [1, 2]}),
    ({"filtered.$": "$.items[?(@.n > 1)].n"}, {"items": [{"n": 1}, {"n": 2}, {"n": 3}]},
     {"filtered": [2, 3]}),
    ({"format.$": "States.Format('{} and {}', $.a, $.b)"}, {"a": 1, "b": "two"},
     {"format": "1 and two"}),
])
def test_parameters_templates(sfn: Machines, template: dict[str, Any], execution_input: Any,
                              expected: Any) -> None:
    """Parameters evaluate ``.$`` keys at every depth, with paths or intrinsics (PARAMETERS)."""
    result = sfn.run(single({"Type": "Pass", "Parameters": template}), execution_input)

    assert result.output == expected


# --- Context object ---------------------------------------------------------------------

def test_context_object(sfn: Machines) -> None:
    """$$ holds Execution, StateMachine and State (BASE test_query_context_object_values)."""
    definition = single({"Type": "Pass", "ResultPath": "$.query_values_1", "Parameters": {
        "execution_input.$": "$$.Execution.Input",
        "execution_id.$": "$$.Execution.Id",
        "execution_name.$": "$$.Execution.Name",
        "execution_rolearn.$": "$$.Execution.RoleArn",
        "execution_starttime.$": "$$.Execution.StartTime",
        "state_name.$": "$$.State.Name",
        "state_enteredtime.$": "$$.State.EnteredTime",
        "statemachine_id.$": "$$.StateMachine.Id",
        "statemachine_name.$": "$$.StateMachine.Name",
    }}, "QueryValues1")
    arn = sfn.create(definition)

    result = sfn.run(definition, {"message": "TestMessage"})

    values = result.output["query_values_1"]
    assert values["execution_input"] == {"message": "TestMessage"}
    assert values["execution_id"] == result.execution_arn
    assert values["execution_name"] == result.execution_arn.rsplit(":", 1)[1]
    assert values["execution_rolearn"] == sfn.role_arn
    assert values["state_name"] == "QueryValues1"
    assert values["statemachine_id"] == arn
    assert values["statemachine_name"] == arn.rsplit(":", 1)[1]
    for name in ("execution_starttime", "state_enteredtime"):
        moment = datetime.datetime.strptime(values[name], "%Y-%m-%dT%H:%M:%S.%fZ")
        assert moment.year >= 2000, name


def test_context_state_of_pass(sfn: Machines) -> None:
    """$$.State of a Pass state is Name and EnteredTime (BASE
    test_query_context_object_values)."""
    definition = single({"Type": "Pass", "Parameters": {"state.$": "$$.State"}})

    result = sfn.run(definition, {})

    assert set(result.output["state"]) == {"Name", "EnteredTime"}


def test_context_execution_keys(sfn: Machines) -> None:
    """$$.Execution has Id, Input, Name, RoleArn, StartTime and RedriveCount (BASE
    test_query_context_object_values)."""
    result = sfn.run(single({"Type": "Pass", "Parameters": {"e.$": "$$.Execution"}}), {"x": 1})

    assert set(result.output["e"]) == {"Id", "Input", "Name", "RoleArn", "StartTime",
                                       "RedriveCount"}
    assert result.output["e"]["RedriveCount"] == 0


@pytest.mark.parametrize(("fields", "expected", "source"), [
    ({"InputPath": "$$.Execution.Input"}, {"k": "v"},
     "context_object/test_context_object.snapshot.json test_input_path[$$.Execution.Input]"),
    ({"OutputPath": "$$.Execution.Input"}, {"k": "v"},
     "context_object/test_context_object.snapshot.json test_output_path[$$.Execution.Input]"),
    ({"Parameters": {"name.$": "$$.State.Name"}}, {"name": "State"}, CONTEXT_DOCS),
])
def test_context_in_paths(sfn: Machines, fields: dict[str, Any], expected: Any,
                          source: str) -> None:
    """InputPath, OutputPath and Parameters can read the context object."""
    result = sfn.run(single({"Type": "Pass", **fields}), {"k": "v"})

    assert result.output == expected, source


# --- Variables in JSONPath states -------------------------------------------------------

def test_assign_evaluation_order(sfn: Machines) -> None:
    """Paths of a state read variables as they were before its own Assign (ASSIGN
    test_state_assign_evaluation_order[BASE_EVALUATION_ORDER_PASS_STATE])."""
    definition = {
        "StartAt": "State0",
        "States": {
            "State0": {
                "Type": "Pass",
                "Result": {"theQuestion": "What is the answer?"},
                "Assign": {"question.$": "$.theQuestion", "answer": 42},
                "Next": "State1",
            },
            "State1": {
                "Type": "Pass", "InputPath": "$answer", "ResultPath": "$.theAnswer",
                "OutputPath": "$answer", "Assign": {"answer": "<omitted>"}, "End": True,
            },
        },
    }

    result = sfn.run(definition, {})

    assert result.status == "SUCCEEDED", (result.error, result.cause)
    assert result.output == 42
    exits = result.events("PassStateExited")
    assert exits[0]["stateExitedEventDetails"]["assignedVariables"] == {
        "answer": "42", "question": '"What is the answer?"'}
    assert exits[1]["stateExitedEventDetails"]["assignedVariables"] == {
        "answer": '"<omitted>"'}


@pytest.mark.parametrize(("execution_input", "status", "source"), [
    ({"input_value": 42}, "CORRECT", f"{ASSIGN} test_assign_in_choice_state[CORRECT]"),
    ({"input_value": 41}, "INCORRECT", f"{ASSIGN} test_assign_in_choice_state[INCORRECT]"),
    ({}, "UNKNOWN", VARIABLES),
])
def test_assign_in_choice(sfn: Machines, execution_input: Any, status: str,
                          source: str) -> None:
    """A Choice rule's Assign applies when it matches; the state's Assign with Default."""
    definition = {
        "StartAt": "CheckInputState",
        "States": {
            "CheckInputState": {
                "Type": "Choice",
                "Choices": [
                    {"Variable": "$.input_value", "IsPresent": False,
                     "Assign": {"status": "UNKNOWN"}, "Next": "FinalState"},
                    {"Variable": "$.input_value", "NumericEquals": 42,
                     "Assign": {"status": "CORRECT"}, "Next": "FinalState"},
                ],
                "Assign": {"status": "INCORRECT", "guess.$": "$.input_value"},
                "Default": "FinalState",
            },
            "FinalState": {"Type": "Pass", "Parameters": {"result.$": "$status"}, "End": True},
        },
    }

    result = sfn.run(definition, execution_input)

    assert result.output == {"result": status}, source


def test_assign_literals_stay_literal(sfn: Machines) -> None:
    """Without ``.$`` an Assign value is a literal, even when it looks like a path (ASSIGN_BASE
    test_base_cases[BASE_VAR])."""
    definition = single({"Type": "Pass", "Assign": {
        "path": "$.no.such.path", "var": "$noSuchVar", "context": "$$",
        "intrinsic": "States.Format('{}', $varname)", "nested": {"n": None, "l": [0.1, True]},
        "varname.$": "$.input_value"}, "Next": "Read"})
    definition["States"]["Read"] = {"Type": "Pass", "End": True, "Parameters": {
        "path.$": "$path", "var.$": "$var", "context.$": "$context",
        "intrinsic.$": "$intrinsic", "nested.$": "$nested", "varname.$": "$varname"}}

    result = sfn.run(definition, {"input_value": "input_value_literal"})

    assert result.output == {"path": "$.no.such.path", "var": "$noSuchVar", "context": "$$",
                             "intrinsic": "States.Format('{}', $varname)",
                             "nested": {"n": None, "l": [0.1, True]},
                             "varname": "input_value_literal"}


def test_assign_from_task_result(sfn: Machines) -> None:
    """A Task's Assign reads the result after ResultSelector (VARIABLES)."""
    definition = single(task(ResultSelector={"v.$": "$.Payload"}, ResultPath=None,
                             Assign={"seen.$": "$.v"}, Next="Read"), "Work")
    definition["States"]["Read"] = {"Type": "Pass", "Parameters": {"seen.$": "$seen"},
                                    "End": True}

    result = sfn.run(definition, {}, mocks={"Work": {"Return": {"Payload": 9}}})

    assert result.output == {"seen": 9}


def test_undefined_variable_fails(sfn: Machines) -> None:
    """Reading a variable nobody assigned fails with States.Runtime (VARIABLES)."""
    definition = single({"Type": "Pass", "Parameters": {"x.$": "$nothing"}}, "State_1")

    result = sfn.run(definition, {})

    assert result.status == "FAILED"
    assert result.error == "States.Runtime"
