"""Definition diagnostics whose codes, messages and locations were recorded from AWS.

Sources, each case names one:
- LS: AWS-recorded snapshots in LocalStack's tests at commit 8b9a79f,
  https://github.com/localstack/localstack/tree/8b9a79f05/tests/aws/services/stepfunctions/v2
  (file name and test id given per case).
- FLOCI_END: ValidateStateMachineDefinition responses measured on AWS and published in
  https://github.com/floci-io/floci/issues/2735 and https://github.com/floci-io/floci/pull/2786
- FLOCI_LANGUAGE: the QueryLanguage rules measured on AWS in
  https://github.com/floci-io/floci/issues/2968
- LS_TRANSITION: the CreateStateMachine error quoted from AWS in
  https://github.com/localstack/localstack/issues/11978
- SLS_START_AT: the CreateStateMachine error quoted from AWS in
  https://github.com/serverless-operations/serverless-step-functions/issues/250
- CFN_LINT: CloudFormation errors quoted from AWS in
  https://github.com/aws-cloudformation/cfn-lint/issues/4077 and
  https://github.com/aws-cloudformation/cfn-lint/issues/4078
- API: https://docs.aws.amazon.com/step-functions/latest/apireference/API_ValidateStateMachineDefinition.html
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from windtunnel.services.stepfunctions.asl.validation import (
    invalid_definition_message,
    validate_definition,
)

Expected = list[tuple[str, str, str | None]]

PASS_END = {"Type": "Pass", "End": True}
SQS_WAIT = "arn:aws:states:::sqs:sendMessage.waitForTaskToken"


def machine(states: dict[str, Any], start_at: str = "A", **fields: Any) -> str:
    """A definition text with the given states."""
    return json.dumps({"StartAt": start_at, "States": states, **fields})


def diagnostics(text: str, state_machine_type: str = "STANDARD") -> Expected:
    """The ERROR diagnostics of a definition as (code, message, location) tuples."""
    found = validate_definition(text, state_machine_type=state_machine_type)
    return [(item.code, item.message, item.location) for item in found
            if item.severity == "ERROR"]


CASES: list[tuple[str, str, str, Expected]] = [
    # LS test_sfn_api_validation.snapshot.json, not_a_definition[EMPTY_STRING]
    ("empty_string", " ", "STANDARD",
     [("SCHEMA_VALIDATION_FAILED", "Definition must be a valid JSON object", None)]),
    # LS test_sfn_api_validation.snapshot.json, not_a_definition[EMPTY_DICT]
    ("empty_object", "{}", "STANDARD",
     [("SCHEMA_VALIDATION_FAILED", "These fields are required: [States, StartAt]", "/")]),
    # LS test_sfn_api_validation.snapshot.json, type_standard[INVALID_BASE_NO_STARTAT]
    ("no_start_at", json.dumps({"States": {"StartState": PASS_END}}), "STANDARD",
     [("SCHEMA_VALIDATION_FAILED", "These fields are required: [StartAt]", "/")]),
    # LS test_sfn_api_validation.snapshot.json, type_standard[VALID_BASE_PASS]
    ("valid_pass", machine({"StartState": PASS_END}, "StartState"), "STANDARD", []),
    # LS test_sfn_api_validation.snapshot.json, type_express[VALID_BASE_PASS]
    ("valid_pass_express", machine({"StartState": PASS_END}, "StartState"), "EXPRESS", []),
    # LS test_sfn_api_validation.snapshot.json, INVALID_DOWNGRADE_QUERY_LANGUAGE
    ("jsonpath_state_in_jsonata_machine",
     machine({"Pass": {**PASS_END, "QueryLanguage": "JSONPath"}}, "Pass",
             QueryLanguage="JSONata"), "STANDARD",
     [("SCHEMA_VALIDATION_FAILED", "'QueryLanguage' can not be 'JSONPath' if set to "
       "'JSONata' for whole state machine", "/States/Pass")]),
    # LS test_sfn_api_validation.snapshot.json, VALID_QUERY_LANGUAGE_PASS
    ("jsonata_map_in_jsonpath_machine",
     machine({"Map": {"Type": "Map", "QueryLanguage": "JSONata", "End": True,
                      "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"},
                                        "StartAt": "Pass",
                                        "States": {"Pass": {**PASS_END,
                                                            "QueryLanguage": "JSONPath"}}}}},
             "Map", QueryLanguage="JSONPath"), "STANDARD", []),
    # LS test_sfn_api_validation.snapshot.json, type_express[ILLEGAL_WFTT]
    ("express_wait_for_task_token",
     machine({"SendMessageWithWait": {"Type": "Task", "Resource": SQS_WAIT, "End": True,
                                      "Parameters": {"QueueUrl.$": "$.QueueUrl"}}},
             "SendMessageWithWait"), "EXPRESS",
     [("SCHEMA_VALIDATION_FAILED", "Express state machine does not support "
       "'.waitForTaskToken' service integration ", "/States/SendMessageWithWait/Resource")]),
    ("standard_wait_for_task_token",
     machine({"SendMessageWithWait": {"Type": "Task", "Resource": SQS_WAIT, "End": True}},
             "SendMessageWithWait"), "STANDARD", []),
    # LS test_sfn_api_express.snapshot.json, test_illegal_callbacks
    ("express_sync",
     machine({"StartExecution": {"Type": "Task", "End": True, "Resource":
                                 "arn:aws:states:::states:startExecution.sync"}},
             "StartExecution"), "EXPRESS",
     [("SCHEMA_VALIDATION_FAILED", "Express state machine does not support '.sync' service "
       "integration", "/States/StartExecution/Resource")]),
    # LS test_sfn_api_express.snapshot.json, test_illegal_activity_task
    ("express_activity",
     machine({"ActivityTask": {"Type": "Task", "End": True, "Resource":
                               "arn:aws:states:us-east-1:111111111111:activity:work"}},
             "ActivityTask"), "EXPRESS",
     [("SCHEMA_VALIDATION_FAILED", "Express state machine does not support Activity ARN",
       "/States/ActivityTask/Resource")]),
    # LS test_test_state_machine_scenarios.snapshot.json (InvalidDefinition message)
    ("unknown_type",
     machine({"ExistingButInvalidState": {"Type": "Invalid", "End": True}},
             "ExistingButInvalidState"), "STANDARD",
     [("SCHEMA_VALIDATION_FAILED", "The field 'Type' should have one of these values: "
       "[Task, Wait, Pass, Succeed, Fail, Choice, Parallel, Map]",
       "/States/ExistingButInvalidState/Type")]),
    # LS test_state_mock_validation.snapshot.json, test_parallel_state_empty_branches
    ("empty_branches",
     machine({"StateName": {"Type": "Parallel", "Branches": [], "End": True}}, "StateName"),
     "STANDARD", [("SCHEMA_VALIDATION_FAILED", "Value cannot be empty",
                   "/States/StateName/Branches")]),
    # LS test_credentials_base.snapshot.json (template invalid_credentials_field)
    ("credentials_without_role",
     machine({"State0": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                         "Arguments": "{% $states.input %}",
                         "Credentials": {"InvalidField": "invalid"}, "End": True}},
             "State0", QueryLanguage="JSONata"), "STANDARD",
     [("SCHEMA_VALIDATION_FAILED", "The field 'RoleArn' is required but was missing",
       "/States/State0/Credentials")]),
    # LS test_dynamodb_task_service.snapshot.json (template invalid_integration_dynamodb_query)
    ("unknown_dynamodb_action",
     machine({"Query": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:query",
                        "End": True}}, "Query"), "STANDARD",
     [("SCHEMA_VALIDATION_FAILED", "The resource provided arn:aws:states:::dynamodb:query is "
       "not recognized. The value is not a valid resource ARN, or the resource is not "
       "available in this region.", "/States/Query/Resource")]),
    # LS test_base_scenarios.snapshot.json, test_illegal_escapes: a call that does not parse.
    ("illegal_intrinsic",
     machine({"IntrinsicEscape": {**PASS_END, "Parameters": {
         "parsed.$": "States.StringToJson('{\"text\":\"An \\\"escaped double quote\\\" "
                     "here\"}')"}}}, "IntrinsicEscape"), "STANDARD",
     [("SCHEMA_VALIDATION_FAILED", "The value for the field 'parsed.$' must be a valid "
       "JSONPath or a valid intrinsic function call", "/States/IntrinsicEscape/Parameters")]),
    # LS test_base.py, test_state_pass_regex_json_path: AWS creates this machine.
    ("filter_after_dot", machine({"A": {**PASS_END, "OutputPath":
                                        "$.[?(@.year < 1999)].name"}}), "STANDARD", []),
    # LS_TRANSITION
    ("missing_target_and_unreachable",
     machine({"pass1": {"Type": "Pass", "Next": "pass3"}, "pass2": PASS_END}, "pass1"),
     "STANDARD",
     [("MISSING_TRANSITION_TARGET", "Missing 'Next' target: pass3", "/States/pass1/Next"),
      ("MISSING_TRANSITION_TARGET", 'State "pass2" is not reachable.', "/States/pass2")]),
    # SLS_START_AT
    ("start_at_names_no_state",
     machine({"run_step": PASS_END}, "aws_own.run_step"), "STANDARD",
     [("MISSING_TRANSITION_TARGET", "Missing 'Next' target: aws_own.run_step", "/StartAt"),
      ("MISSING_TRANSITION_TARGET", 'State "run_step" is not reachable.',
       "/States/run_step")]),
    # FLOCI_END: the bare loop.
    ("no_terminal_state",
     machine({"A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Pass", "Next": "A"}}),
     "STANDARD", [("MISSING_END_STATE", "Workflow has no terminal state", None)]),
    # FLOCI_END: a state nothing routes to does not add a diagnostic to the loop.
    ("no_terminal_state_hides_unreachable",
     machine({"A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Pass", "Next": "A"},
              "C": {"Type": "Pass", "Next": "A"}}),
     "STANDARD", [("MISSING_END_STATE", "Workflow has no terminal state", None)]),
    # FLOCI_END: the loop plus an unreachable terminal state.
    ("unreachable_terminal_state",
     machine({"A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Pass", "Next": "A"},
              "C": PASS_END}),
     "STANDARD",
     [("MISSING_TRANSITION_TARGET", 'State "C" is not reachable.', "/States/C")]),
    # FLOCI_END: a dangling Next, then the missing terminal state.
    ("dangling_next_without_terminal", machine({"A": {"Type": "Pass", "Next": "NOPE"}}),
     "STANDARD",
     [("MISSING_TRANSITION_TARGET", "Missing 'Next' target: NOPE", "/States/A/Next"),
      ("MISSING_END_STATE", "Workflow has no terminal state", None)]),
    # FLOCI_END: Choices[].Next and Default are named "Next" too.
    ("dangling_choice_targets",
     machine({"C": {"Type": "Choice", "Choices": [
         {"Variable": "$.x", "BooleanEquals": True, "Next": "NOPE"}], "Default": "GONE"},
         "D": PASS_END}, "C"),
     "STANDARD",
     [("MISSING_TRANSITION_TARGET", "Missing 'Next' target: NOPE", "/States/C/Choices[0]/Next"),
      ("MISSING_TRANSITION_TARGET", "Missing 'Next' target: GONE", "/States/C/Default"),
      ("MISSING_TRANSITION_TARGET", 'State "D" is not reachable.', "/States/D")]),
    # FLOCI_END: Catch[].Next.
    ("dangling_catch_target",
     machine({"T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                    "End": True, "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "NOPE"}]}},
             "T"), "STANDARD",
     [("MISSING_TRANSITION_TARGET", "Missing 'Next' target: NOPE", "/States/T/Catch[0]/Next")]),
    # FLOCI_END: TimeoutSeconds on Map and Parallel.
    ("timeout_on_map",
     machine({"M": {"Type": "Map", "End": True, "TimeoutSeconds": 5, "ItemProcessor": {
         "StartAt": "P", "States": {"P": PASS_END}}}}, "M"), "STANDARD",
     [("SCHEMA_VALIDATION_FAILED", "Field 'TimeoutSeconds' is not supported", "/States/M")]),
    ("timeout_on_parallel",
     machine({"P": {"Type": "Parallel", "End": True, "TimeoutSeconds": 5, "Branches": [
         {"StartAt": "B", "States": {"B": PASS_END}}]}}, "P"), "STANDARD",
     [("SCHEMA_VALIDATION_FAILED", "Field 'TimeoutSeconds' is not supported", "/States/P")]),
    # FLOCI_END: Catch and Retry on a Pass state.
    ("catch_on_pass",
     machine({"A": {**PASS_END, "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "A"}]}}),
     "STANDARD", [("SCHEMA_VALIDATION_FAILED", "Field 'Catch' is not supported", "/States/A")]),
    ("retry_on_wait",
     machine({"A": {"Type": "Wait", "Seconds": 1, "End": True,
                    "Retry": [{"ErrorEquals": ["States.ALL"]}]}}),
     "STANDARD", [("SCHEMA_VALIDATION_FAILED", "Field 'Retry' is not supported", "/States/A")]),
    # FLOCI_LANGUAGE rule 1: nested states take the machine's language, not the Map's.
    ("output_in_jsonpath_processor",
     machine({"M": {"Type": "Map", "QueryLanguage": "JSONata", "End": True,
                    "ItemProcessor": {"StartAt": "P", "States": {"P": {
                        **PASS_END, "Output": "{% $states.input %}"}}}}}, "M"),
     "STANDARD",
     [("SCHEMA_VALIDATION_FAILED", "The QueryLanguage is set to 'JSONPath', but field "
       "'Output' is only supported for the 'JSONata' QueryLanguage",
       "/States/M/ItemProcessor/States/P")]),
    # FLOCI_LANGUAGE rule 3.
    ("query_language_in_processor",
     machine({"M": {"Type": "Map", "End": True, "ItemProcessor": {
         "QueryLanguage": "JSONPath", "StartAt": "P", "States": {"P": PASS_END}}}}, "M"),
     "STANDARD",
     [("SCHEMA_VALIDATION_FAILED", "Field 'QueryLanguage' is not supported",
       "/States/M/ItemProcessor")]),
    ("query_language_in_iterator",
     machine({"M": {"Type": "Map", "End": True, "Iterator": {
         "QueryLanguage": "JSONPath", "StartAt": "P", "States": {"P": PASS_END}}}}, "M"),
     "STANDARD",
     [("SCHEMA_VALIDATION_FAILED", "Field 'QueryLanguage' is not supported",
       "/States/M/Iterator")]),
    # CFN_LINT 4078
    ("output_path_without_dollar",
     machine({"Pass": {"Type": "Pass", "OutputPath": "Test", "Next": "Success"},
              "Success": {"Type": "Succeed"}}, "Pass"), "STANDARD",
     [("SCHEMA_VALIDATION_FAILED", "Value must be a valid JSONPath.",
       "/States/Pass/OutputPath")]),
    # CFN_LINT 4077
    ("choice_rule_without_next",
     machine({"Pass": {"Type": "Pass", "Next": "Choice"},
              "Choice": {"Type": "Choice", "Default": "Success",
                         "Choices": [{"Variable": "$", "StringMatches": "Test"}]},
              "Success": {"Type": "Succeed"}}, "Pass"), "STANDARD",
     [("SCHEMA_VALIDATION_FAILED", "These fields are required: [Next]",
       "/States/Choice/Choices[0]")]),
]


@pytest.mark.parametrize(("text", "state_machine_type", "expected"),
                         [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_recorded_diagnostics(text: str, state_machine_type: str, expected: Expected) -> None:
    """Each definition yields AWS's diagnostics, in AWS's order."""
    assert diagnostics(text, state_machine_type) == expected


@pytest.mark.parametrize("timestamp", [
    "2016-12-05 21:29:29Z",
    "2016-12-05T21:29:29",
    "2016-13-05T21:29:29Z",
    "2016-12-05T25:29:29Z",
    "05-12-2016T21:29:29Z",
    "{% '2016-03-14T01:59:00Z' %}",
])
def test_invalid_wait_timestamp(timestamp: str) -> None:
    """A Wait Timestamp that is not RFC 3339 is rejected.

    LS test_base_scenarios.snapshot.json, test_wait_timestamp_invalid.
    """
    text = machine({"WaitUntil": {"Type": "Wait", "Timestamp": timestamp, "End": True}},
                   "WaitUntil")

    assert diagnostics(text) == [("SCHEMA_VALIDATION_FAILED",
                                  "String does not match RFC3339 timestamp",
                                  "/States/WaitUntil/Timestamp")]


def test_valid_wait_timestamp() -> None:
    """An RFC 3339 timestamp with an offset passes (the Wait page's example)."""
    text = machine({"W": {"Type": "Wait", "Timestamp": "2016-03-14T01:59:00Z", "End": True}},
                   "W")

    assert diagnostics(text) == []


def test_invalid_json() -> None:
    """A syntax error is worded as AWS's JSON parser words it (LS not_a_definition[NOT_A_DEF])."""
    location = '[Source: (String)"not a definition"; line: 1, column: 4]'

    assert diagnostics("not a definition") == [(
        "INVALID_JSON_DESCRIPTION",
        "Unrecognized token 'not': was expecting (JSON String, Number, Array, Object or token "
        "'null', 'true' or 'false')\n at " + location,
        location,
    )]


@pytest.mark.parametrize(("text", "state_machine_type", "expected"), [
    # LS test_sfn_api.snapshot.json, test_create_delete_invalid_sm
    (json.dumps({"Comment": "BASE_INVALID_DER", "StartAt": "State_1"}), "STANDARD",
     "Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: These fields are "
     "required: [States] at /'"),
    # LS test_sfn_api_express.snapshot.json: two spaces, the message ends with one.
    (machine({"Publish": {"Type": "Task", "End": True,
                          "Resource": "arn:aws:states:::sns:publish.waitForTaskToken"}},
             "Publish"), "EXPRESS",
     "Invalid State Machine Definition: 'SCHEMA_VALIDATION_FAILED: Express state machine "
     "does not support '.waitForTaskToken' service integration  at /States/Publish/Resource'"),
    # LS_TRANSITION
    (machine({"pass1": {"Type": "Pass", "Next": "pass3"}, "pass2": PASS_END}, "pass1"),
     "STANDARD",
     "Invalid State Machine Definition: 'MISSING_TRANSITION_TARGET: Missing 'Next' target: "
     "pass3 at /States/pass1/Next, MISSING_TRANSITION_TARGET: State \"pass2\" is not "
     "reachable. at /States/pass2'"),
    # FLOCI_END: a diagnostic without a location.
    (machine({"A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Pass", "Next": "A"}}),
     "STANDARD",
     "Invalid State Machine Definition: 'MISSING_END_STATE: Workflow has no terminal state "
     "at null'"),
])
def test_invalid_definition_message(text: str, state_machine_type: str,
                                    expected: str) -> None:
    """CreateStateMachine's InvalidDefinition message lists the diagnostics as AWS does."""
    found = validate_definition(text, state_machine_type=state_machine_type)

    assert invalid_definition_message(found) == expected
