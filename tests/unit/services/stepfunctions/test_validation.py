"""Definition checks whose rules come from the Step Functions documentation.

The rules are documented; where AWS's wording was not recorded the messages are the
emulation's own, so these tests pin codes and locations and only the key words of messages.
- STATES: https://docs.aws.amazon.com/step-functions/latest/dg/concepts-amazon-states-language.html
- TASK: https://docs.aws.amazon.com/step-functions/latest/dg/state-task.html
- WAIT: https://docs.aws.amazon.com/step-functions/latest/dg/state-wait.html
- FAIL: https://docs.aws.amazon.com/step-functions/latest/dg/state-fail.html
- CHOICE: https://docs.aws.amazon.com/step-functions/latest/dg/state-choice.html
- MAP: https://docs.aws.amazon.com/step-functions/latest/dg/state-map.html
- ERRORS: https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html
- JSONATA: https://docs.aws.amazon.com/step-functions/latest/dg/transforming-data.html
- PATHS: https://docs.aws.amazon.com/step-functions/latest/dg/amazon-states-language-paths.html
- DIAGNOSTICS: https://docs.aws.amazon.com/step-functions/latest/apireference/API_ValidateStateMachineDefinitionDiagnostic.html
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from windtunnel.services.stepfunctions.asl.validation import (
    MAX_DEFINITION_LENGTH,
    Diagnostic,
    validate_definition,
)

TASK = {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": True}
PASS_END = {"Type": "Pass", "End": True}


def validate_state(state: dict[str, Any], **machine_fields: Any) -> list[Diagnostic]:
    """Validate a machine whose only state is ``state``, named A."""
    text = json.dumps({"StartAt": "A", "States": {"A": state}, **machine_fields})
    return validate_definition(text)


def errors(found: list[Diagnostic]) -> list[tuple[str, str | None]]:
    """The code and location of each ERROR diagnostic."""
    return [(item.code, item.location) for item in found if item.severity == "ERROR"]


SCHEMA = "SCHEMA_VALIDATION_FAILED"

STATE_CASES: list[tuple[str, dict[str, Any], dict[str, Any], list[tuple[str, str | None]]]] = [
    # ERRORS: IntervalSeconds >= 1, MaxAttempts >= 0, BackoffRate >= 1.0, JitterStrategy.
    ("retry_interval_zero", {**TASK, "Retry": [{"ErrorEquals": ["X"], "IntervalSeconds": 0}]},
     {}, [(SCHEMA, "/States/A/Retry[0]/IntervalSeconds")]),
    ("retry_negative_attempts",
     {**TASK, "Retry": [{"ErrorEquals": ["X"], "MaxAttempts": -1}]},
     {}, [(SCHEMA, "/States/A/Retry[0]/MaxAttempts")]),
    ("retry_zero_attempts", {**TASK, "Retry": [{"ErrorEquals": ["X"], "MaxAttempts": 0}]},
     {}, []),
    ("retry_backoff_below_one",
     {**TASK, "Retry": [{"ErrorEquals": ["X"], "BackoffRate": 0.5}]},
     {}, [(SCHEMA, "/States/A/Retry[0]/BackoffRate")]),
    ("retry_fractional_backoff",
     {**TASK, "Retry": [{"ErrorEquals": ["X"], "BackoffRate": 1.5}]}, {}, []),
    ("retry_max_delay_zero",
     {**TASK, "Retry": [{"ErrorEquals": ["X"], "MaxDelaySeconds": 0}]},
     {}, [(SCHEMA, "/States/A/Retry[0]/MaxDelaySeconds")]),
    ("retry_jitter_unknown",
     {**TASK, "Retry": [{"ErrorEquals": ["X"], "JitterStrategy": "HALF"}]},
     {}, [(SCHEMA, "/States/A/Retry[0]/JitterStrategy")]),
    ("retry_jitter_full",
     {**TASK, "Retry": [{"ErrorEquals": ["X"], "JitterStrategy": "FULL"}]}, {}, []),
    ("retry_without_error_equals", {**TASK, "Retry": [{"MaxAttempts": 1}]},
     {}, [(SCHEMA, "/States/A/Retry[0]")]),
    ("retry_unknown_field", {**TASK, "Retry": [{"ErrorEquals": ["X"], "Delay": 1}]},
     {}, [(SCHEMA, "/States/A/Retry[0]")]),
    # ERRORS: States.ALL appears alone and in the last retrier or catcher.
    ("all_not_alone", {**TASK, "Retry": [{"ErrorEquals": ["States.ALL", "X"]}]},
     {}, [(SCHEMA, "/States/A/Retry[0]/ErrorEquals")]),
    ("all_not_last",
     {**TASK, "Retry": [{"ErrorEquals": ["States.ALL"]}, {"ErrorEquals": ["X"]}]},
     {}, [(SCHEMA, "/States/A/Retry[0]")]),
    ("catch_all_not_last",
     {**TASK, "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "A"},
                        {"ErrorEquals": ["X"], "Next": "A"}]},
     {}, [(SCHEMA, "/States/A/Catch[0]")]),
    ("catch_without_next", {**TASK, "Catch": [{"ErrorEquals": ["X"]}]},
     {}, [(SCHEMA, "/States/A/Catch[0]")]),
    ("catch_output_in_jsonpath",
     {**TASK, "Catch": [{"ErrorEquals": ["X"], "Next": "A", "Output": {}}]},
     {}, [(SCHEMA, "/States/A/Catch[0]")]),
    ("catch_result_path_in_jsonata",
     {**TASK, "Catch": [{"ErrorEquals": ["X"], "Next": "A", "ResultPath": "$.e"}]},
     {"QueryLanguage": "JSONata"}, [(SCHEMA, "/States/A/Catch[0]")]),
    # TASK: positive TimeoutSeconds, HeartbeatSeconds below it, Resource required.
    ("task_timeout_zero", {**TASK, "TimeoutSeconds": 0},
     {}, [(SCHEMA, "/States/A/TimeoutSeconds")]),
    ("task_heartbeat_not_below_timeout", {**TASK, "TimeoutSeconds": 10, "HeartbeatSeconds": 10},
     {}, [(SCHEMA, "/States/A/HeartbeatSeconds")]),
    ("task_heartbeat_below_timeout", {**TASK, "TimeoutSeconds": 10, "HeartbeatSeconds": 9},
     {}, []),
    ("task_timeout_and_path", {**TASK, "TimeoutSeconds": 10, "TimeoutSecondsPath": "$.t"},
     {}, [(SCHEMA, "/States/A")]),
    ("task_timeout_expression", {**TASK, "TimeoutSeconds": "{% $states.input.t %}"},
     {"QueryLanguage": "JSONata"}, []),
    ("task_without_resource", {"Type": "Task", "End": True},
     {}, [(SCHEMA, "/States/A")]),
    ("task_resource_not_arn", {**TASK, "Resource": "my-function"},
     {}, [(SCHEMA, "/States/A/Resource")]),
    # STATES: exactly one of Next and End.
    ("pass_without_transition", {"Type": "Pass"}, {}, [(SCHEMA, "/States/A")]),
    ("pass_with_next_and_end", {**PASS_END, "Next": "A"}, {}, [(SCHEMA, "/States/A")]),
    ("succeed_with_end", {"Type": "Succeed", "End": True}, {}, [(SCHEMA, "/States/A")]),
    ("state_without_type", {"End": True}, {}, [(SCHEMA, "/States/A")]),
    ("machine_unknown_field", PASS_END, {"Timeout": 3}, [(SCHEMA, "/")]),
    # WAIT: exactly one of Seconds, SecondsPath, Timestamp, TimestampPath.
    ("wait_without_time", {"Type": "Wait", "End": True}, {}, [(SCHEMA, "/States/A")]),
    ("wait_two_times", {"Type": "Wait", "Seconds": 1, "SecondsPath": "$.s", "End": True},
     {}, [(SCHEMA, "/States/A")]),
    ("wait_negative_seconds", {"Type": "Wait", "Seconds": -1, "End": True},
     {}, [(SCHEMA, "/States/A/Seconds")]),
    ("wait_seconds_path_invalid", {"Type": "Wait", "SecondsPath": "s", "End": True},
     {}, [(SCHEMA, "/States/A/SecondsPath")]),
    ("wait_seconds_expression", {"Type": "Wait", "Seconds": "{% 3 %}", "End": True},
     {"QueryLanguage": "JSONata"}, []),
    # FAIL: Error and ErrorPath exclude each other; ErrorPath takes intrinsics.
    ("fail_error_and_path", {"Type": "Fail", "Error": "E", "ErrorPath": "$.e"},
     {}, [(SCHEMA, "/States/A")]),
    ("fail_cause_path_intrinsic",
     {"Type": "Fail", "CausePath": "States.Format('bad {}', $.x)"}, {}, []),
    # CHOICE: one comparison operator, Variable in JSONPath, Condition in JSONata.
    ("choice_two_operators",
     {"Type": "Choice", "Default": "B", "Choices": [
         {"Variable": "$.x", "NumericEquals": 1, "NumericLessThan": 3, "Next": "B"}]},
     {}, [(SCHEMA, "/States/A/Choices[0]")]),
    ("choice_without_variable",
     {"Type": "Choice", "Default": "B", "Choices": [{"StringEquals": "x", "Next": "B"}]},
     {}, [(SCHEMA, "/States/A/Choices[0]")]),
    ("choice_numeric_string",
     {"Type": "Choice", "Default": "B", "Choices": [
         {"Variable": "$.x", "NumericEquals": "1", "Next": "B"}]},
     {}, [(SCHEMA, "/States/A/Choices[0]/NumericEquals")]),
    ("choice_nested_next",
     {"Type": "Choice", "Default": "B", "Choices": [
         {"Not": {"Variable": "$.x", "IsNull": True, "Next": "B"}, "Next": "B"}]},
     {}, [(SCHEMA, "/States/A/Choices[0]/Not")]),
    ("choice_empty_and",
     {"Type": "Choice", "Default": "B", "Choices": [{"And": [], "Next": "B"}]},
     {}, [(SCHEMA, "/States/A/Choices[0]/And")]),
    ("choice_nested_rules",
     {"Type": "Choice", "Default": "B", "Choices": [
         {"Or": [{"Variable": "$.x", "IsPresent": False},
                 {"Not": {"Variable": "$.y", "StringMatches": "a*"}}], "Next": "B"}]},
     {}, []),
    ("choice_without_choices", {"Type": "Choice", "Default": "B"},
     {}, [(SCHEMA, "/States/A")]),
    ("choice_condition_in_jsonpath",
     {"Type": "Choice", "Default": "B", "Choices": [{"Condition": "{% true %}", "Next": "B"}]},
     {}, [(SCHEMA, "/States/A/Choices[0]"), (SCHEMA, "/States/A/Choices[0]")]),
    ("choice_jsonata_without_condition",
     {"Type": "Choice", "Default": "B", "Choices": [{"Next": "B"}]},
     {"QueryLanguage": "JSONata"}, [(SCHEMA, "/States/A/Choices[0]")]),
    ("choice_jsonata_variable",
     {"Type": "Choice", "Default": "B", "Choices": [
         {"Condition": "{% true %}", "Variable": "$.x", "Next": "B"}]},
     {"QueryLanguage": "JSONata"}, [(SCHEMA, "/States/A/Choices[0]")]),
    ("choice_jsonata_plain_condition",
     {"Type": "Choice", "Default": "B", "Choices": [{"Condition": "yes", "Next": "B"}]},
     {"QueryLanguage": "JSONata"}, [(SCHEMA, "/States/A/Choices[0]/Condition")]),
    # JSONATA: no Path fields, Parameters, ResultSelector or ResultPath.
    ("jsonata_input_path", {**PASS_END, "InputPath": "$.x"}, {"QueryLanguage": "JSONata"},
     [(SCHEMA, "/States/A")]),
    ("jsonata_parameters", {**TASK, "Parameters": {}}, {"QueryLanguage": "JSONata"},
     [(SCHEMA, "/States/A")]),
    ("jsonata_state_result_path", {**TASK, "QueryLanguage": "JSONata", "ResultPath": "$.r"},
     {}, [(SCHEMA, "/States/A")]),
    ("jsonpath_arguments", {**TASK, "Arguments": {}}, {}, [(SCHEMA, "/States/A")]),
    ("query_language_unknown", PASS_END, {"QueryLanguage": "JMESPath"},
     [(SCHEMA, "/QueryLanguage")]),
    # PATHS: paths start with $, ResultPath is a reference path, ".$" values are paths.
    ("input_path_null", {**PASS_END, "InputPath": None}, {}, []),
    ("input_path_context", {**PASS_END, "InputPath": "$$.Execution.Id"}, {}, []),
    ("result_path_filter", {**PASS_END, "ResultPath": "$.a[?(@.b)]"},
     {}, [(SCHEMA, "/States/A/ResultPath")]),
    ("result_path_context", {**PASS_END, "ResultPath": "$$.Execution"},
     {}, [(SCHEMA, "/States/A/ResultPath")]),
    ("parameter_not_a_path", {**PASS_END, "Parameters": {"nested": {"x.$": "x"}}},
     {}, [(SCHEMA, "/States/A/Parameters/nested")]),
    ("parameter_variable", {**PASS_END, "Parameters": {"x.$": "$name.field"}}, {}, []),
    # MAP: ProcessorConfig Mode and ExecutionType, one processor, Distributed-only fields.
    ("map_mode_unknown",
     {"Type": "Map", "End": True, "ItemProcessor": {
         "ProcessorConfig": {"Mode": "SERIAL"}, "StartAt": "P", "States": {"P": PASS_END}}},
     {}, [(SCHEMA, "/States/A/ItemProcessor/ProcessorConfig/Mode")]),
    ("map_distributed_without_execution_type",
     {"Type": "Map", "End": True, "ItemProcessor": {
         "ProcessorConfig": {"Mode": "DISTRIBUTED"}, "StartAt": "P",
         "States": {"P": PASS_END}}},
     {}, [(SCHEMA, "/States/A/ItemProcessor/ProcessorConfig")]),
    ("map_distributed_express",
     {"Type": "Map", "End": True, "Label": "batch", "ItemReader": {
         "Resource": "arn:aws:states:::s3:getObject"}, "ItemProcessor": {
         "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
         "StartAt": "P", "States": {"P": PASS_END}}},
     {}, []),
    ("map_inline_item_reader",
     {"Type": "Map", "End": True, "ItemReader": {"Resource": "arn:aws:states:::s3:getObject"},
      "ItemProcessor": {"StartAt": "P", "States": {"P": PASS_END}}},
     {}, [(SCHEMA, "/States/A/ItemReader")]),
    ("map_without_processor", {"Type": "Map", "End": True}, {}, [(SCHEMA, "/States/A")]),
    ("map_tolerated_percentage_above_100",
     {"Type": "Map", "End": True, "ToleratedFailurePercentage": 101,
      "ItemProcessor": {"StartAt": "P", "States": {"P": PASS_END}}},
     {}, [(SCHEMA, "/States/A/ToleratedFailurePercentage")]),
    ("map_label_with_space",
     {"Type": "Map", "End": True, "Label": "my label",
      "ItemProcessor": {"StartAt": "P", "States": {"P": PASS_END}}},
     {}, [("INVALID_LABEL_NAME", "/States/A/Label")]),
    # STATES: a Parallel branch has StartAt, States and Comment only.
    ("parallel_branch_field",
     {"Type": "Parallel", "End": True, "Branches": [
         {"StartAt": "P", "States": {"P": PASS_END}, "ProcessorConfig": {}}]},
     {}, [(SCHEMA, "/States/A/Branches[0]")]),
]


@pytest.mark.parametrize(("state", "machine_fields", "expected"),
                         [case[1:] for case in STATE_CASES],
                         ids=[case[0] for case in STATE_CASES])
def test_state_rules(state: dict[str, Any], machine_fields: dict[str, Any],
                     expected: list[tuple[str, str | None]]) -> None:
    """Each state breaks the documented rules it is built to break, and no other."""
    states: dict[str, Any] = {"A": state}
    if '"B"' in json.dumps(state):
        states["B"] = PASS_END
    text = json.dumps({"StartAt": "A", "States": states, **machine_fields})

    assert errors(validate_definition(text)) == expected


def test_state_name_too_long() -> None:
    """A state name longer than 80 characters is an INVALID_STATE_NAME (STATES)."""
    name = "N" * 81
    text = json.dumps({"StartAt": name, "States": {name: PASS_END}})

    assert errors(validate_definition(text)) == [("INVALID_STATE_NAME", f"/States/{name}")]


def test_state_name_of_80_characters() -> None:
    """A state name of exactly 80 characters is valid (STATES)."""
    name = "N" * 80
    text = json.dumps({"StartAt": name, "States": {name: PASS_END}})

    assert validate_definition(text) == []


def test_duplicate_state_name_across_branches() -> None:
    """A state name used in two Parallel branches is a DUPLICATE_STATE_NAME (DIAGNOSTICS)."""
    branch = {"StartAt": "Same", "States": {"Same": PASS_END}}
    text = json.dumps({"StartAt": "P", "States": {
        "P": {"Type": "Parallel", "End": True, "Branches": [branch, branch]}}})

    assert errors(validate_definition(text)) == [
        ("DUPLICATE_STATE_NAME", "/States/P/Branches[1]/States/Same")]


def test_branch_transitions_stay_in_branch() -> None:
    """A branch state cannot move to a state of the enclosing machine (STATES)."""
    text = json.dumps({"StartAt": "P", "States": {
        "P": {"Type": "Parallel", "Next": "Done", "Branches": [
            {"StartAt": "B", "States": {"B": {"Type": "Pass", "Next": "Done"}}}]},
        "Done": {"Type": "Succeed"}}})

    assert errors(validate_definition(text)) == [
        ("MISSING_TRANSITION_TARGET", "/States/P/Branches[0]/States/B/Next"),
        ("MISSING_END_STATE", None),
    ]


def test_catch_target_is_reachable() -> None:
    """A state reached only through a catcher is reachable (ERRORS)."""
    text = json.dumps({"StartAt": "T", "States": {
        "T": {**TASK, "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Recover"}]},
        "Recover": PASS_END}})

    assert validate_definition(text) == []


def test_labels_are_unique() -> None:
    """Two Map states with the same Label give DUPLICATE_LABEL_NAME (DIAGNOSTICS)."""
    processor = {"StartAt": "P", "States": {"P": PASS_END}}
    text = json.dumps({"StartAt": "M1", "States": {
        "M1": {"Type": "Map", "Label": "same", "Next": "M2", "ItemProcessor": processor},
        "M2": {"Type": "Map", "Label": "same", "End": True,
               "ItemProcessor": {"StartAt": "Q", "States": {"Q": PASS_END}}}}})

    assert errors(validate_definition(text)) == [("DUPLICATE_LABEL_NAME", "/States/M2/Label")]


def test_no_dollar_warning() -> None:
    """A path under a key without '.$' is a NO_DOLLAR warning, not an error (DIAGNOSTICS)."""
    found = validate_state({**PASS_END, "Parameters": {"id": "$.id"}})

    assert [(item.severity, item.code, item.location) for item in found] == [
        ("WARNING", "NO_DOLLAR", "/States/A/Parameters/id")]


def test_pass_result_is_static_warning() -> None:
    """A '.$' key in a Pass Result is a PASS_RESULT_IS_STATIC warning (DIAGNOSTICS)."""
    found = validate_state({**PASS_END, "Result": {"id.$": "$.id"}})

    assert [(item.severity, item.code) for item in found] == [
        ("WARNING", "PASS_RESULT_IS_STATIC")]


def test_jsonata_syntax_error() -> None:
    """An expression that does not parse is an INVALID_JSONATA_EXPRESSION at its field (JSONATA)."""
    found = validate_state({**PASS_END, "Output": {"v": "{% 1 + %}"}}, QueryLanguage="JSONata")

    assert errors(found) == [("INVALID_JSONATA_EXPRESSION", "/States/A/Output/v")]


def test_definition_too_long() -> None:
    """A definition over 1,048,576 characters is rejected before parsing (API reference)."""
    text = json.dumps({"StartAt": "A", "States": {"A": PASS_END},
                       "Comment": "x" * MAX_DEFINITION_LENGTH})

    found = validate_definition(text)

    assert errors(found) == [(SCHEMA, None)]
    assert "1048576" in found[0].message


@pytest.mark.parametrize("text", ["[]", "1", "null", '"text"'])
def test_definition_not_an_object(text: str) -> None:
    """JSON that is not an object is reported like an empty definition (DIAGNOSTICS)."""
    assert [(item.code, item.message) for item in validate_definition(text)] == [
        (SCHEMA, "Definition must be a valid JSON object")]


def test_json_error_location() -> None:
    """A syntax error names the line and column, after the offending character."""
    found = validate_definition('{\n  "StartAt": }')

    assert found[0].code == "INVALID_JSON_DESCRIPTION"
    assert found[0].location == '[Source: (String)"{\n  "StartAt": }"; line: 2, column: 15]'
