"""Pass, Wait, Choice, Succeed and Fail states run end to end, as AWS documents and records them.

Recorded cases come from AWS responses kept in LocalStack's test suite (Apache-2.0), named
by their path under ``tests/aws/services/stepfunctions/v2/`` in github.com/localstack/localstack
and the test id; the others cite the state's page of the Step Functions developer guide.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conformance.stepfunctions.machines import Machines, elapsed_seconds, single

DG = "https://docs.aws.amazon.com/step-functions/latest/dg"
PASS_DOCS = f"{DG}/state-pass.html"
WAIT_DOCS = f"{DG}/state-wait.html"
CHOICE_DOCS = f"{DG}/state-choice.html"
SUCCEED_DOCS = f"{DG}/state-succeed.html"
FAIL_DOCS = f"{DG}/state-fail.html"
BASE = "base/test_base.snapshot.json"
WAIT = "base/test_wait.snapshot.json"
NUMERIC = "choice_operators/test_numeric.snapshot.json"
STRING = "choice_operators/test_string_operators.snapshot.json"
BOOLEAN = "choice_operators/test_boolean_equals.snapshot.json"
TIMESTAMP = "choice_operators/test_timestamp_operators.snapshot.json"
IS_OPERATORS = "choice_operators/test_is_operators.snapshot.json"
SCENARIOS = "scenarios/test_base_scenarios.snapshot.json"
CONTEXT = "context_object/test_context_object.snapshot.json"


@pytest.fixture(scope="module")
def sfn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Machines]:
    with Machines.start(tmp_path_factory.mktemp("flow")) as machines:
        yield machines


# --- Pass -------------------------------------------------------------------------------

PASS_CASES = [
    # state fields, execution input, expected output, source
    ({}, {"a": 1}, {"a": 1}, PASS_DOCS),
    ({"Result": {"x": 1}}, {"a": 1}, {"x": 1}, PASS_DOCS),
    ({"Result": {"x": 1}, "ResultPath": "$.r"}, {"a": 1}, {"a": 1, "r": {"x": 1}}, PASS_DOCS),
    ({"Result": "done", "ResultPath": "$.a.b.c"}, {"a": {}}, {"a": {"b": {"c": "done"}}},
     f"{DG}/input-output-resultpath.html"),
    ({"Result": {"x": 1}, "ResultPath": None}, {"a": 1}, {"a": 1},
     f"{DG}/input-output-resultpath.html"),
    # Result is a literal: a key ending in ".$" is not evaluated.
    ({"Result": {"TestResult.$": "ConditionTrue"}}, {}, {"TestResult.$": "ConditionTrue"},
     f"{NUMERIC} test_numeric_greater_than"),
    ({"Parameters": {"Arg1": "argument1", "FromInput.$": "$"}}, {"InputValue": 0},
     {"Arg1": "argument1", "FromInput": {"InputValue": 0}},
     f"{BASE} test_state_pass_result_null_input_output_paths"),
    ({"InputPath": None, "Parameters": {"Arg2": "argument2", "FromInput.$": "$"}},
     {"InputValue": 0}, {"Arg2": "argument2", "FromInput": {}},
     f"{BASE} test_state_pass_result_null_input_output_paths"),
    ({"OutputPath": None}, {"InputValue": 0}, {},
     f"{BASE} test_state_pass_result_null_input_output_paths"),
    ({"Parameters": {"item.$": "$.items[10]"}},
     {"items": [{"item_key": index} for index in range(11)]}, {"item": {"item_key": 10}},
     f"{BASE} test_json_path_array_access[$.items[10]]"),
    ({"Parameters": {"item.$": "$.items[1:].itemValue"}}, {}, {"item": []},
     f"{BASE} test_json_path_array_wildcard_or_slice_with_no_input[$.items[1:].itemValue]"),
    ({"Parameters": {"item.$": "$.items[*]"}}, {}, {"item": []},
     f"{BASE} test_json_path_array_wildcard_or_slice_with_no_input[$.items[*]]"),
]


@pytest.mark.parametrize(("fields", "execution_input", "expected", "source"), PASS_CASES)
def test_pass_output(sfn: Machines, fields: dict[str, Any], execution_input: Any,
                     expected: Any, source: str) -> None:
    """A Pass state's output follows its Parameters, Result, ResultPath and paths."""
    result = sfn.run(single({"Type": "Pass", **fields}), execution_input)

    assert result.status == "SUCCEEDED", (result.error, result.cause, source)
    assert result.output == expected, source


# --- Succeed and Fail -------------------------------------------------------------------

def test_succeed_output_path(sfn: Machines) -> None:
    """Succeed passes its input through InputPath and OutputPath (SUCCEED_DOCS)."""
    definition = single({"Type": "Succeed", "InputPath": "$.a", "OutputPath": "$.b"})

    result = sfn.run(definition, {"a": {"b": 7}})

    assert result.status == "SUCCEEDED"
    assert result.output == 7


FAIL_CASES = [
    # state fields, execution input, expected error, expected cause, source
    ({"Error": "ErrorA", "Cause": "Kaiju attack"}, {}, "ErrorA", "Kaiju attack", FAIL_DOCS),
    ({"ErrorPath": "$.Error", "CausePath": "$.Cause"},
     {"Error": "error string", "Cause": "cause string"}, "error string", "cause string",
     f"{BASE} test_state_fail_path"),
    ({"ErrorPath": "States.Format('{}', $.Error)",
      "CausePath": "States.Format('This is a custom error message for {}, caused by {}.', "
                   "$.Error, $.Cause)"},
     {"Error": "error string", "Cause": "cause string"}, "error string",
     "This is a custom error message for error string, caused by cause string.",
     f"{BASE} test_state_fail_intrinsic"),
    ({}, {}, None, None, f"{BASE} test_state_fail_empty"),
    ({"ErrorPath": "$$.State.Name", "CausePath": "$$.Execution.Name"}, {}, "State",
     "<execution name>", f"{CONTEXT} test_error_cause_path"),
]


@pytest.mark.parametrize(("fields", "execution_input", "error", "cause", "source"),
                         FAIL_CASES)
def test_fail_error_and_cause(sfn: Machines, fields: dict[str, Any], execution_input: Any,
                              error: str | None, cause: str | None, source: str) -> None:
    """A Fail state fails the execution with its Error and Cause, literal or from paths."""
    result = sfn.run(single({"Type": "Fail", **fields}), execution_input)
    if cause == "<execution name>":
        cause = result.execution_arn.rsplit(":", 1)[1]

    assert result.status == "FAILED", source
    assert result.error == error, source
    assert result.cause == cause, source
    failed = result.events("ExecutionFailed")[0]["executionFailedEventDetails"]
    assert failed.get("error") == error, source
    assert failed.get("cause") == cause, source


# --- Wait -------------------------------------------------------------------------------

def test_wait_seconds_on_virtual_clock(sfn: Machines) -> None:
    """Seconds: the state waits that long, which the virtual clock skips (WAIT_DOCS)."""
    result = sfn.run(single({"Type": "Wait", "Seconds": 300}), {"a": 1})

    assert result.status == "SUCCEEDED"
    assert result.output == {"a": 1}
    assert elapsed_seconds(result) == 300


@pytest.mark.parametrize(("seconds", "waited", "source"), [
    (0, 0, f"{WAIT} test_base_wait_seconds_path[0]"),
    (1, 1, f"{WAIT} test_base_wait_seconds_path[1]"),
    (3600, 3600, WAIT_DOCS),
])
def test_wait_seconds_path(sfn: Machines, seconds: int, waited: int, source: str) -> None:
    """SecondsPath reads the number of seconds from the input."""
    definition = single({"Type": "Wait", "SecondsPath": "$.input.waitSeconds"}, "WaitState")

    result = sfn.run(definition, {"input": {"waitSeconds": seconds}})

    assert result.status == "SUCCEEDED", source
    assert result.output == {"input": {"waitSeconds": seconds}}, source
    assert elapsed_seconds(result) == waited, source


def test_wait_seconds_path_negative(sfn: Machines) -> None:
    """A negative SecondsPath value fails with States.Runtime (WAIT, [-1])."""
    definition = single({"Type": "Wait", "SecondsPath": "$.input.waitSeconds"}, "WaitState")

    result = sfn.run(definition, {"input": {"waitSeconds": -1}})

    assert result.status == "FAILED"
    assert result.error == "States.Runtime"
    assert result.cause is not None
    assert result.cause.startswith("An error occurred while executing the state 'WaitState' "
                                   "(entered at the event id #2). ")


def test_wait_seconds_path_fraction(sfn: Machines) -> None:
    """A fractional SecondsPath value fails with States.Runtime (WAIT, [1.5])."""
    definition = single({"Type": "Wait", "SecondsPath": "$.input.waitSeconds"}, "WaitState")

    result = sfn.run(definition, {"input": {"waitSeconds": 1.5}})

    assert result.status == "FAILED"
    assert result.cause == ("An error occurred while executing the state 'WaitState' "
                            "(entered at the event id #2). The SecondsPath parameter cannot "
                            "be parsed as a long value: $.input.waitSeconds == 1.5")


def test_wait_seconds_path_negative_message(sfn: Machines) -> None:
    """The cause for a negative SecondsPath names the path and value (WAIT, [-1])."""
    definition = single({"Type": "Wait", "SecondsPath": "$.input.waitSeconds"}, "WaitState")

    result = sfn.run(definition, {"input": {"waitSeconds": -1}})

    assert result.cause is not None
    assert result.cause.endswith("The SecondsPath parameter references a negative value: "
                                 "$.input.waitSeconds == -1")


def _timestamp(moment: datetime.datetime, suffix: str = "Z") -> str:
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S") + suffix


def test_wait_timestamp_in_future(sfn: Machines) -> None:
    """Timestamp: the state waits until that time (WAIT_DOCS)."""
    target = sfn.now().replace(microsecond=0) + datetime.timedelta(hours=2)
    definition = single({"Type": "Wait", "Timestamp": _timestamp(target)})

    result = sfn.run(definition, {})

    assert result.status == "SUCCEEDED"
    last = result.history[-1]["timestamp"]
    assert last == pytest.approx(target.timestamp())


@pytest.mark.parametrize(("suffix", "succeeds", "source"), [
    ("Z", True, f"{WAIT} test_wait_timestamppath[Z]"),
    (".000000Z", True, f"{WAIT} test_wait_timestamppath[.000000Z]"),
    (".00Z", True, f"{WAIT} test_wait_timestamppath[.00Z]"),
    ("", False, f"{WAIT} test_wait_timestamppath[]"),
    (".000000", False, f"{WAIT} test_wait_timestamppath[.000000]"),
])
def test_wait_timestamp_path_formats(sfn: Machines, suffix: str, succeeds: bool,
                                     source: str) -> None:
    """TimestampPath needs a zone; a time in the past ends the wait at once."""
    definition = single({"Type": "Wait", "TimestampPath": "$.start_at"}, "State_1")
    start_at = _timestamp(sfn.now(), suffix)

    result = sfn.run(definition, {"start_at": start_at})

    if succeeds:
        assert result.status == "SUCCEEDED", (result.cause, source)
        assert elapsed_seconds(result) < 1, source
        return
    assert result.status == "FAILED", source
    assert result.error == "States.Runtime", source
    assert result.cause is not None
    assert result.cause.startswith(
        "An error occurred while executing the state 'State_1' (entered at the event id #2). "
        "The TimestampPath parameter does not reference a valid ISO-8601 extended offset "
        "date-time format string: "), source


def test_wait_timestamp_path_invalid_message(sfn: Machines) -> None:
    """The cause names the TimestampPath and its value (WAIT test_wait_timestamppath[])."""
    definition = single({"Type": "Wait", "TimestampPath": "$.start_at"}, "State_1")
    start_at = _timestamp(sfn.now(), "")

    result = sfn.run(definition, {"start_at": start_at})

    assert result.cause is not None
    assert result.cause.endswith(f"format string: $.start_at == {start_at}")


def test_wait_timestamp_path_in_future(sfn: Machines) -> None:
    """TimestampPath: the state waits until the time the input names (WAIT_DOCS)."""
    target = sfn.now().replace(microsecond=0) + datetime.timedelta(days=3)
    definition = single({"Type": "Wait", "TimestampPath": "$.until", "Next": "Done"})
    definition["States"]["Done"] = {"Type": "Succeed"}

    result = sfn.run(definition, {"until": _timestamp(target)})

    assert result.status == "SUCCEEDED"
    assert result.history[-1]["timestamp"] == pytest.approx(target.timestamp())


def test_wait_timestamp_too_far(sfn: Machines) -> None:
    """A wait of more than 24855 days fails (WAIT test_timestamp_too_far_in_future_boundary)."""
    target = sfn.now() + datetime.timedelta(days=24856)
    definition = single({"Type": "Wait", "TimestampPath": "$.start_at"}, "State_1")

    result = sfn.run(definition, {"start_at": _timestamp(target, ".000Z")})

    assert result.status == "FAILED"
    assert result.cause == ("An error occurred while executing the state 'State_1' "
                            "(entered at the event id #2). Wait state delay is too long.")


# --- Choice -----------------------------------------------------------------------------

T0 = "2012-10-09T19:00:55Z"
T1 = "2012-10-09T19:00:56Z"

COMPARISONS = [
    # operator, variable, value, matches, source (the Path variant's test ends in _path)
    ("NumericEquals", None, 0, False, f"{NUMERIC} test_numeric_equals"),
    ("NumericEquals", 0, 0, True, f"{NUMERIC} test_numeric_equals"),
    ("NumericEquals", 0, 0.0, True, f"{NUMERIC} test_numeric_equals"),
    ("NumericEquals", 1, 1.0, True, f"{NUMERIC} test_numeric_equals"),
    ("NumericEquals", 1.1, 1, False, f"{NUMERIC} test_numeric_equals"),
    ("NumericEquals", 2.22, 2.22, True, f"{NUMERIC} test_numeric_equals"),
    ("NumericEquals", "", 0, False, f"{NUMERIC} test_numeric_equals"),
    ("NumericEquals", [], 0, False, f"{NUMERIC} test_numeric_equals"),
    ("NumericEquals", {"A": 0}, 0, False, f"{NUMERIC} test_numeric_equals"),
    ("NumericEquals", False, 0, False, f"{NUMERIC} test_numeric_equals"),
    ("NumericEquals", True, 1, False, f"{NUMERIC} test_numeric_equals"),
    ("NumericGreaterThan", 1, 0, True, f"{NUMERIC} test_numeric_greater_than"),
    ("NumericGreaterThan", 0, 0, False, f"{NUMERIC} test_numeric_greater_than"),
    ("NumericGreaterThan", 0, 1, False, f"{NUMERIC} test_numeric_greater_than"),
    ("NumericGreaterThanEquals", 0.0, 0, True, f"{NUMERIC} test_numeric_greater_than_equals"),
    ("NumericGreaterThanEquals", 0, 1, False, f"{NUMERIC} test_numeric_greater_than_equals"),
    ("NumericGreaterThanEquals", 1, 0, True, f"{NUMERIC} test_numeric_greater_than_equals"),
    ("NumericLessThan", 0, 1, True, f"{NUMERIC} test_numeric_less_than"),
    ("NumericLessThan", 1, 1, False, f"{NUMERIC} test_numeric_less_than"),
    ("NumericLessThan", 1, 0, False, f"{NUMERIC} test_numeric_less_than"),
    ("NumericLessThanEquals", 1, 1, True, f"{NUMERIC} test_numeric_less_than_equals"),
    ("NumericLessThanEquals", 0, 1, True, f"{NUMERIC} test_numeric_less_than_equals"),
    ("NumericLessThanEquals", 1, 0, False, f"{NUMERIC} test_numeric_less_than_equals"),
    ("StringEquals", "Hello", "Hello", True, f"{STRING} test_string_equals"),
    ("StringEquals", " ", "     ", False, f"{STRING} test_string_equals"),
    ("StringEquals", "\t\n", "\t\r\n", False, f"{STRING} test_string_equals"),
    ("StringEquals", None, "HelloWorld", False, f"{STRING} test_string_equals"),
    ("StringEquals", 0, "HelloWorld", False, f"{STRING} test_string_equals"),
    ("StringEquals", [""], "HelloWorld", False, f"{STRING} test_string_equals"),
    ("StringGreaterThan", "", "", False, f"{STRING} test_string_greater_than"),
    ("StringGreaterThan", "A", "A ", False, f"{STRING} test_string_greater_than"),
    ("StringGreaterThan", "A", "A\t\n\r", False, f"{STRING} test_string_greater_than"),
    ("StringGreaterThan", "AB", "ABC", False, f"{STRING} test_string_greater_than"),
    ("StringGreaterThan", "ABC", "AB", True, CHOICE_DOCS),
    ("StringGreaterThanEquals", "", "", True, f"{STRING} test_string_greater_than_equals"),
    ("StringGreaterThanEquals", "A", "AB", False, f"{STRING} test_string_greater_than_equals"),
    ("StringGreaterThanEquals", "AB", "A", True, f"{STRING} test_string_greater_than_equals"),
    ("StringLessThan", "", "", False, f"{STRING} test_string_less_than"),
    ("StringLessThan", "A", "AB", True, f"{STRING} test_string_less_than"),
    ("StringLessThan", "AB", "A", False, f"{STRING} test_string_less_than"),
    ("StringLessThanEquals", "", "", True, f"{STRING} test_string_less_than_equals"),
    ("StringLessThanEquals", "A", "AB", True, f"{STRING} test_string_less_than_equals"),
    ("StringLessThanEquals", "AB", "A", False, f"{STRING} test_string_less_than_equals"),
    ("BooleanEquals", True, True, True, f"{BOOLEAN} test_boolean_equals"),
    ("BooleanEquals", False, False, True, f"{BOOLEAN} test_boolean_equals"),
    ("BooleanEquals", False, True, False, f"{BOOLEAN} test_boolean_equals"),
    ("BooleanEquals", 0, False, False, f"{BOOLEAN} test_boolean_equals"),
    ("BooleanEquals", 1, True, False, f"{BOOLEAN} test_boolean_equals"),
    ("BooleanEquals", "", False, False, f"{BOOLEAN} test_boolean_equals"),
    ("BooleanEquals", None, False, False, f"{BOOLEAN} test_boolean_equals"),
    ("TimestampEquals", T0, T0, True, f"{TIMESTAMP} test_timestamp_equals"),
    ("TimestampEquals", T0, T1, False, f"{TIMESTAMP} test_timestamp_equals"),
    ("TimestampEquals", None, T0, False, f"{TIMESTAMP} test_timestamp_equals"),
    ("TimestampEquals", 0, T0, False, f"{TIMESTAMP} test_timestamp_equals"),
    ("TimestampEquals", "2023-02-24 12:15:56.832957", T0, False,
     f"{TIMESTAMP} test_timestamp_equals"),
    ("TimestampGreaterThan", T0, T0, False, f"{TIMESTAMP} test_timestamp_greater_than"),
    ("TimestampGreaterThan", T0, T1, False, f"{TIMESTAMP} test_timestamp_greater_than"),
    ("TimestampGreaterThan", T1, T0, True, f"{TIMESTAMP} test_timestamp_greater_than"),
    ("TimestampGreaterThanEquals", T0, T0, True,
     f"{TIMESTAMP} test_timestamp_greater_than_equals"),
    ("TimestampGreaterThanEquals", T0, T1, False,
     f"{TIMESTAMP} test_timestamp_greater_than_equals"),
    ("TimestampLessThan", T0, T1, True, f"{TIMESTAMP} test_timestamp_less_than"),
    ("TimestampLessThan", T1, T0, False, f"{TIMESTAMP} test_timestamp_less_than"),
    ("TimestampLessThanEquals", T0, T0, True, f"{TIMESTAMP} test_timestamp_less_than_equals"),
    ("TimestampLessThanEquals", T1, T0, False, f"{TIMESTAMP} test_timestamp_less_than_equals"),
]


def _choice(rule: dict[str, Any]) -> dict[str, Any]:
    """A Choice state going to ConditionTrue when ``rule`` holds, else to ConditionFalse."""
    return {
        "StartAt": "CheckValues",
        "States": {
            "CheckValues": {"Type": "Choice", "Choices": [{**rule, "Next": "ConditionTrue"}],
                            "Default": "ConditionFalse"},
            "ConditionTrue": {"Type": "Pass", "Result": "ConditionTrue", "End": True},
            "ConditionFalse": {"Type": "Pass", "Result": "ConditionFalse", "End": True},
        },
    }


def _branch(sfn: Machines, rule: dict[str, Any], execution_input: Any) -> bool:
    result = sfn.run(_choice(rule), execution_input)
    assert result.status == "SUCCEEDED", (result.error, result.cause)
    return bool(result.output == "ConditionTrue")


@pytest.mark.parametrize(("operator", "variable", "value", "matches", "source"), COMPARISONS)
def test_choice_comparison(sfn: Machines, operator: str, variable: Any, value: Any,
                           matches: bool, source: str) -> None:
    """A comparison with a literal is false, not an error, when the types differ."""
    rule = {"Variable": "$.Variable", operator: value}

    assert _branch(sfn, rule, {"Variable": variable, "Value": value}) is matches, source


@pytest.mark.parametrize(("operator", "variable", "value", "matches", "source"), COMPARISONS)
def test_choice_comparison_path(sfn: Machines, operator: str, variable: Any, value: Any,
                                matches: bool, source: str) -> None:
    """The Path variant of each operator compares with a value from the input."""
    rule = {"Variable": "$.Variable", operator + "Path": "$.Value"}

    assert _branch(sfn, rule, {"Variable": variable, "Value": value}) is matches, source + "_path"


VALUES = [None, 0, 0.0, 1, 1.1, "", " ", "HelloWorld", T0, "2023-02-24", [], [""], {},
          {"A": 0}, True, False]
TYPE_TESTS = [
    # operator, the values it holds for
    ("IsNull", [None]),
    ("IsNumeric", [0, 0.0, 1, 1.1]),
    ("IsString", ["", " ", "HelloWorld", T0, "2023-02-24"]),
    ("IsBoolean", [True, False]),
    ("IsTimestamp", [T0]),
    ("IsPresent", VALUES),
]


@pytest.mark.parametrize(("operator", "holds_for"), TYPE_TESTS)
@pytest.mark.parametrize("value", VALUES)
@pytest.mark.parametrize("expected", [True, False])
def test_choice_type_test(sfn: Machines, operator: str, holds_for: list[Any], value: Any,
                          expected: bool) -> None:
    """Type tests match when the value's type is (or, with false, is not) the one named.

    Recorded in IS_OPERATORS (test_is_null, test_is_numeric, test_is_string,
    test_is_boolean, test_is_present); IsTimestamp from CHOICE_DOCS.
    """
    holds = any(value == item and type(value) is type(item) for item in holds_for)

    matched = _branch(sfn, {"Variable": "$.Variable", operator: expected}, {"Variable": value})

    assert matched is (holds is expected)


@pytest.mark.parametrize(("expected", "matches"), [(True, False), (False, True)])
def test_choice_is_present_missing(sfn: Machines, expected: bool, matches: bool) -> None:
    """IsPresent tests whether the Variable's path selects anything (CHOICE_DOCS)."""
    assert _branch(sfn, {"Variable": "$.missing", "IsPresent": expected}, {}) is matches


@pytest.mark.parametrize(("pattern", "value", "matches"), [
    ("log-*.txt", "log-1.txt", True),
    ("log-*.txt", "log-.txt", True),
    ("log-*.txt", "log-1.csv", False),
    ("*", "", True),
    ("a\\*b", "a*b", True),
    ("a\\*b", "axb", False),
    ("a\\\\b", "a\\b", True),
    ("log-*.txt", 7, False),
])
def test_choice_string_matches(sfn: Machines, pattern: str, value: Any, matches: bool) -> None:
    """StringMatches: ``*`` is any text, ``\\*`` a literal star (CHOICE_DOCS)."""
    assert _branch(sfn, {"Variable": "$.v", "StringMatches": pattern}, {"v": value}) is matches


def test_choice_variable_missing_fails(sfn: Machines) -> None:
    """A comparison whose Variable selects nothing fails with States.Runtime (CHOICE_DOCS)."""
    result = sfn.run(_choice({"Variable": "$.missing", "NumericEquals": 1}), {})

    assert result.status == "FAILED"
    assert result.error == "States.Runtime"
    assert "$.missing" in (result.cause or "")


AWS_SCENARIO = {
    "StartAt": "ChoiceStateX",
    "States": {
        "ChoiceStateX": {
            "Type": "Choice",
            "Choices": [
                {"Not": {"Variable": "$.type", "StringEquals": "Private"}, "Next": "Public"},
                {"Variable": "$.value", "NumericEquals": 0, "Next": "ValueIsZero"},
                {"And": [{"Variable": "$.value", "NumericGreaterThanEquals": 20},
                         {"Variable": "$.value", "NumericLessThan": 30}],
                 "Next": "ValueInTwenties"},
                {"Or": [{"Variable": "$.value", "NumericLessThan": 0},
                        {"Variable": "$.value", "NumericGreaterThan": 100}],
                 "Next": "OutOfRange"},
            ],
            "Default": "DefaultState",
        },
        "Public": {"Type": "Pass", "End": True},
        "ValueIsZero": {"Type": "Pass", "End": True},
        "ValueInTwenties": {"Type": "Pass", "End": True},
        "OutOfRange": {"Type": "Pass", "End": True},
        "DefaultState": {"Type": "Fail", "Cause": "No Matches!"},
    },
}


@pytest.mark.parametrize(("execution_input", "path", "source"), [
    ({"type": "Private", "value": 22}, ["ChoiceStateX", "ValueInTwenties"],
     f"{SCENARIOS} test_choice_aws_docs_scenario"),
    ({"type": "Public", "value": 22}, ["ChoiceStateX", "Public"], CHOICE_DOCS),
    ({"type": "Private", "value": 0}, ["ChoiceStateX", "ValueIsZero"], CHOICE_DOCS),
    ({"type": "Private", "value": 101}, ["ChoiceStateX", "OutOfRange"], CHOICE_DOCS),
    ({"type": "Private", "value": 50}, ["ChoiceStateX", "DefaultState"], CHOICE_DOCS),
])
def test_choice_and_or_not(sfn: Machines, execution_input: Any, path: list[str],
                           source: str) -> None:
    """The first matching rule of And, Or and Not decides the next state; the input passes."""
    result = sfn.run(AWS_SCENARIO, execution_input)

    assert result.path == path, source
    if path[-1] != "DefaultState":
        assert result.output == execution_input, source


def test_choice_no_match_without_default(sfn: Machines) -> None:
    """No matching rule and no Default: States.NoChoiceMatched (CHOICE_DOCS)."""
    definition = _choice({"Variable": "$.v", "NumericEquals": 1})
    del definition["States"]["CheckValues"]["Default"]
    del definition["States"]["ConditionFalse"]

    result = sfn.run(definition, {"v": 2})

    assert result.status == "FAILED"
    assert result.error == "States.NoChoiceMatched"


def test_choice_input_and_output_path(sfn: Machines) -> None:
    """A Choice state applies InputPath before its rules and OutputPath after (CHOICE_DOCS)."""
    definition = _choice({"Variable": "$.v", "NumericEquals": 1})
    choice = definition["States"]["CheckValues"]
    choice["InputPath"] = "$.inner"
    choice["OutputPath"] = "$.v"
    definition["States"]["ConditionTrue"] = {"Type": "Pass", "End": True}

    result = sfn.run(definition, {"inner": {"v": 1}})

    assert result.output == 1
