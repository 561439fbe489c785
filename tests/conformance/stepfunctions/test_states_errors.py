"""Task states with Retry and Catch, on the virtual clock, as AWS documents and records them.

Recorded cases come from AWS responses kept in LocalStack's test suite (Apache-2.0), named
by their path under ``tests/aws/services/stepfunctions/v2/`` in github.com/localstack/localstack
and the test id. The retry rules are those of
https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conformance.stepfunctions.machines import (
    Machines,
    elapsed_seconds,
    event_types,
    single,
    task,
)

DG = "https://docs.aws.amazon.com/step-functions/latest/dg"
ERRORS = f"{DG}/concepts-error-handling.html"
TASK_DOCS = f"{DG}/state-task.html"
RESULT_SELECTOR = f"{DG}/input-output-inputpath-params.html"
SCENARIOS = "scenarios/test_base_scenarios.snapshot.json"
STATES_ERRORS = "error_handling/test_states_errors.snapshot.json"

CUSTOM = {"Throw": {"Error": "CustomError", "Cause": "it broke"}}
OTHER = {"Throw": {"Error": "OtherError", "Cause": "it broke again"}}
OK = {"Return": {"ok": True}}


@pytest.fixture(scope="module")
def sfn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Machines]:
    with Machines.start(tmp_path_factory.mktemp("errors")) as machines:
        yield machines


def _retrying(*retriers: dict[str, Any], catchers: list[dict[str, Any]] | None = None
              ) -> dict[str, Any]:
    fields: dict[str, Any] = {"Retry": list(retriers)}
    if catchers:
        fields["Catch"] = catchers
        fields["Next"] = "Recovered"
    definition = single(task(**fields), "Work")
    if catchers:
        definition["States"]["Recovered"] = {"Type": "Pass", "End": True}
    return definition


# --- Task results -----------------------------------------------------------------------

TASK_OUTPUTS = [
    # task fields, execution input, mocked result, expected output, source
    ({}, {"a": 1}, {"r": 2}, {"r": 2}, TASK_DOCS),
    ({"ResultPath": "$.result"}, {"a": 1}, {"r": 2}, {"a": 1, "result": {"r": 2}},
     f"{DG}/input-output-resultpath.html"),
    ({"ResultPath": None}, {"a": 1}, {"r": 2}, {"a": 1}, f"{DG}/input-output-resultpath.html"),
    ({"ResultSelector": {"value.$": "$.Payload.value", "fixed": 1}, "ResultPath": "$.out"},
     {"a": 1}, {"Payload": {"value": 5}, "StatusCode": 200},
     {"a": 1, "out": {"value": 5, "fixed": 1}}, RESULT_SELECTOR),
    ({"OutputPath": "$.Payload"}, {}, {"Payload": {"value": 5}}, {"value": 5},
     f"{DG}/input-output-example.html"),
]


@pytest.mark.parametrize(("fields", "execution_input", "mocked", "expected", "source"),
                         TASK_OUTPUTS)
def test_task_output(sfn: Machines, fields: dict[str, Any], execution_input: Any,
                     mocked: Any, expected: Any, source: str) -> None:
    """ResultSelector, ResultPath and OutputPath shape a Task's result into its output."""
    result = sfn.run(single(task(**fields), "Work"), execution_input,
                     mocks={"Work": {"Return": mocked}})

    assert result.status == "SUCCEEDED", (result.error, result.cause)
    assert result.output == expected, source


def test_task_error_fails_execution(sfn: Machines) -> None:
    """An error without a matching retrier or catcher fails the execution (ERRORS)."""
    result = sfn.run(single(task(), "Work"), {}, mocks={"Work": CUSTOM})

    assert result.status == "FAILED"
    assert result.error == "CustomError"
    assert result.cause == "it broke"
    assert event_types(result)[-2:] == ["TaskFailed", "ExecutionFailed"]


# --- Retry ------------------------------------------------------------------------------

RETRY_TIMING = [
    # retrier, mocked responses, status, elapsed virtual seconds, attempts, source
    ({"ErrorEquals": ["States.ALL"]}, [CUSTOM, CUSTOM, CUSTOM, OK], "SUCCEEDED", 1 + 2 + 4, 4,
     "ERRORS: IntervalSeconds 1, BackoffRate 2.0 and MaxAttempts 3 by default"),
    ({"ErrorEquals": ["States.ALL"]}, [CUSTOM] * 5, "FAILED", 1 + 2 + 4, 4,
     "ERRORS: MaxAttempts 3 means four attempts in all"),
    ({"ErrorEquals": ["CustomError"], "IntervalSeconds": 2, "BackoffRate": 3,
      "MaxAttempts": 2}, [CUSTOM, CUSTOM, OK], "SUCCEEDED", 2 + 6, 3, ERRORS),
    ({"ErrorEquals": ["CustomError"], "IntervalSeconds": 10, "BackoffRate": 1.0,
      "MaxAttempts": 3}, [CUSTOM, CUSTOM, CUSTOM, OK], "SUCCEEDED", 30, 4, ERRORS),
    ({"ErrorEquals": ["CustomError"], "IntervalSeconds": 3, "BackoffRate": 2,
      "MaxAttempts": 4, "MaxDelaySeconds": 5}, [CUSTOM] * 4 + [OK], "SUCCEEDED",
     3 + 5 + 5 + 5, 5, ERRORS + " (MaxDelaySeconds caps each interval)"),
    ({"ErrorEquals": ["States.ALL"], "MaxAttempts": 0}, [CUSTOM, OK], "FAILED", 0, 1,
     f"{SCENARIOS} test_retry_interval_features_max_attempts_zero"),
    ({"ErrorEquals": ["OtherError"]}, [CUSTOM, OK], "FAILED", 0, 1,
     "ERRORS: a retrier whose ErrorEquals does not name the error is skipped"),
    ({"ErrorEquals": ["States.TaskFailed"]}, [CUSTOM, OK], "SUCCEEDED", 1, 2,
     "ERRORS: States.TaskFailed matches any error a task raises"),
    ({"ErrorEquals": ["States.TaskFailed"]},
     [{"Throw": {"Error": "States.Timeout", "Cause": ""}}, OK], "FAILED", 0, 1,
     "ERRORS: States.TaskFailed matches every task error except States.Timeout"),
    ({"ErrorEquals": ["States.Timeout"]},
     [{"Throw": {"Error": "States.Timeout", "Cause": ""}}, OK], "SUCCEEDED", 1, 2, ERRORS),
]


@pytest.mark.parametrize(("retrier", "responses", "status", "elapsed", "attempts", "source"),
                         RETRY_TIMING)
def test_retry_timing(sfn: Machines, retrier: dict[str, Any], responses: list[Any],
                      status: str, elapsed: float, attempts: int, source: str) -> None:
    """Retries wait IntervalSeconds * BackoffRate ** n, capped, on the virtual clock."""
    result = sfn.run(_retrying(retrier), {}, mocks={"Work": responses})

    assert result.status == status, (result.error, result.cause, source)
    assert elapsed_seconds(result) == pytest.approx(elapsed), source
    assert len(result.events("TaskScheduled")) == attempts, source


def test_retry_jitter_full(sfn: Machines) -> None:
    """JitterStrategy FULL draws each interval from [0, the computed interval] (ERRORS)."""
    retrier = {"ErrorEquals": ["States.ALL"], "IntervalSeconds": 3, "MaxAttempts": 2,
               "BackoffRate": 2, "MaxDelaySeconds": 5, "JitterStrategy": "FULL"}

    result = sfn.run(_retrying(retrier), {}, mocks={"Work": [CUSTOM, CUSTOM, CUSTOM]})

    # Recorded: three attempts, then the last error (SCENARIOS test_retry_interval_features).
    assert result.status == "FAILED"
    assert len(result.events("TaskScheduled")) == 3
    assert 0 <= elapsed_seconds(result) < 3 + 5


def test_retry_jitter_none(sfn: Machines) -> None:
    """JitterStrategy NONE waits the computed intervals (SCENARIOS, jitter_none)."""
    retrier = {"ErrorEquals": ["States.ALL"], "IntervalSeconds": 3, "MaxAttempts": 2,
               "BackoffRate": 2, "MaxDelaySeconds": 5, "JitterStrategy": "NONE"}

    result = sfn.run(_retrying(retrier), {}, mocks={"Work": [CUSTOM, CUSTOM, CUSTOM]})

    assert result.status == "FAILED"
    assert elapsed_seconds(result) == 3 + 5


def test_retry_first_matching_retrier_only(sfn: Machines) -> None:
    """Only the first retrier naming the error applies; later ones are not tried (ERRORS)."""
    definition = _retrying({"ErrorEquals": ["CustomError"], "MaxAttempts": 1},
                           {"ErrorEquals": ["States.ALL"], "MaxAttempts": 5})

    result = sfn.run(definition, {}, mocks={"Work": [CUSTOM, CUSTOM, OK]})

    assert result.status == "FAILED"
    assert result.error == "CustomError"
    assert len(result.events("TaskScheduled")) == 2


def test_retry_counts_per_retrier(sfn: Machines) -> None:
    """Each retrier counts its own attempts across the state's errors (ERRORS)."""
    definition = _retrying({"ErrorEquals": ["CustomError"], "MaxAttempts": 1},
                           {"ErrorEquals": ["OtherError"], "MaxAttempts": 1})

    result = sfn.run(definition, {}, mocks={"Work": [CUSTOM, OTHER, OK]})

    assert result.status == "SUCCEEDED"
    assert elapsed_seconds(result) == 1 + 1
    assert len(result.events("TaskScheduled")) == 3


def test_retry_count_in_context(sfn: Machines) -> None:
    """$$.State.RetryCount counts the retries of the current state (context object docs)."""
    definition = single(task(Parameters={"count.$": "$$.State.RetryCount"},
                             Retry=[{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1}]),
                        "Work")

    result = sfn.run(definition, {}, mocks={"Work": [CUSTOM, CUSTOM, OK]})

    parameters = [json.loads(event["taskScheduledEventDetails"]["parameters"])
                  for event in result.events("TaskScheduled")]
    assert parameters == [{"count": 0}, {"count": 1}, {"count": 2}]


# --- Catch ------------------------------------------------------------------------------

CATCHES = [
    # catcher, execution input, expected output of the Recovered state, source
    ({"ErrorEquals": ["CustomError"], "Next": "Recovered"}, {"a": 1},
     {"Error": "CustomError", "Cause": "it broke"}, ERRORS),
    ({"ErrorEquals": ["CustomError"], "Next": "Recovered", "ResultPath": "$.error"}, {"a": 1},
     {"a": 1, "error": {"Error": "CustomError", "Cause": "it broke"}}, ERRORS),
    ({"ErrorEquals": ["CustomError"], "Next": "Recovered", "ResultPath": None}, {"a": 1},
     {"a": 1}, f"{DG}/input-output-resultpath.html"),
    ({"ErrorEquals": ["States.ALL"], "Next": "Recovered"}, {},
     {"Error": "CustomError", "Cause": "it broke"}, ERRORS),
    ({"ErrorEquals": ["States.TaskFailed"], "Next": "Recovered"}, {},
     {"Error": "CustomError", "Cause": "it broke"}, ERRORS),
]


@pytest.mark.parametrize(("catcher", "execution_input", "expected", "source"), CATCHES)
def test_catch_output(sfn: Machines, catcher: dict[str, Any], execution_input: Any,
                      expected: Any, source: str) -> None:
    """A catcher sends the error output, placed by its ResultPath, to its Next state."""
    definition = single(task(Catch=[catcher], Next="Recovered"), "Work")
    definition["States"]["Recovered"] = {"Type": "Pass", "End": True}

    result = sfn.run(definition, execution_input, mocks={"Work": CUSTOM})

    assert result.status == "SUCCEEDED", (result.error, result.cause)
    assert result.path == ["Work", "Recovered"], source
    assert result.output == expected, source
    assert result.state_output("Work") == expected, source


def test_catch_after_retries(sfn: Machines) -> None:
    """Catchers apply once the retriers are exhausted (ERRORS)."""
    definition = _retrying({"ErrorEquals": ["CustomError"], "MaxAttempts": 2},
                           catchers=[{"ErrorEquals": ["States.ALL"], "Next": "Recovered"}])

    result = sfn.run(definition, {}, mocks={"Work": [CUSTOM] * 3})

    assert result.status == "SUCCEEDED"
    assert len(result.events("TaskScheduled")) == 3
    assert elapsed_seconds(result) == 1 + 2
    assert result.output == {"Error": "CustomError", "Cause": "it broke"}


def test_catch_first_matching_catcher(sfn: Machines) -> None:
    """The first catcher whose ErrorEquals names the error wins (ERRORS)."""
    definition = single(task(Next="Done", Catch=[
        {"ErrorEquals": ["OtherError"], "Next": "Other"},
        {"ErrorEquals": ["CustomError"], "Next": "Custom"},
        {"ErrorEquals": ["States.ALL"], "Next": "Other"},
    ]), "Work")
    definition["States"].update({"Done": {"Type": "Succeed"},
                                 "Other": {"Type": "Pass", "Result": "other", "End": True},
                                 "Custom": {"Type": "Pass", "Result": "custom", "End": True}})

    result = sfn.run(definition, {}, mocks={"Work": CUSTOM})

    assert result.output == "custom"


def test_states_runtime_not_caught(sfn: Machines) -> None:
    """States.Runtime is not caught, even by its own name (SCENARIOS test_catch_states_runtime)."""
    definition = {
        "StartAt": "RaiseRuntime",
        "States": {
            "RaiseRuntime": task("RaiseRuntime", OutputPath="$.no.such.result.path",
                                 Catch=[{"ErrorEquals": ["States.Runtime"],
                                         "Next": "CaughtRuntime"}], Next="Final"),
            "CaughtRuntime": {"Type": "Pass", "End": True},
            "Final": {"Type": "Pass", "End": True},
        },
    }

    result = sfn.run(definition, {}, mocks={"RaiseRuntime": {"Return": {}}})

    assert result.status == "FAILED"
    assert result.error == "States.Runtime"
    assert result.cause == ("An error occurred while executing the state 'RaiseRuntime' "
                            "(entered at the event id #2). Invalid path "
                            "'$.no.such.result.path' : Missing property in path $['no']")
    assert result.path == ["RaiseRuntime"]


def test_states_runtime_not_caught_by_all(sfn: Machines) -> None:
    """States.ALL does not catch States.Runtime (ERRORS)."""
    definition = single(task(OutputPath="$.missing", Next="Caught",
                             Catch=[{"ErrorEquals": ["States.ALL"], "Next": "Caught"}]), "Work")
    definition["States"]["Caught"] = {"Type": "Pass", "End": True}

    result = sfn.run(definition, {}, mocks={"Work": OK})

    assert result.status == "FAILED"
    assert result.error == "States.Runtime"
    assert result.cause == ("An error occurred while executing the state 'Work' (entered at "
                            "the event id #2). Invalid path '$.missing' : No results for "
                            "path: $['missing']")


# --- Payload size -----------------------------------------------------------------------

def test_pass_result_over_limit(sfn: Machines) -> None:
    """A state output over 256 KiB fails with States.DataLimitExceeded (STATES_ERRORS,
    test_start_large_input)."""
    definition = single({"Type": "Pass", "Result": {"Arg1": "a" * (257 * 1024)}}, "State_1")

    result = sfn.run(definition, {})

    assert result.status == "FAILED"
    assert result.error == "States.DataLimitExceeded"
    assert result.cause == ("The state/task 'State_1' returned a result with a size exceeding "
                            "the maximum number of bytes service limit.")
    assert event_types(result) == ["ExecutionStarted", "PassStateEntered", "ExecutionFailed"]


def test_data_limit_caught_by_all(sfn: Machines) -> None:
    """States.ALL catches States.DataLimitExceeded of a task result (STATES_ERRORS,
    test_task_lambda_catch_state_all_data_limit_exceeded_on_large_utf8_response)."""
    definition = single(task(Next="ProcessResult", Catch=[
        {"ErrorEquals": ["States.ALL"], "Next": "HandleGeneralError"}]), "Work")
    definition["States"].update({"ProcessResult": {"Type": "Pass", "End": True},
                                 "HandleGeneralError": {"Type": "Pass", "End": True}})

    result = sfn.run(definition, {}, mocks={"Work": {"Return": "a" * (257 * 1024)}})

    assert result.status == "SUCCEEDED"
    assert result.output["Error"] == "States.DataLimitExceeded"


def test_data_limit_fails_the_task(sfn: Machines) -> None:
    """A result over the limit is a task failure (STATES_ERRORS,
    test_task_lambda_data_limit_exceeded_on_large_utf8_response)."""
    result = sfn.run(single(task(), "Work"), {}, mocks={"Work": {"Return": "a" * (257 * 1024)}})

    assert event_types(result)[-2:] == ["TaskFailed", "ExecutionFailed"]
    assert result.events("TaskFailed")[0]["taskFailedEventDetails"]["error"] == (
        "States.DataLimitExceeded")


# --- A real Lambda function -------------------------------------------------------------

def _invoke(sfn: Machines, **fields: Any) -> dict[str, Any]:
    state = task(**fields)
    state["Parameters"] = {"FunctionName": sfn.function_arn, "Payload.$": "$"}
    return single(state, "Invoke")


def test_lambda_invoke_result(sfn: Machines) -> None:
    """lambda:invoke returns the function's response with Payload (connect-lambda docs)."""
    result = sfn.run(_invoke(sfn, OutputPath="$.Payload"), {"n": 4})

    assert result.status == "SUCCEEDED", (result.error, result.cause)
    assert result.output == {"value": 8}


def test_lambda_invoke_error_retried_and_caught(sfn: Machines) -> None:
    """A function error is the task's error, named by its errorType (ERRORS)."""
    definition = _invoke(sfn, Retry=[{"ErrorEquals": ["CustomError"], "MaxAttempts": 2,
                                      "IntervalSeconds": 5}],
                         Catch=[{"ErrorEquals": ["CustomError"], "ResultPath": "$.error",
                                 "Next": "Recovered"}], Next="Recovered")
    definition["States"]["Recovered"] = {"Type": "Pass", "End": True}

    result = sfn.run(definition, {"error": "CustomError", "message": "bad input"})

    assert result.status == "SUCCEEDED", (result.error, result.cause)
    assert len(result.events("TaskFailed")) == 3
    assert elapsed_seconds(result) == 5 + 10
    error = result.output["error"]
    assert error["Error"] == "CustomError"
    cause = json.loads(error["Cause"])
    assert cause["errorType"] == "CustomError"
    assert cause["errorMessage"] == "bad input"


def test_lambda_legacy_resource(sfn: Machines) -> None:
    """A function ARN as Resource passes the input and returns the payload (TASK_DOCS)."""
    definition = single({"Type": "Task", "Resource": sfn.function_arn}, "Invoke")

    result = sfn.run(definition, {"n": 21})

    assert result.status == "SUCCEEDED", (result.error, result.cause)
    assert result.output == {"value": 42}
    assert event_types(result) == [
        "ExecutionStarted", "TaskStateEntered", "LambdaFunctionScheduled",
        "LambdaFunctionStarted", "LambdaFunctionSucceeded", "TaskStateExited",
        "ExecutionSucceeded"]
