"""Execution history: event types, order, previousEventId links and details, as AWS records them.

Expected sequences are AWS responses kept in LocalStack's test suite (Apache-2.0), named by
their path under ``tests/aws/services/stepfunctions/v2/`` in github.com/localstack/localstack
and the test id. Event shapes follow
https://docs.aws.amazon.com/step-functions/latest/apireference/API_HistoryEvent.html
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conformance.stepfunctions.machines import (
    Machines,
    event_types,
    history_links,
    single,
    task,
)

SCENARIOS = "scenarios/test_base_scenarios.snapshot.json"
BASE = "base/test_base.snapshot.json"
EVALUATE = "evaluate_jsonata/test_base_evaluate_expressions.snapshot.json"
LAMBDA_TASK = "services/test_lambda_task_service.snapshot.json"


@pytest.fixture(scope="module")
def sfn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Machines]:
    with Machines.start(tmp_path_factory.mktemp("history")) as machines:
        yield machines


def _links_after_first_state(result: Any) -> list[tuple[int, int, str]]:
    """The links of every event but the first state's entry, which AWS links to 0."""
    return [link for link in history_links(result) if link[0] != 2]


# --- A simple Task ----------------------------------------------------------------------

SIMPLE_TASK = [
    (1, 0, "ExecutionStarted"),
    (2, 0, "TaskStateEntered"),
    (3, 2, "TaskScheduled"),
    (4, 3, "TaskStarted"),
    (5, 4, "TaskSucceeded"),
    (6, 5, "TaskStateExited"),
    (7, 6, "ExecutionSucceeded"),
]


def test_simple_task_events(sfn: Machines) -> None:
    """A lambda:invoke Task records scheduled, started and succeeded events (LAMBDA_TASK)."""
    result = sfn.run(single(task(), "Work"), {"n": 1}, mocks={"Work": {"Return": {"r": 1}}})

    assert _links_after_first_state(result) == [link for link in SIMPLE_TASK if link[0] != 2]
    scheduled = result.events("TaskScheduled")[0]["taskScheduledEventDetails"]
    assert scheduled["resourceType"] == "lambda"
    assert scheduled["resource"] == "invoke"
    assert json.loads(scheduled["parameters"]) == {"FunctionName": "worker", "Payload": {"n": 1}}
    succeeded = result.events("TaskSucceeded")[0]["taskSucceededEventDetails"]
    assert json.loads(succeeded["output"]) == {"r": 1}
    entered = result.events("TaskStateEntered")[0]["stateEnteredEventDetails"]
    assert entered == {"name": "Work", "input": '{"n":1}', "inputDetails": {"truncated": False}}
    exited = result.events("TaskStateExited")[0]["stateExitedEventDetails"]
    assert exited == {"name": "Work", "output": '{"r":1}', "outputDetails": {"truncated": False}}


def test_first_state_links_to_zero(sfn: Machines) -> None:
    """The first StateEntered event has previousEventId 0 (BASE test_state_fail_path and
    every recorded history)."""
    result = sfn.run(single(task(), "Work"), {"n": 1}, mocks={"Work": {"Return": {"r": 1}}})

    assert history_links(result) == SIMPLE_TASK


def test_fail_state_history(sfn: Machines) -> None:
    """A Fail state records no exit; ExecutionFailed follows its entry (BASE
    test_state_fail_path)."""
    result = sfn.run(single({"Type": "Fail", "ErrorPath": "$.Error", "CausePath": "$.Cause"},
                            "FailState"), {"Error": "error string", "Cause": "cause string"})

    assert event_types(result) == ["ExecutionStarted", "FailStateEntered", "ExecutionFailed"]
    assert history_links(result)[2] == (3, 2, "ExecutionFailed")
    assert result.history[2]["executionFailedEventDetails"] == {
        "error": "error string", "cause": "cause string"}


# --- Retry ------------------------------------------------------------------------------

def test_retry_history(sfn: Machines) -> None:
    """Each attempt of a Lambda function records scheduled, started and failed events in
    one chain (SCENARIOS test_retry_interval_features)."""
    definition = single({"Type": "Task", "Resource": sfn.function_arn, "Retry": [
        {"ErrorEquals": ["States.ALL"], "IntervalSeconds": 3, "MaxAttempts": 2,
         "BackoffRate": 2, "MaxDelaySeconds": 5, "JitterStrategy": "FULL"}]}, "LambdaTask")
    failure = {"Throw": {"Error": "Exception", "Cause": "Some exception was raised."}}

    result = sfn.run(definition, {}, mocks={"LambdaTask": failure})

    assert _links_after_first_state(result) == [
        (1, 0, "ExecutionStarted"),
        (3, 2, "LambdaFunctionScheduled"),
        (4, 3, "LambdaFunctionStarted"),
        (5, 4, "LambdaFunctionFailed"),
        (6, 5, "LambdaFunctionScheduled"),
        (7, 6, "LambdaFunctionStarted"),
        (8, 7, "LambdaFunctionFailed"),
        (9, 8, "LambdaFunctionScheduled"),
        (10, 9, "LambdaFunctionStarted"),
        (11, 10, "LambdaFunctionFailed"),
        (12, 11, "ExecutionFailed"),
    ]
    assert result.history[4]["lambdaFunctionFailedEventDetails"] == {
        "error": "Exception", "cause": "Some exception was raised."}
    assert "lambdaFunctionStartedEventDetails" not in result.history[3]


# --- Catch ------------------------------------------------------------------------------

def test_catch_history(sfn: Machines) -> None:
    """A caught error exits the state with the error output, then enters the catcher's Next
    (SCENARIOS test_catch_states_runtime's Task events and ERRORS docs)."""
    definition = single(task(Catch=[{"ErrorEquals": ["States.ALL"], "Next": "Caught"}],
                             Next="Caught"), "Work")
    definition["States"]["Caught"] = {"Type": "Pass", "End": True}

    result = sfn.run(definition, {}, mocks={"Work": {"Throw": {"Error": "E", "Cause": "C"}}})

    assert _links_after_first_state(result) == [
        (1, 0, "ExecutionStarted"),
        (3, 2, "TaskScheduled"),
        (4, 3, "TaskStarted"),
        (5, 4, "TaskFailed"),
        (6, 5, "TaskStateExited"),
        (7, 6, "PassStateEntered"),
        (8, 7, "PassStateExited"),
        (9, 8, "ExecutionSucceeded"),
    ]
    exited = result.history[5]["stateExitedEventDetails"]
    assert json.loads(exited["output"]) == {"Error": "E", "Cause": "C"}
    failed = result.history[4]["taskFailedEventDetails"]
    assert failed == {"resourceType": "lambda", "resource": "invoke", "error": "E", "cause": "C"}


# --- Parallel ---------------------------------------------------------------------------

PARALLEL_CATCH = {
    "StartAt": "ParallelState",
    "States": {
        "ParallelState": {
            "Type": "Parallel",
            "Branches": [{"StartAt": "Branch1", "States": {"Branch1": {
                "Type": "Fail", "Error": "FailureType", "Cause": "Cause description"}}}],
            "Catch": [{"ErrorEquals": ["FailureType"], "Next": "FinalCaught"}],
            "Next": "Final",
        },
        "FinalCaught": {"Type": "Pass", "End": True},
        "Final": {"Type": "Pass", "End": True},
    },
}
PARALLEL_CATCH_HISTORY = [
    (1, 0, "ExecutionStarted"),
    (2, 0, "ParallelStateEntered"),
    (3, 2, "ParallelStateStarted"),
    (4, 3, "FailStateEntered"),
    (5, 4, "ParallelStateFailed"),
    (6, 5, "ParallelStateExited"),
    (7, 6, "PassStateEntered"),
    (8, 7, "PassStateExited"),
    (9, 8, "ExecutionSucceeded"),
]


def test_parallel_catch_event_types(sfn: Machines) -> None:
    """A failed branch records ParallelStateFailed, then the catch's exit (SCENARIOS
    test_parallel_state_catch)."""
    result = sfn.run(PARALLEL_CATCH, {})

    assert event_types(result) == [link[2] for link in PARALLEL_CATCH_HISTORY]
    assert "parallelStateStartedEventDetails" not in result.history[2]


def test_parallel_catch_links(sfn: Machines) -> None:
    """previousEventId of each event (SCENARIOS test_parallel_state_catch)."""
    result = sfn.run(PARALLEL_CATCH, {})

    assert history_links(result) == PARALLEL_CATCH_HISTORY


def test_parallel_retry_event_types(sfn: Machines) -> None:
    """A retried Parallel state starts again without a failed event in between (SCENARIOS
    test_parallel_state_retry)."""
    definition = single({
        "Type": "Parallel",
        "Branches": [{"StartAt": "Branch1", "States": {"Branch1": {
            "Type": "Fail", "Error": "FailureType", "Cause": "Cause description"}}}],
        "Retry": [{"ErrorEquals": ["FailureType"], "MaxAttempts": 2}],
    }, "ParallelState")

    result = sfn.run(definition, {})

    expected = ["ExecutionStarted", "ParallelStateEntered", "ParallelStateStarted",
                "FailStateEntered", "ParallelStateStarted", "FailStateEntered",
                "ParallelStateStarted", "FailStateEntered", "ParallelStateFailed",
                "ExecutionFailed"]
    assert event_types(result) == expected


# --- Map --------------------------------------------------------------------------------

MAP_ITEMS = {
    "QueryLanguage": "JSONata",
    "StartAt": "Start",
    "States": {"Start": {
        "Type": "Map", "Items": [1, 2, 3], "MaxConcurrency": 1,
        "ItemProcessor": {"StartAt": "Process", "States": {"Process": {"Type": "Pass",
                                                                       "End": True}}},
        "End": True}},
}
MAP_ITEMS_HISTORY = [
    (1, 0, "ExecutionStarted"),
    (2, 0, "MapStateEntered"),
    (3, 2, "MapStateStarted"),
    (4, 3, "MapIterationStarted"),
    (5, 4, "PassStateEntered"),
    (6, 5, "PassStateExited"),
    (7, 6, "MapIterationSucceeded"),
    (8, 6, "MapIterationStarted"),
    (9, 8, "PassStateEntered"),
    (10, 9, "PassStateExited"),
    (11, 10, "MapIterationSucceeded"),
    (12, 10, "MapIterationStarted"),
    (13, 12, "PassStateEntered"),
    (14, 13, "PassStateExited"),
    (15, 14, "MapIterationSucceeded"),
    (16, 15, "MapStateSucceeded"),
    (17, 15, "MapStateExited"),
    (18, 17, "ExecutionSucceeded"),
]


def test_map_event_types(sfn: Machines) -> None:
    """A Map records started, one started/succeeded pair per iteration, and succeeded
    (EVALUATE test_base_map[ITEMS])."""
    result = sfn.run(MAP_ITEMS, {})

    assert event_types(result) == [link[2] for link in MAP_ITEMS_HISTORY]
    assert result.output == [1, 2, 3]
    iterations = [event["mapIterationStartedEventDetails"]
                  for event in result.events("MapIterationStarted")]
    assert iterations == [{"index": 0, "name": "Start"}, {"index": 1, "name": "Start"},
                          {"index": 2, "name": "Start"}]
    assert result.events("MapStateStarted")[0]["mapStateStartedEventDetails"] == {"length": 3}


def test_map_links(sfn: Machines) -> None:
    """previousEventId of each Map event (EVALUATE test_base_map[ITEMS])."""
    result = sfn.run(MAP_ITEMS, {})

    assert history_links(result) == MAP_ITEMS_HISTORY


def test_map_catch_event_types(sfn: Machines) -> None:
    """A failed iteration records MapIterationFailed and MapStateFailed before the catch
    (SCENARIOS test_map_state_catch)."""
    definition = {
        "StartAt": "MapState",
        "States": {
            "MapState": {
                "Type": "Map", "ItemsPath": "$.arr",
                "ItemProcessor": {"StartAt": "HandleItemFail", "States": {"HandleItemFail": {
                    "Type": "Fail", "Error": "HandleItemFailError",
                    "Cause": "HandleItemFailCause"}}},
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "FinalCaught"}],
                "Next": "Final",
            },
            "FinalCaught": {"Type": "Pass", "End": True},
            "Final": {"Type": "Pass", "End": True},
        },
    }

    result = sfn.run(definition, {"arr": [1]})

    assert event_types(result) == [
        "ExecutionStarted", "MapStateEntered", "MapStateStarted", "MapIterationStarted",
        "FailStateEntered", "MapIterationFailed", "MapStateFailed", "MapStateExited",
        "PassStateEntered", "PassStateExited", "ExecutionSucceeded"]
    assert result.events("MapIterationFailed")[0]["mapIterationFailedEventDetails"] == {
        "index": 0, "name": "MapState"}
