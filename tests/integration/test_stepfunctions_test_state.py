"""The TestState API: one state, run once, with its data-processing steps.

Sources:
- Request and response members (definition, input, inspectionLevel, mock, stateName,
  stateConfiguration.retrierRetryCount, variables; output, error, cause, nextState,
  status SUCCEEDED / FAILED / RETRIABLE / CAUGHT_ERROR; inspectionData with input,
  afterInputPath, afterParameters, result, afterResultSelector, afterResultPath,
  errorDetails retryIndex / retryBackoffIntervalSeconds / catchIndex):
  https://docs.aws.amazon.com/step-functions/latest/apireference/API_TestState.html
- "If a retrier is defined... the status is RETRIABLE", the backoff is reported, not
  waited for; a caught error answers CAUGHT_ERROR with the catcher's next state; INFO
  shows only the output or the error, DEBUG adds the inspection data; Map and Parallel
  states need a mock:
  https://docs.aws.amazon.com/step-functions/latest/dg/test-state-isolation.html
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from windtunnel.stack.environment import Environment

TASK = {
    "Type": "Task",
    "Resource": "arn:aws:states:::lambda:invoke",
    "Parameters": {"FunctionName": "score", "Payload.$": "$.order"},
    "ResultSelector": {"score.$": "$.Payload.score"},
    "ResultPath": "$.result",
    "OutputPath": "$.result",
    "Retry": [{"ErrorEquals": ["Throttled"], "IntervalSeconds": 3, "BackoffRate": 2,
               "MaxAttempts": 2}],
    "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Recover"}],
    "Next": "Ship",
}


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    environment = Environment()
    try:
        yield environment.cloud.client("stepfunctions")
    finally:
        environment.close()


def _test(client: Any, definition: dict[str, Any], body: Any, **options: Any) -> dict[str, Any]:
    answer = client.test_state(definition=json.dumps(definition), input=json.dumps(body),
                               **options)
    answer.pop("ResponseMetadata")
    return dict(answer)


def test_debug_level_lays_out_every_step(client: Any) -> None:
    answer = _test(client, TASK, {"order": {"id": 7}}, inspectionLevel="DEBUG",
                   mock={"result": json.dumps({"Payload": {"score": 91}})})

    assert answer["status"] == "SUCCEEDED"
    assert answer["nextState"] == "Ship"
    assert json.loads(answer["output"]) == {"score": 91}
    steps = {name: json.loads(value) for name, value in answer["inspectionData"].items()}
    assert steps == {
        "input": {"order": {"id": 7}},
        "afterInputPath": {"order": {"id": 7}},
        "afterParameters": {"FunctionName": "score", "Payload": {"id": 7}},
        "result": {"Payload": {"score": 91}},
        "afterResultSelector": {"score": 91},
        "afterResultPath": {"order": {"id": 7}, "result": {"score": 91}},
    }


def test_info_level_has_no_inspection_data(client: Any) -> None:
    answer = _test(client, TASK, {"order": {}},
                   mock={"result": json.dumps({"Payload": {"score": 1}})})

    assert "inspectionData" not in answer
    assert answer["status"] == "SUCCEEDED"


def test_a_retriable_error_reports_the_backoff_without_waiting(client: Any) -> None:
    throttled = {"errorOutput": {"error": "Throttled", "cause": "slow down"}}

    first = _test(client, TASK, {"order": {}}, inspectionLevel="DEBUG", mock=throttled)
    second = _test(client, TASK, {"order": {}}, inspectionLevel="DEBUG", mock=throttled,
                   stateConfiguration={"retrierRetryCount": 1})
    exhausted = _test(client, TASK, {"order": {}}, inspectionLevel="DEBUG", mock=throttled,
                      stateConfiguration={"retrierRetryCount": 2})

    assert (first["status"], first["error"], first["cause"]) == (
        "RETRIABLE", "Throttled", "slow down")
    assert first["inspectionData"]["errorDetails"] == {"retryIndex": 0,
                                                       "retryBackoffIntervalSeconds": 3}
    assert second["inspectionData"]["errorDetails"]["retryBackoffIntervalSeconds"] == 6
    assert exhausted["status"] == "CAUGHT_ERROR"


def test_a_caught_error_names_the_catchers_next_state(client: Any) -> None:
    answer = _test(client, TASK, {"order": {}}, inspectionLevel="DEBUG",
                   mock={"errorOutput": {"error": "Declined", "cause": "card"}})

    assert answer["status"] == "CAUGHT_ERROR"
    assert answer["nextState"] == "Recover"
    assert json.loads(answer["output"]) == {
        "order": {}, "error": {"Error": "Declined", "Cause": "card"}}
    assert answer["inspectionData"]["errorDetails"] == {"catchIndex": 0}


def test_a_state_of_a_whole_machine_by_name(client: Any) -> None:
    machine = {"StartAt": "Route", "States": {
        "Route": {"Type": "Choice", "Choices": [
            {"Variable": "$.total", "NumericGreaterThan": 100, "Next": "Review"}],
            "Default": "Ship"},
        "Review": {"Type": "Succeed"},
        "Ship": {"Type": "Succeed"}}}

    big = _test(client, machine, {"total": 250}, stateName="Route")
    small = _test(client, machine, {"total": 5}, stateName="Route")

    assert (big["status"], big["nextState"]) == ("SUCCEEDED", "Review")
    assert small["nextState"] == "Ship"


def test_fail_state_answers_failed(client: Any) -> None:
    answer = _test(client, {"Type": "Fail", "Error": "OutOfStock", "Cause": "none left"}, {})

    assert (answer["status"], answer["error"], answer["cause"]) == (
        "FAILED", "OutOfStock", "none left")


def test_map_without_a_mock_and_invalid_definitions_are_rejected(client: Any) -> None:
    map_state = {"Type": "Map", "ItemProcessor": {"StartAt": "P", "States": {
        "P": {"Type": "Pass", "End": True}}}, "End": True}

    with pytest.raises(ClientError) as unmocked:
        _test(client, map_state, [1, 2])
    with pytest.raises(ClientError) as invalid:
        _test(client, {"Type": "Pass", "Nxt": "Somewhere"}, {})

    assert unmocked.value.response["Error"]["Code"] == "ValidationException"
    assert invalid.value.response["Error"]["Code"] == "InvalidDefinition"
