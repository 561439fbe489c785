"""JSONata states and workflow variables run end to end: Arguments, Output, Assign and the rest.

Recorded cases come from AWS responses kept in LocalStack's test suite (Apache-2.0), named
by their path under ``tests/aws/services/stepfunctions/v2/`` in github.com/localstack/localstack
and the test id; the others cite
https://docs.aws.amazon.com/step-functions/latest/dg/transforming-data.html and
https://docs.aws.amazon.com/step-functions/latest/dg/workflow-variables.html
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conformance.stepfunctions.machines import Machines, elapsed_seconds, task

DG = "https://docs.aws.amazon.com/step-functions/latest/dg"
JSONATA = f"{DG}/transforming-data.html"
VARIABLES = f"{DG}/workflow-variables.html"
ASSIGN = "assign/test_assign_reference_variables.snapshot.json"
SCENARIOS = "scenarios/test_base_scenarios.snapshot.json"


@pytest.fixture(scope="module")
def sfn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Machines]:
    with Machines.start(tmp_path_factory.mktemp("jsonata")) as machines:
        yield machines


def _jsonata(states: dict[str, Any], start: str) -> dict[str, Any]:
    return {"QueryLanguage": "JSONata", "StartAt": start, "States": states}


def _task(**fields: Any) -> dict[str, Any]:
    """A JSONata Task calling lambda:invoke."""
    state = task(**fields)
    state.pop("Parameters")
    state.setdefault("Arguments", {"FunctionName": "worker", "Payload": "{% $states.input %}"})
    return state


def test_arguments_and_output(sfn: Machines) -> None:
    """Arguments build the task's input; Output reads $states.result (JSONATA)."""
    state = _task(Arguments={"FunctionName": "worker",
                             "Payload": {"doubled": "{% $states.input.n * 2 %}"}},
                  Output={"total": "{% $states.result.Payload.total %}",
                          "n": "{% $states.input.n %}"})

    result = sfn.run(_jsonata({"Work": state}, "Work"), {"n": 4},
                     mocks={"Work": {"Return": {"Payload": {"total": 12}}}})

    assert result.status == "SUCCEEDED", (result.error, result.cause)
    scheduled = result.events("TaskScheduled")[0]["taskScheduledEventDetails"]
    assert json.loads(scheduled["parameters"]) == {"FunctionName": "worker",
                                                   "Payload": {"doubled": 8}}
    assert result.output == {"total": 12, "n": 4}


def test_output_defaults_to_result(sfn: Machines) -> None:
    """Without Output a Task's output is its result (JSONATA)."""
    result = sfn.run(_jsonata({"Work": _task()}, "Work"), {"n": 1},
                     mocks={"Work": {"Return": {"r": 1}}})

    assert result.output == {"r": 1}


@pytest.mark.parametrize(("state", "execution_input", "expected"), [
    ({"Type": "Pass"}, {"a": 1}, {"a": 1}),
    ({"Type": "Pass", "Output": "{% $states.input.a + 1 %}"}, {"a": 1}, 2),
    ({"Type": "Pass", "Output": {"list": [1, "{% $states.input.a %}"], "text": "x"}},
     {"a": 3}, {"list": [1, 3], "text": "x"}),
    ({"Type": "Pass", "Output": "{% $states.context.State.Name %}"}, {}, "State"),
    ({"Type": "Pass", "Output": "{% $type($states.context.Execution.Input) %}"}, {"a": 1},
     "object"),
])
def test_pass_output(sfn: Machines, state: dict[str, Any], execution_input: Any,
                     expected: Any) -> None:
    """A JSONata Pass state's output is its Output, or its input without one (JSONATA)."""
    result = sfn.run(_jsonata({"State": {**state, "End": True}}, "State"), execution_input)

    assert result.status == "SUCCEEDED", (result.error, result.cause)
    assert result.output == expected


def test_undefined_output_fails(sfn: Machines) -> None:
    """An Output that evaluates to nothing fails with States.QueryEvaluationError (ASSIGN
    test_undefined_reference[BASE_UNDEFINED_OUTPUT])."""
    definition = _jsonata({"State0": {"Type": "Pass", "Output": "{% $doesNotExist %}",
                                      "End": True}}, "State0")

    result = sfn.run(definition, {})

    assert result.status == "FAILED"
    assert result.error == "States.QueryEvaluationError"
    assert result.cause == ("An error occurred while executing the state 'State0' (entered at "
                            "the event id #2). The JSONata expression '$doesNotExist' specified "
                            "for the field 'Output' returned nothing (undefined).")
    failed = result.events("EvaluationFailed")[0]["evaluationFailedEventDetails"]
    assert failed["location"] == "Output"
    assert failed["state"] == "State0"


# --- Variables --------------------------------------------------------------------------

def test_assign_sees_old_values(sfn: Machines) -> None:
    """Every Assign expression reads the values from before the state (VARIABLES: swap)."""
    definition = _jsonata({
        "Init": {"Type": "Pass", "Assign": {"x": 1, "y": 2}, "Next": "Swap"},
        "Swap": {"Type": "Pass", "Assign": {"x": "{% $y %}", "y": "{% $x %}"}, "Next": "Read"},
        "Read": {"Type": "Pass", "Output": {"x": "{% $x %}", "y": "{% $y %}"}, "End": True},
    }, "Init")

    result = sfn.run(definition, {})

    assert result.output == {"x": 2, "y": 1}


def test_output_does_not_see_own_assign(sfn: Machines) -> None:
    """A state's Output reads the variables as they were on entry (VARIABLES)."""
    definition = _jsonata({
        "Init": {"Type": "Pass", "Assign": {"count": 1}, "Next": "Step"},
        "Step": {"Type": "Pass", "Assign": {"count": "{% $count + 1 %}"},
                 "Output": {"during": "{% $count %}"}, "Next": "Read"},
        "Read": {"Type": "Pass", "Output": {"before": "{% $states.input.during %}",
                                            "after": "{% $count %}"}, "End": True},
    }, "Init")

    result = sfn.run(definition, {})

    assert result.output == {"before": 1, "after": 2}


def test_assign_reads_result(sfn: Machines) -> None:
    """A Task's Assign reads $states.result and records assignedVariables (VARIABLES)."""
    definition = _jsonata({
        "Work": _task(Assign={"total": "{% $states.result.total %}"}, Next="Read"),
        "Read": {"Type": "Pass", "Output": "{% $total %}", "End": True},
    }, "Work")

    result = sfn.run(definition, {}, mocks={"Work": {"Return": {"total": 5}}})

    assert result.output == 5
    exited = result.events("TaskStateExited")[0]["stateExitedEventDetails"]
    assert exited["assignedVariables"] == {"total": "5"}
    assert exited["assignedVariablesDetails"] == {"truncated": False}


def test_catch_assign_and_output(sfn: Machines) -> None:
    """A catcher's Assign and Output read $states.errorOutput; the state's own Assign is
    dropped (ASSIGN test_assign_in_catch_state)."""
    definition = _jsonata({
        "Task": _task(Assign={"result": "SUCCESS"}, Catch=[
            {"ErrorEquals": ["States.ALL"], "Assign": {"result": "{% $states.errorOutput %}"},
             "Output": {"error": "{% $states.errorOutput.Error %}"}, "Next": "fallback"}],
            Next="fallback"),
        "fallback": {"Type": "Pass", "Output": {"result": "{% $result %}",
                                                "input": "{% $states.input %}"}, "End": True},
    }, "Task")

    result = sfn.run(definition, {}, mocks={"Task": {"Throw": {"Error": "Exception",
                                                               "Cause": "broken"}}})

    assert result.output == {"result": {"Error": "Exception", "Cause": "broken"},
                             "input": {"error": "Exception"}}


def test_variables_scoped_in_map(sfn: Machines) -> None:
    """Iterations read outer variables, and outer states do not see theirs (VARIABLES)."""
    definition = _jsonata({
        "Init": {"Type": "Pass", "Assign": {"factor": 10}, "Next": "Map"},
        "Map": {"Type": "Map", "Items": "{% $states.input.values %}",
                "ItemProcessor": {"StartAt": "Scale", "States": {"Scale": {
                    "Type": "Pass", "Assign": {"inner": 1},
                    "Output": "{% $states.input * $factor %}", "End": True}}},
                "Next": "After"},
        "After": {"Type": "Pass", "Output": {"scaled": "{% $states.input %}",
                                             "inner": "{% $exists($inner) %}"}, "End": True},
    }, "Init")

    result = sfn.run(definition, {"values": [1, 2, 3]})

    assert result.status == "SUCCEEDED", (result.error, result.cause)
    assert result.output == {"scaled": [10, 20, 30], "inner": False}


# --- Choice, Wait, Fail, Map ------------------------------------------------------------

CHOICE = _jsonata({
    "Check": {"Type": "Choice", "Choices": [
        {"Condition": "{% $states.input.n > 10 %}", "Next": "Big",
         "Assign": {"size": "big"}},
        {"Condition": "{% $states.input.n = 0 %}", "Next": "Zero",
         "Output": {"zero": True}}],
        "Default": "Small", "Assign": {"size": "small"}},
    "Big": {"Type": "Pass", "Output": "{% $size %}", "End": True},
    "Zero": {"Type": "Pass", "End": True},
    "Small": {"Type": "Pass", "Output": "{% $size %}", "End": True},
}, "Check")


@pytest.mark.parametrize(("n", "expected", "source"), [
    (11, "big", f"{DG}/state-choice.html"),
    (0, {"zero": True}, f"{DG}/state-choice.html"),
    (5, "small", f"{SCENARIOS} test_choice_aws_docs_scenario[CHOICE_STATE_AWS_SCENARIO_JSONATA]"),
])
def test_choice_condition(sfn: Machines, n: int, expected: Any, source: str) -> None:
    """The first rule whose Condition is true wins, with its own Assign and Output."""
    result = sfn.run(CHOICE, {"n": n})

    assert result.output == expected, source


def test_choice_condition_not_boolean(sfn: Machines) -> None:
    """A Condition that is not a boolean fails with States.QueryEvaluationError (JSONATA)."""
    definition = _jsonata({"Check": {"Type": "Choice", "Choices": [
        {"Condition": "{% $states.input.n %}", "Next": "Done"}], "Default": "Done"},
        "Done": {"Type": "Succeed"}}, "Check")

    result = sfn.run(definition, {"n": 1})

    assert result.status == "FAILED"
    assert result.error == "States.QueryEvaluationError"


def test_wait_seconds_expression(sfn: Machines) -> None:
    """Seconds may be an expression (SCENARIOS test_wait_seconds_jsonata)."""
    definition = _jsonata({"Wait": {"Type": "Wait", "Seconds": "{% $states.input.s * 60 %}",
                                    "End": True}}, "Wait")

    result = sfn.run(definition, {"s": 3})

    assert result.status == "SUCCEEDED"
    assert elapsed_seconds(result) == 180


def test_fail_error_and_cause_expressions(sfn: Machines) -> None:
    """Error and Cause may be expressions (SCENARIOS test_fail_error_jsonata,
    test_fail_cause_jsonata)."""
    definition = _jsonata({"Fail": {"Type": "Fail", "Error": "{% $states.input.e %}",
                                    "Cause": "{% 'because ' & $states.input.c %}"}}, "Fail")

    result = sfn.run(definition, {"e": "Broken", "c": "reasons"})

    assert result.status == "FAILED"
    assert result.error == "Broken"
    assert result.cause == "because reasons"


def test_map_items_and_item_selector(sfn: Machines) -> None:
    """Items selects the array; ItemSelector reads $states.context.Map.Item (JSONATA)."""
    definition = _jsonata({"Map": {
        "Type": "Map", "Items": "{% $states.input.list %}",
        "ItemSelector": {"index": "{% $states.context.Map.Item.Index %}",
                         "value": "{% $states.context.Map.Item.Value %}"},
        "ItemProcessor": {"StartAt": "Item", "States": {"Item": {"Type": "Pass",
                                                                 "End": True}}},
        "End": True}}, "Map")

    result = sfn.run(definition, {"list": ["a", "b"]})

    assert result.output == [{"index": 0, "value": "a"}, {"index": 1, "value": "b"}]


@pytest.mark.parametrize(("items", "source"), [
    ("{% $states.input.n %}", f"{SCENARIOS} test_map_state_items_eval_jsonata_fail[number]"),
    ("{% $states.input.o %}", f"{SCENARIOS} test_map_state_items_eval_jsonata_fail[object]"),
])
def test_map_items_not_array(sfn: Machines, items: str, source: str) -> None:
    """Items that are not an array fail with States.QueryEvaluationError."""
    definition = _jsonata({"Map": {
        "Type": "Map", "Items": items,
        "ItemProcessor": {"StartAt": "Item", "States": {"Item": {"Type": "Pass",
                                                                 "End": True}}},
        "End": True}}, "Map")

    result = sfn.run(definition, {"n": 1, "o": {"a": 1}})

    assert result.status == "FAILED", source
    assert result.error == "States.QueryEvaluationError", source


def test_jsonata_state_in_jsonpath_machine(sfn: Machines) -> None:
    """A state of a JSONPath machine may set QueryLanguage JSONata (JSONATA)."""
    definition = {"StartAt": "Old", "States": {
        "Old": {"Type": "Pass", "Parameters": {"v.$": "$.a"}, "Next": "New"},
        "New": {"Type": "Pass", "QueryLanguage": "JSONata",
                "Output": "{% $states.input.v + 1 %}", "End": True},
    }}

    result = sfn.run(definition, {"a": 1})

    assert result.output == 2
